"""Offer content and catalog files through `dag.test()` against the emulator.

Offer content carries Journey Optimizer personalization, which is not Jinja: it must reach
Adobe byte for byte through every operator and the sync, while the fields around it are still
templated. A catalog file is data: it can name neither a connection nor a variable nor Python
code, whatever the DAG's template settings, and a run-time value reaches it only as a value.
"""

from __future__ import annotations

import json

import pytest
from secrets_scan import SecretsScan
from yaml_bombs import ALIAS_BOMB

WEB = "https://ns.adobe.com/xdm/channel-types/web"
# Journey Optimizer's personalization syntax (Handlebars-like): none of it is Jinja, and
# `{{#if` is not even valid Jinja.
GREETING = (
    "<p>Hi {{profile.person.name.firstName}}!</p>"
    "{{#if profile.loyalty.tier}}<b>{{profile.loyalty.tier}}</b>{{/if}}"
    ' {{upperCase profile.homeAddress.city}} {%raw%} {{ "a" | tojson }}'
)
FAREWELL = "Bye {{profile.person.name.firstName}} {{#each offers}}{{this.name}}{{/each}}"


def html_offer(name: str, placement: str, content: str, **fields) -> dict:
    return {
        "name": name,
        "status": "approved",
        "representations": [
            {
                "channel": WEB,
                "placement": placement,
                "components": [{"type": "html", "format": "text/html", "content": content}],
            }
        ],
        **fields,
    }


@pytest.fixture
def html_placement(dps) -> str:
    body = {"name": "Homepage HTML", "componentType": "html", "channel": WEB}
    return dps.create("/placements", body)["id"]


def stored_by_name(dps) -> dict[str, dict]:
    return {offer["name"]: offer for offer in dps.offers()}


def content_of(offer: dict) -> str:
    return offer["representations"][0]["components"][0]["content"]


def test_personalization_reaches_adobe_unchanged_through_every_operator(
    run_dag, tmp_dags, adobe_connection, dps, html_placement
):
    (tmp_dags / "content_catalog.yaml").write_text(
        "- name: From a file\n"
        "  status: approved\n"
        "  representations:\n"
        f"    - channel: {WEB}\n"
        "      placement: {$value: placement}\n"
        "      components:\n"
        "        - type: html\n"
        "          format: text/html\n"
        "          content: |-\n"
        f"            {GREETING}\n"
    )
    templated = html_offer("Created {{ params.market }}", "{{ params.placement }}", GREETING)
    inline = html_offer("Synced {{ params.market }}", "{{ params.placement }}", GREETING)
    patch = [
        {
            "op": "replace",
            "path": "/representations/0/components/0/content",
            "value": FAREWELL,
        },
        {"op": "add", "path": "/description", "value": "patched for {{ params.market }}"},
    ]
    source = f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    PatchFallbackOfferOperator,
    SyncFallbackOffersOperator,
)

with DAG(
    "offer_content",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={{"market": "FR", "placement": {html_placement!r}}},
) as dag:
    create = CreateFallbackOfferOperator(task_id="create", offer={templated!r})
    patch = PatchFallbackOfferOperator(
        task_id="patch",
        offer_id="{{{{ ti.xcom_pull(task_ids='create')['id'] }}}}",
        operations={json.dumps(patch)!r},
    )
    create >> patch
    SyncFallbackOffersOperator(task_id="sync", catalog="inline", offers=[{inline!r}])
    SyncFallbackOffersOperator(
        task_id="sync_file",
        catalog="file",
        offers_file="content_catalog.yaml",
        values={{"placement": "{{{{ params.placement }}}}"}},
    )
