"""operators/decisions.py used to hold the placement, rule, tag and collection operators too;
they have modules of their own now, and the old import path still finds them, with a warning."""

from __future__ import annotations

import importlib

import pytest

from airflow_provider_offers.operators import decisions

MOVED = [
    ("CreatePlacementOperator", "placements"),
    ("CreateOfferRuleOperator", "rules"),
    ("CreateTagOperator", "collections"),
    ("CreateOfferCollectionOperator", "collections"),
]


@pytest.mark.parametrize(("name", "module"), MOVED)
def test_the_old_import_path_warns_and_gives_the_same_class(name: str, module: str):
    new = f"airflow_provider_offers.operators.{module}"
    with pytest.warns(DeprecationWarning, match=f"{name} moved to {new}"):
        old = getattr(decisions, name)
    assert old is getattr(importlib.import_module(new), name)


def test_what_stayed_imports_without_a_warning(recwarn):
    from airflow_provider_offers.operators.decisions import (  # noqa: F401
        CreateDecisionOperator,
        DecisionRequestOperator,
    )

    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_a_name_that_never_was_there_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'CreateNothingOperator'"):
        decisions.CreateNothingOperator  # noqa: B018
