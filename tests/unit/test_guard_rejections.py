"""A guarded patch refused by the server, in any status Adobe may use for a failed `test`."""

from __future__ import annotations

import pytest

from airflow_provider_offers.api import reconcile
from airflow_provider_offers.api.errors import error_from_response

OFFER = {"id": "o-1", "etag": 1, "name": "x", "description": "old"}


def refusal(status: int, title: str):
    """The client's error for a PATCH the server refused with `status`."""
    return error_from_response(
        status=status,
        body=f'{{"title": "{title}"}}'.encode(),
        content_type="application/json",
        method="PATCH",
        path="/data/core/dps/offers/o-1",
        request_id=None,
    )


@pytest.mark.parametrize("status", [400, 409, 412, 422])
def test_a_refused_test_op_is_a_conflict_to_re_read_not_a_crash(status, mocker):
    refused = refusal(status, "test failed")
    store = mocker.Mock()
    store.patch.side_effect = [refused, {"id": "o-1", "etag": 3}]
    store.get.return_value = {**OFFER, "etag": "2", "description": "theirs"}

    final, wrote = reconcile.converge(store, OFFER, {"description": "new"})

    assert (final, wrote) == ({"id": "o-1", "etag": 3}, True)
    (_, resent), _ = store.patch.call_args
    assert resent[0] == {"op": "test", "path": "/description", "value": "theirs"}


def test_a_refusal_with_no_concurrent_change_is_raised(mocker):
    refused = refusal(422, "bad value")
    store = mocker.Mock()
    store.patch.side_effect = refused
    store.get.return_value = {**OFFER, "etag": "1"}  # the same version, as a digit string

    with pytest.raises(type(refused)):
        reconcile.converge(store, OFFER, {"description": "new"})
