"""api/catalog/plan.py: the plan from one listing, the values it pins, renames, references,
and the check against an approved plan (drift)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from airflow_provider_offers.api import catalog, guardrails
from airflow_provider_offers.api.catalog import plan as catalog_plan
from airflow_provider_offers.api.catalog.approval import check_plan, drift
from airflow_provider_offers.api.catalog.plan import MARKER, CatalogError, compute_plan
from airflow_provider_offers.api.errors import InvalidInputError, ServerError

from .catalog_helpers import actions, listed, offer


def test_unknown_placements_are_named_per_representation():
    bodies = [offer("A"), offer("B")]
    bodies[1]["representations"][0]["placement"] = "dps:offer-placement:gone"
    assert catalog_plan.unknown_placements(bodies, {"dps:offer-placement:1"}) == [
        "offer 'B': representations[0].placement 'dps:offer-placement:gone' is not a placement "
        "of this sandbox"
    ]


# -- the plan -----------------------------------------------------------------------------------


def test_creates_carry_the_marker_and_unchanged_offers_send_nothing():
    existing = [listed("Same", "id-1", characteristics={MARKER: "c"})]
    plan = compute_plan("c", [offer("Same"), offer("New")], existing)

    assert actions(plan) == [("New", "create"), ("Same", "unchanged")]
    assert plan.work["New"][1]["characteristics"] == {MARKER: "c"}
    assert plan.entries[1] == {
        "name": "Same",
        "id": "id-1",
        "action": "unchanged",
        "fields": [],
        "etag": 1,
    }
    assert plan.counts() == {
        "created": 1,
        "updated": 0,
        "unchanged": 1,
        "deleted": 0,
        "blocked": 0,
    }


def test_an_offer_made_by_hand_is_updated_but_never_marked():
    existing = [listed("Hand", "id-1", etag=4, characteristics={"season": "spring"})]
    plan = compute_plan("c", [offer("Hand", description="new")], existing)

    assert plan.entries == [
        {
            "name": "Hand",
            "id": "id-1",
            "action": "update",
            "fields": ["description"],
            "etag": 4,
            "changes": {"description": {"new": "new"}},
        }
    ]
    assert MARKER not in plan.work["Hand"][1].get("characteristics", {})


def test_own_offers_keep_their_marker_when_the_catalog_sets_characteristics():
    existing = [listed("Mine", "id-1", characteristics={MARKER: "c"})]
    plan = compute_plan("c", [offer("Mine", characteristics={"season": "autumn"})], existing)

    assert plan.entries[0]["fields"] == ["characteristics"]
    assert plan.work["Mine"][1]["characteristics"] == {"season": "autumn", MARKER: "c"}


def test_another_catalogs_offer_or_two_offers_of_one_name_are_refused():
    theirs = [listed("Theirs", "id-1", characteristics={MARKER: "other"})]
    with pytest.raises(CatalogError, match="offer 'Theirs' \\(id-1\\) belongs to catalog 'other'"):
        compute_plan("c", [offer("Theirs")], theirs)
    twins = [listed("Twin", "id-1"), listed("Twin", "id-2")]
    with pytest.raises(CatalogError, match="2 offers are named 'Twin' \\(id-1, id-2\\)"):
        compute_plan("c", [offer("Twin")], twins)


def test_prune_deletes_only_own_offers_and_is_blocked_by_a_decisions_fallback():
    existing = [
        listed("Hand", "id-hand"),
        listed("Theirs", "id-theirs", characteristics={MARKER: "other"}),
        listed("Old", "id-old", characteristics={MARKER: "c"}),
        listed("Served", "id-served", characteristics={MARKER: "c"}),
    ]
    decisions = [{"id": "d1", "name": "Home", "fallback": "id-served"}, {"id": "d2", "name": "X"}]

    assert actions(compute_plan("c", [], existing, decisions=decisions)) == []
    plan = compute_plan("c", [], existing, prune=True, decisions=decisions)

    assert actions(plan) == [("Old", "delete"), ("Served", "blocked")]
    assert plan.blocked()[0]["decisions"] == ["'Home' (d1)"]
    assert catalog_plan.prune_candidates(existing, {"Old"}, "c") == [existing[3]]


# -- approval: drift ----------------------------------------------------------------------------


def test_drift_names_what_changed_since_the_approved_plan():
    existing = [listed("A", "id-a", characteristics={MARKER: "c"}), listed("B", "id-b")]
    approved = compute_plan("c", [offer("A", description="x"), offer("B")], existing).entries

    assert (
        drift(approved, compute_plan("c", [offer("A", description="x"), offer("B")], existing))
        == []
    )
    moved = [existing[0], {**existing[1], "etag": 2}]
    assert drift(approved, compute_plan("c", [offer("A", description="x"), offer("B")], moved)) == [
        "B"
    ]
    more = compute_plan("c", [offer("A", description="x"), offer("B"), offer("C")], existing)
    assert drift(approved, more) == ["C"]


def test_writes_an_earlier_run_of_the_approved_plan_made_are_not_drift():
    existing = [
        listed("Upd", "id-u", characteristics={MARKER: "c"}),
        listed("Gone", "id-g", characteristics={MARKER: "c"}),
    ]
    desired = [offer("Upd", description="x"), offer("New")]
    approved = compute_plan("c", desired, existing, prune=True).entries
    assert [e["action"] for e in approved] == ["delete", "create", "update"]

    after = [
        listed("Upd", "id-u", etag=2, description="x", characteristics={MARKER: "c"}),
        listed("New", "id-n", characteristics={MARKER: "c"}),
    ]
    assert drift(approved, compute_plan("c", desired, after, prune=True)) == []


@pytest.mark.parametrize(
    "given",
    [
        [{"name": "A", "action": "create"}],
        {"plan": [{"name": "A", "action": "create"}], "counts": {}},
        json.dumps({"plan": [{"name": "A", "action": "create"}]}),
    ],
)
def test_an_expected_plan_is_entries_a_result_or_its_json(given):
    assert catalog.plan_entries(given) == [{"name": "A", "action": "create"}]


@pytest.mark.parametrize("given", ["{", "a plan", {"counts": {}}, [1]])
def test_a_malformed_expected_plan_is_refused(given):
    with pytest.raises(InvalidInputError, match="expected_plan"):
        catalog.plan_entries(given)


# -- the values an approved plan pins -----------------------------------------------------------


def test_each_write_carries_the_values_it_writes_as_json():
    existing = [listed("A", "id-a", characteristics={MARKER: "c"}, description="v1")]
    plan = compute_plan("c", [offer("A", description="v2"), offer("B")], existing)

    update, create = plan.entries
    assert update["changes"] == {"description": {"old": "v1", "new": "v2"}}
    assert create["body"] == {**offer("B"), "characteristics": {MARKER: "c"}}
    assert json.loads(json.dumps(plan.entries)) == plan.entries  # through XCom unchanged


def test_a_catalog_edited_after_approval_is_refused_naming_the_offer_and_field():
    existing = [listed("A", "id-a", characteristics={MARKER: "c"}, description="v1")]
    approved = compute_plan("c", [offer("A", description="v2"), offer("B")], existing).entries
    edited = compute_plan("c", [offer("A", description="v3"), offer("B", status="draft")], existing)

    with pytest.raises(CatalogError) as raised:
        check_plan(edited, expected=approved)

    message = str(raised.value)
    assert message.startswith("the plan changed since it was approved, for 'A', 'B' (")
    assert '\'A\': description approved {"new": "v2", "old": "v1"}, now {"new": "v3"' in message
    assert '\'B\': status approved "approved", now "draft"' in message
    assert message.endswith("; nothing was written")
    check_plan(
        compute_plan("c", [offer("A", description="v2"), offer("B")], existing), expected=approved
    )


# -- renames keep the id ------------------------------------------------------------------------


def test_a_rename_patches_the_name_of_the_old_offer_and_keeps_its_id():
    existing = [listed("Old", "id-1", characteristics={MARKER: "c"})]
    bodies = [{**offer("New", description="x"), "renamed_from": "Old"}]

    plan = compute_plan("c", bodies, existing, prune=True)

    assert plan.entries == [
        {
            "name": "New",
            "id": "id-1",
            "action": "update",
            "fields": ["description", "name"],
            "etag": 1,
            "changes": {"description": {"new": "x"}, "name": {"old": "Old", "new": "New"}},
            "renamed_from": "Old",
        }
    ]
    existing_offer, desired = plan.work["New"]
    assert existing_offer["id"] == "id-1" and "renamed_from" not in desired

    done = [listed("New", "id-1", etag=2, description="x", characteristics={MARKER: "c"})]
    again = compute_plan("c", bodies, done, prune=True)
    assert actions(again) == [("New", "unchanged")]  # already renamed: nothing to do
    assert drift(plan.entries, again) == []


@pytest.mark.parametrize(
    ("existing", "problem"),
    [
        (
            [listed("Old", "id-1"), listed("New", "id-2")],
            "offer 'New' is renamed from 'Old', but both exist (id-1; id-2): delete one or drop "
            "renamed_from",
        ),
        (
            [],
            "offer 'New' is renamed from 'Old', but no offer has either name (drop renamed_from "
            "to create it)",
        ),
        (
            [listed("Old", "id-1", characteristics={MARKER: "other"})],
            "offer 'Old' (id-1) belongs to catalog 'other'",
        ),
    ],
)
def test_a_rename_that_cannot_keep_an_id_is_refused(existing, problem):
    with pytest.raises(CatalogError, match="nothing was written") as raised:
        compute_plan("c", [{**offer("New"), "renamed_from": "Old"}], existing)
    assert problem in str(raised.value)


# -- nothing referenced is deleted --------------------------------------------------------------


def test_an_offer_a_collection_lists_by_id_is_blocked_naming_the_collection():
    existing = [
        listed("Listed", "id-l", characteristics={MARKER: "c"}),
        listed("Tagged", "id-t", characteristics={MARKER: "c"}),
        listed("Both", "id-b", characteristics={MARKER: "c"}),
    ]
    collections = [
        {"id": "col-1", "name": "Spring", "filterType": "offers", "ids": ["id-l", "id-b"]},
        {"id": "col-2", "name": "By tag", "filterType": "any-tags", "ids": ["id-t"]},
    ]
    decisions = [{"id": "d1", "name": "Home", "fallback": "id-b"}]

    plan = compute_plan("c", [], existing, prune=True, decisions=decisions, collections=collections)

    assert actions(plan) == [("Both", "blocked"), ("Listed", "blocked"), ("Tagged", "delete")]
    with pytest.raises(CatalogError) as raised:
        check_plan(plan)
    message = str(raised.value)
    assert (
        "offer 'Both' (id-b) is the fallback of decision(s) 'Home' (d1) and is listed by "
        "collection(s) 'Spring' (col-1)"
    ) in message
    assert "offer 'Listed' (id-l) is listed by collection(s) 'Spring' (col-1)" in message


class SandboxReads:
    """A client whose listings are given per kind; it records each listing's query, as the
    server would see it, and may fail one kind's listing."""

    def __init__(self, failing: str | None = None, **by_kind: list[dict]) -> None:
        self.by_kind = by_kind
        self.failing = failing
        self.queries: list[tuple[str, dict]] = []
        self.finished: list[str] = []

    async def list_json(self, resource, **query):
        self.queries.append((resource.kind, query))
        # The reads overlap; a failing one fails first, the others take a little longer.
        await asyncio.sleep(0 if resource.kind == self.failing else 0.05)
        if resource.kind == self.failing:
            raise ServerError(f"listing {resource.kind} failed", status=503)
        for value in self.by_kind.get(resource.kind, []):
            yield value
        self.finished.append(resource.kind)

    async def list_page(self, resource, **query):
        """The first page's `total`: what the plan reads of the other offer type."""
        self.queries.append((resource.kind, query))
        return SimpleNamespace(total=len(self.by_kind.get(resource.kind, [])))


