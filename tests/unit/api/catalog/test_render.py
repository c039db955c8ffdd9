"""api/catalog/render.py: the plan as the task log and the approver see it."""

from __future__ import annotations

from airflow_provider_offers.api import catalog
from airflow_provider_offers.api.catalog.plan import MARKER, compute_plan
from airflow_provider_offers.api.catalog.render import WIDTH, shorten

from .catalog_helpers import listed, offer


def test_plan_as_text_and_markdown_tables_show_what_changes():
    entries = [
        {"name": "A|B", "id": None, "action": "create", "fields": ["name", "status"], "etag": None},
        {"name": "C", "id": "id-c", "action": "blocked", "fields": [], "etag": 3,
         "decisions": ["'Home' (d1)"]},
        {"name": "D", "id": "id-d", "action": "unchanged", "fields": [], "etag": 1},
    ]  # fmt: skip
    assert catalog.plan_table(entries).splitlines() == [
        "1 created, 1 unchanged, 1 blocked",
        "action   name  id    fields                   etag",
        "-------  ----  ----  -----------------------  ----",
        "create   A|B   -     name, status             -",
        "blocked  C     id-c  fallback of 'Home' (d1)  3",
    ]
    assert catalog.plan_markdown(entries).splitlines() == [
        "**1 created, 1 unchanged, 1 blocked**",
        "",
        "| action | name | id | fields | etag |",
        "| --- | --- | --- | --- | --- |",
        "| create | A\\|B | - | name, status | - |",
        "| blocked | C | id-c | fallback of 'Home' (d1) | 3 |",
    ]
    assert catalog.plan_table(entries[2:]) == "1 unchanged: nothing to change"
    assert catalog.plan_markdown([]) == "**no offers**: nothing to change."


def test_the_approval_text_shows_old_and_new_values_not_only_field_names():
    existing = [
        listed("Old name", "id-1", characteristics={MARKER: "c"}, description="v1"),
        listed("Gone", "id-2", characteristics={MARKER: "c"}),
    ]
    bodies = [{**offer("Renamed", description="v2"), "renamed_from": "Old name"}, offer("New")]
    entries = compute_plan("c", bodies, existing, prune=True).entries

    lines = catalog.plan_markdown(entries).splitlines()

    values = lines[lines.index("**Values written**") + 2 :]
    assert values[0].startswith(
        '- `New` (create): `name`: `"New"`; `status`: `"approved"`; `representations`: `[{"'
    )
    assert values[0].endswith('…`; `characteristics`: `{"airflow-offer-catalog": "c"}`')
    assert values[1] == (
        '- `Renamed` (update, id-1, renamed from `"Old name"`): `name`: `"Old name"` → '
        '`"Renamed"`; `description`: `"v1"` → `"v2"`'
    )
    assert len(values) == 2  # the delete writes no values


def test_a_long_value_is_cut_around_its_first_difference():
    old = "x" * 500 + "old" + "y" * 500
    new = "x" * 500 + "new" + "y" * 500
    shown_old, shown_new = shorten(old, new)
    assert "old" in shown_old and "new" in shown_new
    assert shown_old.startswith("…") and shown_old.endswith("…")
    assert len(shown_old) <= WIDTH + 2 and len(shown_new) <= WIDTH + 2
    assert shorten("short", "text") == ("short", "text")

    changed = [
        {"name": "A", "id": "id-a", "action": "update", "fields": ["description"], "etag": 1,
         "changes": {"description": {"old": old, "new": new}}},
    ]  # fmt: skip
    markdown = catalog.plan_markdown(changed)
    assert "old" + "y" * 10 in markdown and "new" + "y" * 10 in markdown
    assert "x" * 100 not in markdown


def test_values_that_look_like_markdown_stay_code():
    entries = [
        {"name": "A", "id": None, "action": "create", "fields": ["name"], "etag": None,
         "body": {"name": "A `b` <script>"}},
    ]  # fmt: skip
    assert catalog.plan_markdown(entries).splitlines()[-1] == (
        '- `A` (create): `name`: `` "A `b` <script>" ``'
    )


def test_unchanged_entries_are_left_out_wherever_they_are():
    entries = [
        {"name": "A", "id": "id-a", "action": "unchanged", "fields": [], "etag": 1},
        {"name": "B", "id": "id-b", "action": "update", "fields": ["status"], "etag": 2},
    ]
    assert catalog.plan_table(entries).splitlines()[-1] == "update  B     id-b  status  2"


def test_values_are_shown_as_json_with_sorted_keys_and_their_own_characters():
    entry = {
        "name": "A",
        "id": "id-a",
        "action": "update",
        "fields": ["characteristics", "description"],
        "etag": 1,
        "changes": {
            "characteristics": {"old": {"b": "1", "a": "2"}, "new": {"b": "1", "a": "3"}},
            "description": {"new": "Café für alle"},
        },
    }
    markdown = catalog.plan_markdown([entry])
    assert '`{"a": "2", "b": "1"}` → `{"a": "3", "b": "1"}`' in markdown
    assert '`description`: (absent) → `"Café für alle"`' in markdown


def test_cut_at_the_bounds_of_the_width_and_the_context():
    from airflow_provider_offers.api.catalog.render import CONTEXT, _cut

    assert (WIDTH, CONTEXT) == (80, 20)
    text = "".join(chr(ord("a") + i % 26) for i in range(110))
    assert _cut(text[:80], 50) == text[:80]  # fits: shown whole, wherever it changed
    assert _cut(text[:81], 0) == text[:80] + "…"
    assert _cut(text, 50) == "…" + text[30:110]  # ends exactly at the end: no trailing …
    assert _cut(text + "z", 50) == "…" + text[30:110] + "…"


def test_shorten_cuts_only_what_does_not_fit_and_texts_of_other_lengths():
    old = "x" * 70 + "OLD" + "y" * 7  # 80 characters: fits
    new = "x" * 70 + "NEW" + "y" * 7
    assert shorten(old, new) == (old, new)
    longer = new + "y"  # 81
    assert shorten(old, longer) == (old, "…" + longer[50:])  # the one that fits stays whole
    # Texts of other lengths that agree as far as the shorter goes differ where it ends.
    assert shorten("x" * 100, "x" * 120) == ("…" + "x" * 20, "…" + "x" * 40)
