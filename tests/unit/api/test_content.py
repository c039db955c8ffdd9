"""api/content.py: the one rule for where an offer holds its customer's content."""

from __future__ import annotations

import json

import pytest

from airflow_provider_offers.api import content

PERSONAL = "Hi {{profile.person.name.firstName}}"


def kept(value: str) -> tuple[str, str]:
    return ("kept", value)


def offer(text: str = PERSONAL, **component) -> dict:
    return {
        "name": "{{ params.name }}",
        "representations": [
            {
                "placement": "{{ params.placement }}",
                "components": [
                    {"deliveryURL": "https://cdn/{{ ds }}.png"},
                    {"content": text, "format": "text/html", **component},
                ],
            }
        ],
    }


def test_only_component_content_is_kept_everything_around_it_rendered():
    result = content.keep_offer_content(offer(), kept)
    assert result["name"] == "{{ params.name }}"
    assert result["representations"][0]["placement"] == "{{ params.placement }}"
    components = result["representations"][0]["components"]
    assert components[0] == {"deliveryURL": "https://cdn/{{ ds }}.png"}
    assert components[1]["content"] == ("kept", PERSONAL)
    assert components[1]["format"] == "text/html"


def test_the_given_value_is_not_changed_in_place():
    given = offer()
    content.keep_offer_content(given, kept)
    assert given == offer()


def test_offers_and_json_texts():
    (result,) = content.keep_offers_content(json.dumps([offer()]), kept)
    assert result["representations"][0]["components"][1]["content"] == ("kept", PERSONAL)
    # A template naming an XCom is left for Airflow to render.
    template = "{{ ti.xcom_pull(task_ids='offer') }}"
    assert content.keep_offer_content(template, kept) == template
    assert content.keep_offers_content(template, kept) == template
    assert content.keep_patch_content(template, kept) == template
    assert content.is_offer_content(("name",)) is False


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("/representations/0/components/1/content", PERSONAL, ("kept", PERSONAL)),
        ("/representations/0/components/-", {"content": PERSONAL}, {"content": kept(PERSONAL)}),
        (
            "/representations/-",
            {"placement": "{{ p }}", "components": [{"content": PERSONAL}]},
            {"placement": "{{ p }}", "components": [{"content": kept(PERSONAL)}]},
        ),
        (
            "/representations",
            [{"components": [{"content": PERSONAL}]}],
            [{"components": [{"content": kept(PERSONAL)}]}],
        ),
        ("/description", PERSONAL, PERSONAL),
        ("/representations/0/placement", "{{ p }}", "{{ p }}"),
        ("/representations/0/components/0/deliveryURL", "{{ u }}", "{{ u }}"),
    ],
)
def test_patch_values_written_into_content_are_kept(path, value, expected):
    (operation,) = content.keep_patch_content([{"op": "add", "path": path, "value": value}], kept)
    assert operation == {"op": "add", "path": path, "value": expected}


def test_patch_operations_without_value_pass():
    operations = [{"op": "remove", "path": "/representations/0/components/0/content"}]
    assert content.keep_patch_content(operations, kept) == operations