def plan_of(client, bodies, **options):
    """`plan_catalog` of fallback offers for catalog "c"; `options` as it takes them, its own
    defaults otherwise."""
    return asyncio.run(
        catalog.plan_catalog(client, bodies, offer_type="fallback", catalog="c", **options)
    )


def test_the_plan_lists_in_an_order_edits_cannot_reshuffle_with_the_largest_page():
    reads = SandboxReads(placements=[{"id": "dps:offer-placement:1"}])
    plan = plan_of(reads, [offer("A")])
    assert actions(plan) == [("A", "create")]
    assert reads.queries == [
        ("fallback-offers", {"limit": 100, "orderby": "id"}),
        ("placements", {"limit": 100, "orderby": "id"}),
        ("personalized-offers", {"limit": 1}),  # a create: Adobe's total of offers is checked
    ]


def test_an_unknown_placement_is_refused_before_any_write():
    reads = SandboxReads(placements=[{"id": "dps:offer-placement:2"}])
    with pytest.raises(CatalogError) as raised:
        plan_of(reads, [offer("A")])
    assert str(raised.value) == (
        "offer 'A': representations[0].placement 'dps:offer-placement:1' is not a placement "
        "of this sandbox; nothing was written"
    )


def test_decisions_and_collections_are_read_only_when_something_may_be_pruned():
    mine = listed("Old", "id-old", characteristics={MARKER: "c"})
    kept = SandboxReads(
        **{"fallback-offers": [mine], "placements": [{"id": "dps:offer-placement:1"}]}
    )
    plan_of(kept, [offer("Old")], prune=True)  # nothing to prune: "Old" is still wanted
    assert [kind for kind, _ in kept.queries] == ["fallback-offers", "placements"]

    decision = {"id": "d1", "name": "Home", "fallback": "id-old"}
    pruned = SandboxReads(
        **{"fallback-offers": [mine], "offer-decisions": [decision], "offer-collections": []}
    )
    plan = plan_of(pruned, [], prune=True)
    assert [kind for kind, _ in pruned.queries] == [
        "fallback-offers",
        "offer-decisions",
        "offer-collections",
    ]
    assert actions(plan) == [("Old", "blocked")]
    not_pruning = SandboxReads(**{"fallback-offers": [mine]})
    assert actions(plan_of(not_pruning, [], prune=False)) == []
    assert [kind for kind, _ in not_pruning.queries] == ["fallback-offers"]


