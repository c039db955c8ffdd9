"""Each operator's execute() against a mocked hook: XCom, what would be sent, bad input."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow_compat import TaskDeferred

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers.api.errors import (
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ReceiptMissingError,
)
from airflow_provider_offers.api.models import FallbackOffer
from airflow_provider_offers.api.retry import RetryPolicy
from airflow_provider_offers.operators.decisions import DecisionRequestOperator
from airflow_provider_offers.operators.offers import (
    CreateFallbackOfferOperator,
    CreateOfferOperator,
    DeleteFallbackOfferOperator,
    PatchFallbackOfferOperator,
    SyncFallbackOffersOperator,
)
from airflow_provider_offers.operators.placements import CreatePlacementOperator

OFFER_ID = "dps:fallback-offer:1"
WEB = "https://ns.adobe.com/xdm/channel-types/web"
OFFER = {
    "name": "Default banner",
    "status": "approved",
    "representations": [
        {
            "channel": WEB,
            "placement": "dps:offer-placement:1",
            "components": [{"type": "imagelink", "deliveryURL": "https://cdn/a.png"}],
        }
    ],
}
MODIFIED = "2026-11-30T12:00:00.000Z"


def stored(etag: int = 1, **fields) -> dict:
    """The offer as the server shows it."""
    return {**OFFER, "id": OFFER_ID, "etag": etag, "modified": MODIFIED, **fields}


def receipt(etag: int) -> dict:
    return {"id": OFFER_ID, "etag": etag, "lastModifiedDate": MODIFIED}


def test_create_sends_the_validated_offer_and_returns_its_identity(with_hook, hook, context):
    hook.find_resource_by_name.return_value = None
    hook.create_resource.return_value = receipt(1)

    result = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER)).execute(context)

    assert result == {
        "id": OFFER_ID,
        "name": "Default banner",
        "etag": 1,
        "lastModifiedDate": MODIFIED,
        "sandbox": "dev",
        "action": "created",
    }
    (kind, body), _ = hook.create_resource.call_args
    assert (kind, body) == ("fallback-offers", OFFER)
    hook.close.assert_called_once()


def test_create_of_an_existing_offer_patches_only_what_differs_guarded(with_hook, hook, context):
    hook.find_resource_by_name.return_value = stored(3, description="old")
    hook.patch_resource.return_value = receipt(4)
    desired = {**OFFER, "description": "new"}

    result = with_hook(CreateFallbackOfferOperator(task_id="t", offer=desired)).execute(context)

    assert (result["action"], result["etag"]) == ("updated", 4)
    (_, offer_id, operations), _ = hook.patch_resource.call_args
    assert offer_id == OFFER_ID
    assert operations == [
        {"op": "test", "path": "/description", "value": "old"},
        {"op": "replace", "path": "/description", "value": "new"},
    ]
    hook.create_resource.assert_not_called()


def test_create_of_an_equal_offer_sends_nothing(with_hook, hook, context):
    hook.find_resource_by_name.return_value = stored(3)

    result = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER)).execute(context)

    assert (result["action"], result["etag"]) == ("unchanged", 3)
    hook.patch_resource.assert_not_called()
    hook.create_resource.assert_not_called()


def test_if_exists_fail_names_the_existing_offer(with_hook, hook, context):
    hook.find_resource_by_name.return_value = stored(3)
    task = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER, if_exists="fail"))

    with pytest.raises(AirflowFailException, match=f"already exists: id '{OFFER_ID}'"):
        task.execute(context)
    hook.patch_resource.assert_not_called()


@pytest.mark.parametrize(
    "lost",
    [OutcomeUnknownError("connection dropped"), ReceiptMissingError("HTTP 201 but empty")],
)
def test_a_lost_create_is_found_by_name_and_journalled_as_ours(lost, with_hook, hook, context):
    """The answer to the POST was lost (or came without an id); the offer it made is found
    and reported as created, and the journal remembers it for a retry of the task."""
    hook.find_resource_by_name.side_effect = [None, stored(1)]
    hook.create_resource.side_effect = lost
    task = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER))
    task_state = context["task_state_store"]

    result = task.execute(context)

    assert (result["id"], result["action"]) == (OFFER_ID, "created")
    assert hook.create_resource.call_count == 1
    assert list(task_state.values.values()) == [{"name": "Default banner", "id": OFFER_ID}]


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            CreateFallbackOfferOperator(task_id="t", offer={**OFFER, "deliveryUrl": "x"}),
            "offer: unknown field(s) 'deliveryUrl'",
        ),
        (
            CreateFallbackOfferOperator(task_id="t", offer=OFFER, if_exists="replace"),
            "if_exists: 'replace' is not one of update, skip, fail",
        ),
        (
            CreateOfferOperator(task_id="t", offer=OFFER, offer_type="seasonal"),
            "offer_type: 'seasonal' is not an offer type",
        ),
        (CreateFallbackOfferOperator(task_id="t", offer="{not json"), "offer: not valid JSON"),
        (
            CreatePlacementOperator(task_id="t", placement={"channel": WEB}),
            "placement.name: Field required",
        ),
        (
            PatchFallbackOfferOperator(
                task_id="t", offer_id=" ", operations=[{"op": "remove", "path": "/x"}]
            ),
            "offer_id: ' ' is not an id",
        ),
        (
            # With expected_etag a GET would come first: bad operations must stop it too.
            PatchFallbackOfferOperator(
                task_id="t",
                offer_id=OFFER_ID,
                operations=[{"op": "replace", "path": "name", "value": 1}],
                expected_etag=3,
            ),
            "operations[0]: path 'name' is not a JSON Pointer",
        ),
        (
            PatchFallbackOfferOperator(
                task_id="t",
                offer_id=OFFER_ID,
                operations=[{"op": "remove", "path": "/x"}],
                expected_etag="latest",
            ),
            "expected_etag: 'latest' is not an etag",
        ),
        (DeleteFallbackOfferOperator(task_id="t", offer_id=None), "offer_id: None is not an id"),
        (
            DecisionRequestOperator(
                task_id="t", decision_id="d", placement_id="p", profile_id="v", item_count="many"
            ),
            "item_count: 'many' is not a whole number",
        ),
        (
            DecisionRequestOperator(
                task_id="t", decision_id="d", placement_id="p", profile_id="v", item_count=31
            ),
            "item_count: 31 is not between 1 and 30",
        ),
        (
            SyncFallbackOffersOperator(task_id="t", offers=[], offers_file="catalog.yaml"),
            "offers: give exactly one of offers and offers_file",
        ),
        (
            SyncFallbackOffersOperator(task_id="t", offers_file="no/such/catalog"),
            "offers_file: 'no/such/catalog': no such file or directory",
        ),
        (
            SyncFallbackOffersOperator(task_id="t", offers=[], catalog=" "),
            "catalog: ' ' is not a name",
        ),
        (
            SyncFallbackOffersOperator(task_id="t", offers=[], catalog="c", max_concurrency=0),
            "max_concurrency: 0 is less than 1",
        ),
        (
            SyncFallbackOffersOperator(task_id="t", offers=[], catalog="c", expected_plan="{"),
            "expected_plan: not valid JSON",
        ),
    ],
    ids=lambda value: value.task_type if hasattr(value, "task_type") else None,
)
def test_bad_input_fails_without_retries_before_anything_is_sent(
    task, message, with_hook, hook, context
):
    with pytest.raises(AirflowFailException) as failure:
        with_hook(task).execute(context)

    assert str(failure.value).startswith(f"invalid input, nothing was sent: {message}")
    assert [name for name, *_ in hook.mock_calls] == ["close"]


def test_patch_at_an_expected_etag_sends_the_operations_guarded(with_hook, hook, context):
    hook.get_resource.return_value = stored(3, description="old")
    hook.patch_resource.return_value = receipt(4)
    operations = [{"op": "replace", "path": "/description", "value": "new"}]
    task = PatchFallbackOfferOperator(
        task_id="t", offer_id=OFFER_ID, operations=operations, expected_etag="3"
    )

    result = with_hook(task).execute(context)

    assert result == {"id": OFFER_ID, "etag": 4, "lastModifiedDate": MODIFIED, "sandbox": "dev"}
    (_, _, sent), _ = hook.patch_resource.call_args
    assert sent == [{"op": "test", "path": "/description", "value": "old"}, *operations]


def test_patch_at_another_etag_writes_nothing_and_says_both(with_hook, hook, context):
    hook.get_resource.return_value = stored(5)
    task = PatchFallbackOfferOperator(
        task_id="t",
        offer_id=OFFER_ID,
        operations=[{"op": "remove", "path": "/description"}],
        expected_etag=3,
    )

    with pytest.raises(AirflowFailException, match="expected etag 3, current etag 5"):
        with_hook(task).execute(context)
    hook.patch_resource.assert_not_called()


@pytest.mark.parametrize(("error", "deleted"), [(None, True), (NotFoundError("gone"), False)])
def test_delete_counts_an_offer_already_gone_as_done(error, deleted, with_hook, hook, context):
    hook.delete_offer.side_effect = error

    result = with_hook(DeleteFallbackOfferOperator(task_id="t", offer_id=OFFER_ID)).execute(context)

    assert result == {"id": OFFER_ID, "sandbox": "dev", "deleted": deleted}


def _long_rate_limit(wait: float = 300.0) -> RateLimitedError:
    """What the client raises for a Retry-After longer than it waits in-process."""
    error = RateLimitedError("GET /offers failed with HTTP 429", status=429, retry_after=wait)
    assert not RetryPolicy(max_retry_after=120).should_retry(error)
    final = RetryPolicy(max_retry_after=120).final_error(error, 1)  # marked beyond the cap
    assert isinstance(final, RateLimitedError) and not error.beyond_wait_cap
    return final


def test_a_long_rate_limit_defers_until_the_time_asked_then_resumes(with_hook, hook, context):
    hook.find_resource_by_name.side_effect = [_long_rate_limit(), None, None]
    hook.create_resource.return_value = receipt(1)
    task = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER))
    before = datetime.now(timezone.utc)

    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context)

    trigger = deferred.value.trigger
    assert isinstance(trigger, DateTimeTrigger)
    assert before + timedelta(seconds=299) < trigger.moment < before + timedelta(seconds=301)
    assert deferred.value.method_name == "resume_after_rate_limit"
    resumed = task.resume_after_rate_limit(context, event=None, **deferred.value.kwargs)
    assert resumed["action"] == "created"


def test_a_rate_limit_longer_than_the_deferrals_allow_fails_naming_the_wait(
    with_hook, hook, context
):
    hook.find_resource_by_name.side_effect = [_long_rate_limit(), _long_rate_limit()]
    task = with_hook(
        CreateFallbackOfferOperator(task_id="t", offer=OFFER, max_rate_limit_deferrals=1)
    )
    with pytest.raises(TaskDeferred):
        task.execute(context)
    with pytest.raises(RateLimitedError) as failed:
        task.resume_after_rate_limit(context, event=None)  # the count is in the task state store
    assert str(failed.value).endswith(
        "rate limited after 1 deferral(s), the most max_rate_limit_deferrals=1 allows: "
        "the server asked to wait 300 s more"
    )
    assert "longer than the 120 s this client waits in-process" in str(failed.value)


def test_a_short_or_unstated_rate_limit_is_not_deferred(with_hook, hook, context):
    hook.find_resource_by_name.side_effect = RateLimitedError("429", status=429, retry_after=5)
    with pytest.raises(RateLimitedError):
        with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER)).execute(context)


def test_without_a_task_state_store_the_create_still_runs_and_says_why(
    with_hook, hook, context, capfd, caplog
):
    """Airflow before 3.3 hands tasks no task state store: the journal-less path, said once."""
    del context["task_state_store"]
    hook.find_resource_by_name.return_value = None
    hook.create_resource.return_value = receipt(1)

    result = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER)).execute(context)

    assert result["action"] == "created"
    output = capfd.readouterr().out + caplog.text  # Airflow's logging goes to either
    assert output.count("No task state store") == 1
    assert "cannot tell its own earlier write" in output


def test_request_timeout_and_max_attempts_reach_the_client_or_fail_naming_the_field(
    context, monkeypatch
):
    connection = {
        "conn_type": "adobe_offers",
        "login": "client",
        "password": "secret-value",
        "extra": {"org_id": "ORG@AdobeOrg", "timeout": 60, "max_attempts": 5},
    }
    monkeypatch.setenv("AIRFLOW_CONN_ADOBE_OFFERS_DEFAULT", json.dumps(connection))

    task = CreateFallbackOfferOperator(
        task_id="t", offer=OFFER, request_timeout="12.5", max_attempts="2"
    )
    config = task.hook.config  # what the client is built from: the task's settings win
    assert (config.timeout.read, config.timeout.connect, config.max_attempts) == (12.5, 10.0, 2)

    for argument, value in (("request_timeout", "soon"), ("max_attempts", 0)):
        bad = CreateFallbackOfferOperator(task_id="t", offer=OFFER, **{argument: value})
        with pytest.raises(AirflowFailException, match=f"nothing was sent: {argument}: "):
            bad.execute(context)


def test_the_catalog_operators_keep_their_old_import_path():
    from airflow_provider_offers.operators import catalog, offers

    for name in ("SyncOffersOperator", "SyncFallbackOffersOperator", "plan_markdown"):
        assert getattr(offers, name) is getattr(catalog, name)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        offers.Nope  # noqa: B018


def test_an_existing_offer_the_hook_returns_as_a_model_is_patched_not_created_again(
    with_hook, hook, context
):
    """The real hook returns read models, not dicts: the task still sees the offer there and
    guards its patch with the values exactly as the server sent them."""
    hook.find_resource_by_name.return_value = FallbackOffer.model_validate(
        stored(3, description="old")
    )
    hook.patch_resource.return_value = receipt(4)

    result = with_hook(
        CreateFallbackOfferOperator(task_id="t", offer={**OFFER, "description": "new"})
    ).execute(context)

    assert (result["id"], result["action"], result["etag"]) == (OFFER_ID, "updated", 4)
    (_, _, operations), _ = hook.patch_resource.call_args
    assert operations[0] == {"op": "test", "path": "/description", "value": "old"}
    hook.create_resource.assert_not_called()


def test_a_retried_task_knows_the_offer_its_first_try_created(with_hook, hook, context):
    """The journal in the task state store outlives a try: with if_exists="fail", the retry of
    a try that created the offer (then failed) reports it as created instead of failing."""
    hook.find_resource_by_name.return_value = None
    hook.create_resource.return_value = receipt(1)
    task = with_hook(CreateFallbackOfferOperator(task_id="t", offer=OFFER, if_exists="fail"))
    first = task.execute(context)

    hook.find_resource_by_name.return_value = stored(1)
    again = task.execute(context)  # the same task state store, as a retry gets

    assert (first["action"], again["action"], again["id"]) == ("created", "created", OFFER_ID)
    assert hook.create_resource.call_count == 1
