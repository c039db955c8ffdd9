"""Offer catalog as code: the offers a team wants, the plan that brings a sandbox there, its apply.

No Airflow here. A catalog is a list of offers, each identified by its `name` in the sandbox.
`source` reads and validates what the team wrote, `plan` compares it with one listing of the
sandbox (and checks it against an approved plan), `render` shows the plan to a person, `apply`
makes the writes.
"""

from airflow_provider_offers.api.catalog.apply import ApplyError, BackoffGate, apply_plan
from airflow_provider_offers.api.catalog.approval import check_plan, plan_entries
from airflow_provider_offers.api.catalog.plan import (
    MARKER,
    CatalogError,
    Plan,
    compute_plan,
    plan_catalog,
)
from airflow_provider_offers.api.catalog.render import plan_markdown, plan_table
from airflow_provider_offers.api.catalog.source import offers_from_text, parse_catalog

__all__ = [
    "MARKER",
    "ApplyError",
    "BackoffGate",
    "CatalogError",
    "Plan",
    "apply_plan",
    "check_plan",
    "compute_plan",
    "offers_from_text",
    "parse_catalog",
    "plan_catalog",
    "plan_entries",
    "plan_markdown",
    "plan_table",
]
