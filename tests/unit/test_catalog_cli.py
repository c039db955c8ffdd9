"""`offers-catalog validate`: offline, the exit code and what it prints (no network: the
command never builds a client)."""

from __future__ import annotations

import json

from airflow_provider_offers import catalog_cli

WEB = "https://ns.adobe.com/xdm/channel-types/web"


def write(tmp_path, document: dict):
    path = tmp_path / "setup.json"
    path.write_text(json.dumps(document))
    return str(path)


def fallback(placement: str) -> dict:
    component = {"type": "html", "format": "text/html", "content": "{{profile.x}}"}
    representation = {"channel": WEB, "placement": {"name": placement}, "components": [component]}
    return {"name": "F", "status": "approved", "representations": [representation]}


def test_a_valid_document_exits_0_and_names_what_the_sandbox_must_hold(tmp_path, capsys):
    document = {
        "placements": [{"name": "Web", "componentType": "html", "channel": WEB}],
        "fallback_offers": [fallback("Web")],
        "decisions": [
            {
                "name": "D",
                "fallback": {"name": "F"},
                "criteria": [
                    {"placements": [{"name": "Web"}], "optionSelection": {"filter": {"name": "C"}}}
                ],
            }
        ],
    }
    assert catalog_cli.main(["validate", write(tmp_path, document)]) == 0
    out = capsys.readouterr().out
    assert "valid (1 placements, 1 fallback_offers, 1 decisions)" in out
    assert "Must already exist in the sandbox: collections 'C'" in out


def test_a_bad_document_exits_1_naming_the_place(tmp_path, capsys):
    document = {"fallback_offers": [fallback("Web"), fallback("Web")], "offers": []}
    assert catalog_cli.main(["validate", write(tmp_path, document)]) == 1
    err = capsys.readouterr().err
    assert "'offers' is not a kind of object" in err
    assert "fallback_offers: the name 'F' is used 2 times" in err


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert catalog_cli.main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
