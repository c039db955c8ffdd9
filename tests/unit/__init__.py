"""Unit tests, mirroring the package: the tests of airflow_provider_offers/api/diff.py are in
tests/unit/api/test_diff.py. Packages (an `__init__.py` in each folder), so a module here may
share its name with one elsewhere (tests/unit/api/test_auth.py and tests/api/test_auth.py)."""