def test_a_failed_read_is_raised_once_every_other_read_is_over():
    reads = SandboxReads(failing="fallback-offers", placements=[{"id": "dps:offer-placement:1"}])
    with pytest.raises(ServerError, match="listing fallback-offers failed"):
        plan_of(reads, [offer("A")])
    assert reads.finished == ["placements"]  # not left running


def test_every_rename_or_namesake_clash_is_named_in_one_refusal():
    bodies = [  # each kind of clash followed by another: none stops the look at the rest
        {**offer("B"), "renamed_from": "Old B"},
        offer("C"),
        {**offer("A"), "renamed_from": "Old A"},
        offer("E"),
        offer("D"),
    ]
    existing = [listed("Old A", "id-1"), listed("A", "id-2"), listed("C", "id-3")]
    existing += [listed("C", "id-4"), listed("D", "id-5"), listed("D", "id-6")]
    existing.append(listed("E", "id-7", characteristics={MARKER: "other"}))

    with pytest.raises(CatalogError) as raised:
        compute_plan("c", bodies, existing)

    message = str(raised.value)
    assert "offer 'A' is renamed from 'Old A', but both exist" in message
    assert "offer 'B' is renamed from 'Old B', but no offer has either name" in message
    assert "2 offers are named 'C' (id-3, id-4)" in message
    assert "offer 'E' (id-7) belongs to catalog 'other'" in message
    assert "2 offers are named 'D' (id-5, id-6)" in message


