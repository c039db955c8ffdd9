"""The connection form Airflow builds from `get_provider_info()`: a field, with help, for every
extra the code reads; the org id required and its shape given; Port shown for the Test button.

Read through Airflow's own ProvidersManager (what the UI's form is built from) and checked with
jsonschema, as the form and the API check a field's value.
"""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
from airflow_compat import needs_airflow_3_2

from airflow_provider_offers import ORG_ID_PATTERN, get_provider_info
from airflow_provider_offers.emulator.config import DEFAULT_ORG_ID

pytestmark = needs_airflow_3_2

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_offers"
# How the code reads an extra: ClientConfig's `_extra(extras, "name")`, the extra link's
# `extra_dejson.get("name")`.
READS = re.compile(r"""(?:_extra\(extras, |extra_dejson\.get\()["'](\w+)["']""")


@pytest.fixture(scope="module")
def form() -> dict:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    prefix = "extra__adobe_offers__"
    fields = {
        name.removeprefix(prefix): widget.field
        for name, widget in manager.connection_form_widgets.items()
        if name.startswith(prefix)
    }
    return {"fields": fields, "behaviour": manager.field_behaviours["adobe_offers"]}


def extras_read_by_the_code() -> set[str]:
    return {
        name
        for path in PACKAGE.rglob("*.py")
        if "emulator" not in path.parts
        for name in READS.findall(path.read_text())
    }


def test_every_extra_the_code_reads_has_a_field_with_help(form):
    read = extras_read_by_the_code()
    assert {"org_id", "client_secrets", "ui_tenant", "sandbox_name"} <= read  # the scan works
    assert read <= set(form["fields"])
    for name, field in form["fields"].items():
        assert field["schema"].get("title"), name
        assert len(field["description"] or "") > 20, name


def test_the_fields_being_built_elsewhere_are_declared_with_their_names(form):
    fields = form["fields"]
    assert fields["token_cache"]["schema"]["enum"] == ["machine", "process", "off"]
    assert fields["token_cache"]["value"] is None  # empty: machine
    assert fields["timeout"]["schema"]["type"] == ["number", "null"]
    assert fields["max_attempts"]["schema"]["minimum"] == 1
    assert "token_cache_dir" in fields


def test_the_form_receives_each_default_unmasked():
    """The defaults as the API server sends them to the form (which saves them as they come):
    Airflow masks values of fields whose name looks secret ("token_cache" holds "token")."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "adobe_offers"]
    sent = {name: field["value"] for name, field in meta.extra_fields.items()}
    declared = {
        name: field["schema"].get("default")
        for name, field in get_provider_info()["connection-types"][0]["conn-fields"].items()
    }
    assert sent == declared
    assert sent["sandbox_name"] == "prod"


def test_only_the_org_id_is_required(form):
    # The UI marks a field whose type does not allow null as required, and will not save it
    # empty; client id and secret are Airflow's own login/password fields.
    types = {name: field["schema"]["type"] for name, field in form["fields"].items()}
    required = {name for name, kind in types.items() if kind != "null" and "null" not in kind}
    assert required == {"org_id"}


@pytest.mark.parametrize(
    ("org_id", "valid"),
    [
        (DEFAULT_ORG_ID, True),
        ("1234ABCD5678EF90@AdobeOrg", True),
        ("not-an-org", False),
        ("1234ABCD5678EF90", False),
        ("1234ABCD5678EF90@AdobeOrg trailing", False),
    ],
)
def test_the_form_schema_checks_the_org_id_shape(form, org_id, valid):
    schema = form["fields"]["org_id"]["schema"]
    assert schema["pattern"] == ORG_ID_PATTERN
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(org_id))
    assert (not errors) == valid, errors


def test_port_is_shown_with_a_hint_and_schema_and_raw_extra_are_hidden(form):
    behaviour = form["behaviour"]
    assert "port" not in behaviour["hidden_fields"]
    assert {"schema", "extra"} <= set(behaviour["hidden_fields"])
    assert "Test button" in behaviour["relabeling"]["port"]
    assert "443" in behaviour["placeholders"]["port"]


def test_provider_info_declares_the_documentation_site():
    from importlib.metadata import metadata

    urls = dict(
        entry.split(", ", 1) for entry in metadata("airflow-provider-offers").get_all("Project-URL")
    )
    assert urls["Documentation"] == "https://airflow-provider-offers.readthedocs.io/"
    assert get_provider_info()["package-name"] == "airflow-provider-offers"


@pytest.mark.parametrize("name", ["prod", "dev-2", "team_a", "Prod", "DEV", "-x", "a b", ""])
def test_the_form_and_the_input_rule_agree_on_sandbox_names(form, name):
    from airflow_provider_offers.api.errors import InvalidInputError
    from airflow_provider_offers.api.inputs import parse_sandbox_name

    schema = form["fields"]["sandbox_name"]["schema"]
    form_accepts = not list(jsonschema.Draft7Validator(schema).iter_errors(name))
    try:
        rule_accepts = parse_sandbox_name(name) == name
    except InvalidInputError:
        rule_accepts = False
    assert form_accepts == rule_accepts
    assert form_accepts == (name in ("prod", "dev-2", "team_a"))