"""
    run = run_dag(source, "offer_content")

    assert run.task_states() == dict.fromkeys(("create", "patch", "sync", "sync_file"), "success")
    stored = stored_by_name(dps)
    assert sorted(stored) == ["Created FR", "From a file", "Synced FR"]
    assert content_of(stored["Created FR"]) == FAREWELL
    assert stored["Created FR"]["description"] == "patched for FR"
    assert content_of(stored["Synced FR"]) == GREETING
    assert content_of(stored["From a file"]) == GREETING
    assert {o["representations"][0]["placement"] for o in stored.values()} == {html_placement}


def test_a_catalog_file_reaches_no_connection_variable_or_code_even_with_native_templates(
    run_dag, tmp_dags, adobe_connection, offer_library_emulator, dps, html_placement, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_CAMPAIGN_TOKEN", "variable-secret-value")
    marker = tmp_dags / "code-ran"
    lookups = {
        "name": "{{ conn.adobe_offers_default.password }}",
        "description": "{{ var.value.get('campaign_token') }} {{ var.value.campaign_token }}",
        "content": "{{ ''.__class__.__mro__[1].__subclasses__() }}"
        f"{{{{ self.__init__.__globals__.__builtins__.open({str(marker)!r}, 'w') }}}}",
    }
    offer = html_offer(lookups["name"], {"$value": "placement"}, lookups["content"])
    offer["description"] = lookups["description"]
    (tmp_dags / "hostile.json").write_text(json.dumps([offer]))
    source = f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator

with DAG(
    "hostile_catalog",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    render_template_as_native_obj=True,
) as dag:
    SyncFallbackOffersOperator(
        task_id="sync",
        catalog="hostile",
        offers_file="hostile.json",
        values={{"placement": {html_placement!r}}},
    )
"""
    run = run_dag(source, "hostile_catalog")

    assert run.task_states() == {"sync": "success"}
    (stored,) = dps.offers()
    assert stored["name"] == lookups["name"]
    assert stored["description"] == lookups["description"]
    assert content_of(stored) == lookups["content"]
    assert not marker.exists()
    scan = SecretsScan.for_emulator(offer_library_emulator, "variable-secret-value")
    sent = [r.text for r in offer_library_emulator.requests if r.path.startswith("/data/")]
    scan.text("requests the Offer Library received", "\n".join(sent))
    scan.text("the sync's XCom", json.dumps(run.xcom("sync")))
    scan.assert_clean()


def test_a_trigger_form_value_is_one_value_never_yaml(run_dag, tmp_dags, adobe_connection, dps):
    placement = dps.create_placement("Homepage banner")
    (tmp_dags / "one_offer.yaml").write_text(
        "- name: The only offer\n"
        "  status: approved\n"
        "  description: {$value: description}\n"
        "  representations:\n"
        f"    - channel: {WEB}\n"
        "      placement: {$value: placement}\n"
        "      components:\n"
        "        - {type: imagelink, format: image/png, deliveryURL: 'https://cdn/a.png'}\n"
    )
    injected = "spring\n- name: Injected offer\n  status: approved\n"
    source = f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator

with DAG(
    "form_values",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={{"description": {injected!r}, "placement": {placement!r}}},
) as dag:
    SyncFallbackOffersOperator(
        task_id="sync",
        catalog="form",
        offers_file="one_offer.yaml",
        values={{
            "description": "{{{{ params.description }}}}",
            "placement": "{{{{ params.placement }}}}",
        }},
    )
"""
    run = run_dag(source, "form_values")

    assert run.task_states() == {"sync": "success"}
    (stored,) = dps.offers()
    assert stored["name"] == "The only offer"
    assert stored["description"] == injected


def test_catalog_files_outside_the_dag_folder_or_too_large_are_refused_before_any_request(
    run_dag, tmp_dags, tmp_path, adobe_connection, offer_library_emulator, task_output
):
    outside = tmp_path / "victim"
    outside.mkdir()
    (outside / "config.yaml").write_text("- name: not yours\n  password: hunter2-secret\n")
    (tmp_dags / "linked").unlink(missing_ok=True)
    (tmp_dags / "linked").symlink_to(outside)

    (tmp_dags / "bomb.yaml").write_text(ALIAS_BOMB)
    relative = f"../{outside.relative_to(tmp_path)}/config.yaml"
    tasks = {
        "dotdot": relative,
        "symlink": "linked/config.yaml",
        "absolute": str(outside / "config.yaml"),
        "file_url": f"file://{outside}/config.yaml",
        "bomb": "bomb.yaml",
    }
    operators = "\n".join(
        f"    SyncFallbackOffersOperator(task_id={task!r}, catalog='c', offers_file={path!r})"
        for task, path in tasks.items()
    )
    source = f"""
from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_offers.operators.catalog import SyncFallbackOffersOperator

with DAG("contained", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
{operators}
"""
    before = len(offer_library_emulator.requests)
    run = run_dag(source, "contained")

    assert run.task_states() == dict.fromkeys(tasks, "failed")
    assert offer_library_emulator.requests[before:] == []
    output = task_output()
    for problem in ("leads outside the DAG's folder", "is not relative to the DAG's folder"):
        assert problem in output
    assert "bomb.yaml: expands to more than 2,000,000 values" in output
    assert "hunter2-secret" not in output
