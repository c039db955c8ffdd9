"""`offers-catalog export | plan | apply` over loopback HTTP to the emulator, through the
connection a task would use (`AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT`)."""

from __future__ import annotations

import json

from airflow_provider_offers import catalog_cli

WEB = "https://ns.adobe.com/xdm/channel-types/web"
DPS = "/data/core/dps"


def test_plan_then_apply_exactly_that_plan_then_export(
    adobe_connection, offer_library_emulator, dps, tmp_path, capsys
):
    document = {
        "placements": [{"name": "Web", "componentType": "html", "channel": WEB}],
        "tags": [{"name": "Spring"}],
    }
    path, plan = tmp_path / "setup.json", tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    assert catalog_cli.main(["plan", str(path), "--catalog", "cli", "--out", str(plan)]) == 0
    assert "2 created" in capsys.readouterr().out
    assert dps.get("/placements")["results"] == []

    document["tags"].append({"name": "Autumn"})  # changed after the review: refused
    path.write_text(json.dumps(document))
    assert catalog_cli.main(["apply", str(path), "--catalog", "cli", "--plan", str(plan)]) == 1
    assert "the plan changed since it was approved" in capsys.readouterr().err
    assert dps.get("/tags")["results"] == []

    document["tags"].pop()
    path.write_text(json.dumps(document))
    assert catalog_cli.main(["apply", str(path), "--catalog", "cli", "--plan", str(plan)]) == 0
    assert '"created": 2' in capsys.readouterr().out
    assert [t["name"] for t in dps.get("/tags")["results"]] == ["Spring"]

    exported = tmp_path / "export.json"
    assert catalog_cli.main(["export", str(exported), "--kinds", "tags", "placements"]) == 0
    assert json.loads(exported.read_text()) == {
        "placements": document["placements"][:1]
        and [{"channel": WEB, "componentType": "html", "name": "Web"}],
        "tags": [{"name": "Spring"}],
    }
