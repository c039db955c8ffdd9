"""Check our decisioning bodies against Adobe's real schema file, fetched by a person.

The test suite runs offline, so it reads a transcription of the schema's constraints
(tests/api/adobe_decisioning_schema.py) instead of Adobe's file, which we do not copy into
the repository. This script closes the gap when the file is at hand:

1. every transcribed definition must equal Adobe's (constraint keywords only);
2. every request body the client builds (the cases of tests/api/test_decisioning_schema.py)
   must validate against Adobe's `decision-request-v1.0`;
3. the emulator's answers, in each answer style, must validate against `decision-response-v1.0`.

Get the file (commit 823243d3c85d55361f62168934cdfcd120c984ba of
AdobeDocs/journey-optimizer-apis, path static/decision-management.yaml), e.g.
`curl -LO https://raw.githubusercontent.com/AdobeDocs/journey-optimizer-apis/823243d3c85d55361f62168934cdfcd120c984ba/static/decision-management.yaml`,
then: `python scripts/check_adobe_schema.py decision-management.yaml`. Exit status 1 lists
every difference and every invalid body.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import yaml
from jsonschema import Draft4Validator

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests" / "api"
sys.path[:0] = [str(ROOT)]  # this checkout's package, not another installed copy


def _load(name: str) -> ModuleType:
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def constraints(value: Any, keywords: frozenset[str]) -> Any:
    """`value` with only the constraint keywords (property names kept as they are)."""
    if isinstance(value, list):
        return [constraints(item, keywords) for item in value]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, item in value.items():
        if key == "properties":
            kept[key] = {name: constraints(p, keywords) for name, p in item.items()}
        elif key in keywords:
            kept[key] = constraints(item, keywords)
    return kept


def transcription_differences(adobe: dict[str, Any], ours: ModuleType) -> list[str]:
    problems = []
    for name, definition in ours.DEFINITIONS.items():
        if name not in adobe:
            problems.append(f"{name}: not in Adobe's file")
        elif constraints(adobe[name], ours.CONSTRAINT_KEYWORDS) != definition:
            problems.append(f"{name}: the transcription differs from Adobe's definition")
    return problems


def _invalid(validator: Draft4Validator, body: Any, label: str) -> list[str]:
    return [f"{label}: {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def request_problems(adobe: dict[str, Any], ours: ModuleType, cases: ModuleType) -> list[str]:
    validator = Draft4Validator(ours.schema_for("decision-request-v1.0", adobe))
    problems = []
    for label, options in cases.OPTIONS.items():
        body = cases._calls().decision("dps:offer-activity:1a", "dps:offer-placement:2b", **options)
        problems += _invalid(validator, body.body, f"request ({label})")
    return problems


def answer_problems(adobe: dict[str, Any], ours: ModuleType) -> list[str]:
    """Arrange a live decision in the emulator per style, ask for options and a fallback."""
    from airflow_provider_offers.emulator import run_emulator

    validator = Draft4Validator(ours.schema_for("decision-response-v1.0", adobe))
    problems = []
    for style in ("strict", "adobe-examples"):
        with run_emulator(answer_style=style) as emulator:
            for label, answer in _answers(emulator):
                problems += _invalid(validator, answer, f"answer ({style}, {label})")
    return problems


def _answers(emulator: Any) -> list[tuple[str, Any]]:
    from airflow_provider_offers.api.calls import DECISION_REQUEST_TYPE, DECISION_RESPONSE_TYPE

    with httpx.Client(base_url=emulator.url, timeout=10) as http:
        token = http.post(
            "/ims/token/v3",
            data={
                "grant_type": "client_credentials",
                "client_id": emulator.client_id,
                "client_secret": emulator.client_secret,
                "scope": "openid,AdobeID",
            },
        ).json()["access_token"]
        http.headers.update(
            {
                "authorization": f"Bearer {token}",
                "x-api-key": emulator.client_id,
                "x-gw-ims-org-id": emulator.org_id,
            }
        )
        dps = "/data/core/dps"
        placement = http.post(
            f"{dps}/placements",
            json={
                "name": "p",
                "componentType": "html",
                "channel": "https://ns.adobe.com/xdm/channels/web",
            },
        ).json()["id"]
        tag = http.post(f"{dps}/tags", json={"name": "t"}).json()["id"]
        rep = {
            "channel": "https://ns.adobe.com/xdm/channels/web",
            "placement": placement,
            "components": [{"type": "html", "format": "text/html", "content": "<p>hi</p>"}],
        }
        offer = {"name": "o", "status": "approved", "representations": [rep], "tags": [tag]}
        http.post(f"{dps}/offers", params={"offer-type": "personalized"}, json=offer)
        fallback = http.post(
            f"{dps}/offers", params={"offer-type": "fallback"}, json={**offer, "name": "f"}
        ).json()["id"]
        collection = http.post(
            f"{dps}/offer-collections", json={"name": "c", "filterType": "any-tags", "ids": [tag]}
        ).json()["id"]
        criteria = [{"placements": [placement], "optionSelection": {"filter": collection}}]
        decision = {"name": "d", "status": "live", "fallback": fallback, "criteria": criteria}
        activity = http.post(f"{dps}/offer-decisions", json=decision).json()["id"]
        request = {
            "xdm:propositionRequests": [{"xdm:activityId": activity, "xdm:placementId": placement}],
            "xdm:profiles": [{"xdm:identityMap": {"ECID": [{"xdm:id": "v"}]}}],
            "xdm:responseFormat": {
                "xdm:includeContent": True,
                "xdm:includeMetadata": {
                    "xdm:activity": ["name"],
                    "xdm:option": ["name", "characteristics", "priority"],
                    "xdm:placement": ["name", "channel", "componentType"],
                },
            },
        }
        headers = {
            "content-type": DECISION_REQUEST_TYPE,
            "accept": DECISION_RESPONSE_TYPE,
            "x-request-id": "check-adobe-schema",
        }
        with_options = http.post("/data/core/ods/decisions", json=request, headers=headers)
        request["xdm:propositionRequests"][0]["xdm:itemCount"] = 1
        # Take the offer out of the running: the fallback is served.
        offers = http.get(f"{dps}/offers", params={"offer-type": "personalized"}).json()
        http.patch(
            f"{dps}/offers/{offers['results'][0]['id']}",
            params={"offer-type": "personalized"},
            json=[{"op": "replace", "path": "/status", "value": "draft"}],
        )
        with_fallback = http.post("/data/core/ods/decisions", json=request, headers=headers)
    return [("options", with_options.json()), ("fallback", with_fallback.json())]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("schema", type=Path, help="Adobe's static/decision-management.yaml")
    parser.add_argument("--no-emulator", action="store_true", help="skip the answers' check")
    args = parser.parse_args(argv)
    adobe = yaml.safe_load(args.schema.read_text())["definitions"]
    ours = _load("adobe_decisioning_schema")
    cases = _load("test_decisioning_schema")
    problems = transcription_differences(adobe, ours) + request_problems(adobe, ours, cases)
    if not args.no_emulator:
        problems += answer_problems(adobe, ours)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) against {args.schema}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
