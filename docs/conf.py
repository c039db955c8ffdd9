"""Sphinx configuration of the documentation site (`bash scripts/dev.sh test` builds it with -W)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# autodoc imports the modules, which import Airflow: give it a throw-away home.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="offers-docs-airflow-"))

import airflow_provider_offers  # noqa: E402

project = "airflow-provider-offers"
author = "airflow-provider-offers contributors"
copyright = "the airflow-provider-offers contributors; Apache-2.0"
release = version = airflow_provider_offers.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.extlinks", "sphinx.ext.viewcode", "myst_parser"]
# Adobe's reference page of each call an operator makes: :adobe-api:`POST /placements
# <offers-api/placements/create>` (in MyST: {adobe-api}`...`).
extlinks = {
    "adobe-api": (
        "https://experienceleague.adobe.com/en/docs/journey-optimizer/using/decisioning/"
        "offer-decisioning/api-reference/%s",
        None,
    )
}
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"members": True, "show-inheritance": True}
html_theme = "alabaster"
html_title = f"airflow-provider-offers {release}"
default_role = "code"  # `x` in a docstring reads as code, not italics
# Sphinx 9's new autodoc writes the annotations it finds in pydantic's source onto
# `BaseModel` while documenting `api.models`; every pydantic model with `extra="allow"` created
# after that (FastAPI's, when the emulator is imported) then fails with "The type annotation for
# `__pydantic_extra__` must be `dict[str, ...]`" (sphinx-doc/sphinx#14337). The class-based
# autodoc does not.
autodoc_use_legacy_class_based = True