def test_a_decisions_fallback_that_is_no_id_references_nothing():
    decisions = [
        {"name": "Blank", "id": "d1", "fallback": ""},
        {"name": "Odd", "id": "d2", "fallback": 7},
        {"name": "Home", "id": "d3", "fallback": "offer-1"},
    ]

    assert catalog_plan.references_to(decisions, []) == {"offer-1": {"decisions": ["'Home' (d3)"]}}


def test_a_plan_growing_the_sandbox_past_adobes_total_of_both_offer_types_is_refused():
    placements = [{"id": "dps:offer-placement:1"}]
    two_of_each = {
        "fallback-offers": [listed("F1", "id-1"), listed("F2", "id-2")],
        "personalized-offers": [listed("P1", "id-3"), listed("P2", "id-4")],
    }
    small = guardrails.ADOBE.with_limits(offers_per_sandbox=4)

    def planned(limits):
        return plan_of(
            SandboxReads(placements=placements, **two_of_each), [offer("New")], limits=limits
        )

    with pytest.raises(CatalogError) as raised:
        planned(small)  # 2 fallback + 2 personalized + 1 created > 4
    assert "(4 now, 1 created, 0 deleted)" in str(raised.value)
    assert str(raised.value).endswith("; nothing was written")
    assert actions(planned(small.with_limits(offers_per_sandbox=5))) == [("New", "create")]


def test_own_namesakes_pruned_are_listed_in_id_order():
    mine = {"characteristics": {MARKER: "c"}}
    existing = [listed("Old", "id-9", **mine), listed("Old", "id-1", **mine)]

    plan = compute_plan("c", [], existing, prune=True)

    assert [(e["name"], e["id"], e["action"]) for e in plan.entries] == [
        ("Old", "id-1", "delete"),
        ("Old", "id-9", "delete"),
    ]


def test_the_plan_prunes_nothing_unless_asked():
    reads = SandboxReads(
        placements=[{"id": "dps:offer-placement:1"}],
        **{"fallback-offers": [listed("Old", "id-old", characteristics={MARKER: "c"})]},
    )
    assert actions(plan_of(reads, [offer("A")])) == [("A", "create")]
