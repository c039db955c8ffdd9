"""Answer styles: each form Adobe's pages show, switched on alone, and the adobe-examples set."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest
from emulator_helpers import DPS, Api, decide, dps_url

from airflow_provider_offers.emulator import EmulatorConfig, run_emulator
from airflow_provider_offers.emulator.config import ANSWER_STYLES
from airflow_provider_offers.emulator.pytest_plugin import STYLE_VARIABLE

EXAMPLE_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
Z_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FALLBACK = {"offer-type": "fallback"}


def _offer_with_dates(api: Api, adobe_examples, start: str, end: str) -> str:
    body = adobe_examples.fallback_offer(api.placement())
    body["selectionConstraint"].update(startDate=start, endDate=end)
    return api.create("offers", body, **FALLBACK)["id"]


# -- dates -------------------------------------------------------------------------------------
def test_strict_dates_end_in_z_and_date_members_are_kept_as_sent(api, adobe_examples):
    oid = _offer_with_dates(api, adobe_examples, "2022-06-10T02:30:00+02:00", "2032-06-06T23:29Z")
    stored = api.get("offers", oid, **FALLBACK)
    assert Z_DATE.match(stored["created"]) and Z_DATE.match(stored["modified"])
    assert stored["selectionConstraint"]["startDate"] == "2022-06-10T02:30:00+02:00"
    assert stored["selectionConstraint"]["endDate"] == "2032-06-06T23:29Z"


def test_normalised_dates_take_the_form_of_adobes_examples(emulator, api, adobe_examples):
    emulator.configure(normalise_dates=True)
    oid = _offer_with_dates(api, adobe_examples, "2022-06-10T02:30:00+02:00", "2032-06-06T23:29Z")
    stored = api.get("offers", oid, **FALLBACK)
    assert EXAMPLE_DATE.match(stored["created"]) and EXAMPLE_DATE.match(stored["modified"])
    assert stored["selectionConstraint"]["startDate"] == "2022-06-10T00:30:00.000+00:00"
    assert stored["selectionConstraint"]["endDate"] == "2032-06-06T23:29:00.000+00:00"
    receipt = api.patch(
        "offers",
        oid,
        [
            {
                "op": "replace",
                "path": "/selectionConstraint/endDate",
                "value": "2033-01-01T01:00:00.123456+01:00",
            }
        ],
        **FALLBACK,
    ).json()
    assert Z_DATE.match(receipt["lastModifiedDate"])  # receipts keep `Z`, as their example does
    stored = api.get("offers", oid, **FALLBACK)
    assert stored["selectionConstraint"]["endDate"] == "2033-01-01T00:00:00.123+00:00"
    listed = api.list_all("offers", **FALLBACK)
    assert listed[0]["selectionConstraint"] == stored["selectionConstraint"]


def test_normalised_decision_dates(emulator, api, adobe_examples):
    emulator.configure(normalise_dates=True)
    pid = api.placement()
    fallback = api.fallback_offer([pid])
    collection = api.create(
        "offer-collections",
        adobe_examples.collection(api.create("tags", adobe_examples.tag())["id"]),
    )["id"]
    body = adobe_examples.decision(fallback, [pid], collection)
    body.update(startDate="2021-08-23T09:00:00+02:00", endDate="2021-08-25T07:00:00Z")
    decision = api.get("offer-decisions", api.create("offer-decisions", body)["id"])
    assert (decision["startDate"], decision["endDate"]) == (
        "2021-08-23T07:00:00.000+00:00",
        "2021-08-25T07:00:00.000+00:00",
    )


def test_patch_test_compares_with_the_stored_date_exactly(emulator, api, adobe_examples):
    emulator.configure(normalise_dates=True)
    oid = _offer_with_dates(api, adobe_examples, "2022-06-10T02:30:00+02:00", "2032-06-06T23:29Z")
    rename = {"op": "replace", "path": "/name", "value": "renamed"}

    def guarded(value: str) -> httpx.Response:
        test = {"op": "test", "path": "/selectionConstraint/startDate", "value": value}
        return api.patch("offers", oid, [test, rename], **FALLBACK)

    assert guarded("2022-06-10T02:30:00+02:00").status_code == 409  # what was sent: not stored
    assert guarded("2022-06-10T00:30:00.000+00:00").status_code == 200  # what GET shows
    created = api.get("offers", oid, **FALLBACK)["created"]
    test_created = [{"op": "test", "path": "/created", "value": created}, rename]
    assert api.patch("offers", oid, test_created, **FALLBACK).status_code == 200


# -- links -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("form", "prefix"),
    [("relative", ""), ("path", DPS), ("absolute", "{url}" + DPS)],
)
def test_link_forms(emulator, api, form, prefix):
    emulator.configure(next_link_form=form)
    for name in ("a", "b", "c"):
        api.create("tags", {"name": name})
    page = api.call("GET", "/tags", params={"limit": "2", "orderby": "name"}).json()
    expected = prefix.format(url=emulator.url) + "/tags?orderby=name&limit=2"
    assert page["_links"]["self"]["href"] == expected
    assert page["_links"]["next"]["href"].startswith(expected + "&start=")
    second = api.http.get(dps_url(page["_links"]["next"]["href"]), headers=api.headers).json()
    assert [t["name"] for t in second["results"]] == ["c"]
    assert second["_links"]["prev"]["href"] == expected
    assert [t["name"] for t in api.list_all("tags", orderby="name")] == ["a", "b", "c"]


def test_absolute_links_name_the_host_the_request_used(emulator, api):
    emulator.configure(next_link_form="absolute")
    port = emulator.url.rsplit(":", 1)[1]
    response = httpx.get(f"http://localhost:{port}{DPS}/tags", headers=api.headers)
    assert response.json()["_links"]["self"]["href"].startswith(f"http://localhost:{port}{DPS}/")


def test_offer_links_keep_offer_type(emulator, api):
    emulator.configure(next_link_form="path")
    api.fallback_offer([api.placement()])
    page = api.call("GET", "/offers", params=FALLBACK).json()
    assert (
        page["_links"]["self"]["href"]
        == f"{DPS}/offers?orderby=-modified&limit=20&offer-type=fallback"
    )


# -- extra members -----------------------------------------------------------------------------
def test_extra_members_on_get_and_list_items(emulator, api, adobe_examples):
    emulator.configure(extra_members=True)
    body = adobe_examples.placement()
    pid = api.create("placements", body)["id"]
    stored = api.get("placements", pid)
    assert stored["repo:createdDate"] == stored["created"]
    assert stored["repo:lastModifiedDate"] == stored["modified"]
    assert stored["_experience"] == {"decisioning": {"id": pid, "name": body["name"]}}
    assert stored["_repo"] == {"etag": "1"}
    (listed,) = api.list_all("placements")
    assert listed == stored


def test_extra_members_are_read_only_and_never_stored(emulator, api):
    emulator.configure(extra_members=True)
    pid = api.placement()
    write = api.patch("placements", pid, [{"op": "remove", "path": "/_experience"}])
    assert write.status_code == 422 and "_experience" in write.json()["detail"]
    representation = api.get("placements", pid)
    guard = {"op": "test", "path": "/repo:createdDate", "value": representation["created"]}
    rename = {"op": "replace", "path": "/name", "value": "renamed"}
    receipt = api.patch("placements", pid, [guard, rename])
    assert receipt.status_code == 200, receipt.text
    assert "datasetId" in receipt.json()  # the fallback update page's receipt shows one
    stored = api.get("placements", pid)
    assert stored["_experience"]["decisioning"]["name"] == "renamed"
    emulator.configure(extra_members=False)
    assert not {"_experience", "_repo", "repo:createdDate"} & set(api.get("placements", pid))


# -- create status -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [200, 201])
def test_create_status(emulator, api, adobe_examples, status):
    emulator.configure(create_status=status)
    assert api.call("POST", "/tags", json=adobe_examples.tag()).status_code == status


# -- etags -------------------------------------------------------------------------------------
def test_string_etags_in_receipts_representations_and_test_ops(emulator, api):
    emulator.configure(string_etags=True)
    receipt = api.create("tags", {"name": "t"})
    assert receipt["etag"] == "1"
    tid = receipt["id"]
    assert api.get("tags", tid)["etag"] == "1"
    rename = {"op": "replace", "path": "/name", "value": "u"}
    integer_guard = api.patch("tags", tid, [{"op": "test", "path": "/etag", "value": 1}, rename])
    assert integer_guard.status_code == 409  # JSON equality: "1" is not 1
    string_guard = api.patch("tags", tid, [{"op": "test", "path": "/etag", "value": "1"}, rename])
    assert (string_guard.status_code, string_guard.json()["etag"]) == (200, "2")
    (listed,) = api.list_all("tags", property="etag==2")  # filters compare numbers
    assert listed["etag"] == "2"


def test_string_etags_sort_as_numbers(emulator, api):
    emulator.configure(string_etags=True)
    ten, nine = (
        api.create("tags", {"name": "ten"})["id"],
        api.create("tags", {"name": "nine"})["id"],
    )
    for tid, times in ((ten, 9), (nine, 8)):
        for i in range(times):
            assert (
                api.patch(
                    "tags", tid, [{"op": "add", "path": "/description", "value": str(i)}]
                ).status_code
                == 200
            )
    listed = api.list_all("tags", orderby="-etag")
    assert [(t["name"], t["etag"]) for t in listed] == [("ten", "10"), ("nine", "9")]


# -- decisioning prefixes ----------------------------------------------------------------------
def _hex(ident: str) -> str:
    return ident.rsplit(":", 1)[1]


@pytest.mark.parametrize("documented", [False, True])
def test_decisioning_prefixes(emulator, api, adobe_examples, world, documented):
    emulator.configure(documented_decisioning_prefixes=documented)
    offer = world["offer"]("only", 1)
    body = adobe_examples.decision_request(world["decision"], world["placement"])
    (proposition,) = decide(api, body).json()["xdm:propositions"]
    ids = [
        proposition["xdm:activity"]["xdm:id"],
        proposition["xdm:placement"]["xdm:id"],
        proposition["xdm:options"][0]["xdm:id"],
    ]
    if not documented:
        assert ids == [world["decision"], world["placement"], offer]
        return
    assert ids == [
        "dps:activity:" + _hex(world["decision"]),
        "dps:placement:" + _hex(world["placement"]),
        "dps:personalized-option:" + _hex(offer),
    ]
    api.patch(
        "offers",
        offer,
        [{"op": "replace", "path": "/status", "value": "draft"}],
        **{"offer-type": "personalized"},
    )
    (proposition,) = decide(api, body).json()["xdm:propositions"]
    assert proposition["xdm:fallback"]["xdm:id"] == "dps:fallback:" + _hex(world["fallback"])


# -- the adobe-examples set --------------------------------------------------------------------
def test_adobe_examples_preset_turns_every_style_on():
    config = EmulatorConfig.as_adobe_examples()
    assert config.answer_style == "adobe-examples"
    assert (
        config.create_status,
        config.normalise_dates,
        config.next_link_form,
        config.extra_members,
        config.string_etags,
        config.documented_decisioning_prefixes,
    ) == (200, True, "absolute", True, True, True)
    assert EmulatorConfig().answer_style == "strict"
    assert (
        EmulatorConfig.from_options(answer_style="adobe-examples", create_status=201).answer_style
        == "custom"
    )
    assert set(ANSWER_STYLES) == {"strict", "adobe-examples"}
    with pytest.raises(ValueError, match="answer_style"):
        EmulatorConfig.from_options(answer_style="lenient")


def test_configure_sets_and_reset_restores_a_style(emulator, api):
    emulator.configure(answer_style="adobe-examples")
    assert emulator.config.answer_style == "adobe-examples"
    api.create_status = 200
    assert api.create("tags", {"name": "t"})["etag"] == "1"
    emulator.configure(answer_style="strict")
    assert emulator.config == EmulatorConfig()
    emulator.reset()
    assert emulator.config.answer_style == "strict"


def test_http_control_endpoint_configures_a_style(emulator, http):
    answer = http.post("/_emulator/configure", json={"answer_style": "adobe-examples"})
    assert answer.status_code == 200 and answer.json()["answer_style"] == "adobe-examples"
    assert emulator.config.string_etags is True
    single = http.post("/_emulator/configure", json={"string_etags": False}).json()
    assert (single["answer_style"], single["string_etags"]) == ("custom", False)
    assert http.get("/_emulator/config").json() == single
    for bad in ({"next_link_form": "sideways"}, {"no_such_field": 1}, {"clock": None}, [1]):
        assert http.post("/_emulator/configure", json=bad).status_code == 400
    http.post("/_emulator/reset", json={})
    assert http.get("/_emulator/config").json()["answer_style"] == "strict"


def test_run_emulator_takes_an_answer_style(adobe_examples):
    with run_emulator(answer_style="adobe-examples") as emulator, emulator.dps_client() as dps:
        receipt = dps.post("/tags", json=adobe_examples.tag())
        assert (receipt.status_code, receipt.json()["etag"]) == (200, "1")
        page = dps.get("/tags").json()
        assert page["_links"]["self"]["href"].startswith(emulator.url + DPS + "/tags?")
        (tag,) = page["results"]
        assert EXAMPLE_DATE.match(tag["created"]) and "_experience" in tag


def test_styles_fixture_runs_once_per_style(offer_library_emulator_styles, request):
    style = request.node.callspec.params["offer_library_emulator_styles"]
    assert offer_library_emulator_styles.config.answer_style == style
    assert offer_library_emulator_styles.requests == []


@pytest.mark.parametrize("offer_library_emulator", ["adobe-examples"], indirect=True)
def test_the_plain_fixture_takes_a_style_indirectly(offer_library_emulator):
    assert offer_library_emulator.config.answer_style == "adobe-examples"


def test_environment_variable_sets_the_default_style_of_a_whole_run(tmp_path):
    (tmp_path / "test_probe.py").write_text(
        "def test_style(offer_library_emulator, offer_library_emulator_server):\n"
        "    assert offer_library_emulator.config.answer_style == 'adobe-examples'\n"
        "    assert offer_library_emulator_server is offer_library_emulator\n"
    )
    env = {**os.environ, STYLE_VARIABLE: "adobe-examples"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-p", "airflow_provider_offers.emulator.pytest_plugin", str(tmp_path)]
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
