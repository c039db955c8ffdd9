"""What every trigger here shares: the connection and request options each one takes, one
`serialize` from the fields a trigger declares, the hook built from them, and the back-off
while the credentials are refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.triggers.base import BaseTrigger

from airflow_provider_offers.hooks.offers import OfferLibraryHook

if TYPE_CHECKING:
    from airflow_provider_offers.api.retry import RetryPolicy

#: Longest wait between two looks while the credentials are refused (doubling from the poll
#: interval).
MAX_AUTH_BACKOFF = 900.0


class OfferLibraryTrigger(BaseTrigger):
    """Base of the triggers: takes `OPTIONS`, serializes `OPTIONS` and the subclass's `fields`.

    Every kwarg is a JSON value, so a trigger survives serialisation and a triggerer restart. A
    subclass names its own kwargs in `fields`, sets them in its `__init__` and passes the rest
    to this one.

    :param adobe_conn_id: the ``adobe_offers`` connection.
    :param sandbox_name: overrides the connection's sandbox.
    :param poll_interval: seconds between two looks.
    :param request_timeout: seconds per HTTP request (overrides the connection's ``timeout``).
    :param max_attempts: tries of a retryable request (overrides the connection's).
    :param max_retry_after: the longest `Retry-After` (seconds) the client sleeps through (its
        default when None).
    """

    #: The kwargs every trigger here takes.
    OPTIONS: ClassVar[tuple[str, ...]] = (
        "adobe_conn_id",
        "sandbox_name",
        "poll_interval",
        "request_timeout",
        "max_attempts",
        "max_retry_after",
    )
    #: The subclass's own kwargs (serialized before `OPTIONS`).
    fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        adobe_conn_id: str = OfferLibraryHook.default_conn_name,
        sandbox_name: str | None = None,
        poll_interval: float = 60.0,
        request_timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_after: float | None = None,
    ) -> None:
        super().__init__()
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name
        self.poll_interval = float(poll_interval)
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after

    def serialize(self) -> tuple[str, dict[str, Any]]:
        names = (*self.fields, *self.OPTIONS)
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            name: getattr(self, name) for name in names
        }

    @staticmethod
    def hook_for(kwargs: Mapping[str, Any]) -> OfferLibraryHook:
        """A hook for a trigger's kwargs (its `serialize()`, or what a shared stream gets)."""
        return OfferLibraryHook(
            adobe_conn_id=kwargs["adobe_conn_id"],
            sandbox_name=kwargs.get("sandbox_name"),
            timeout=kwargs.get("request_timeout"),
            max_attempts=kwargs.get("max_attempts"),
            max_retry_after=kwargs.get("max_retry_after"),
        )

    def hook(self) -> OfferLibraryHook:
        return self.hook_for(self.serialize()[1])


def auth_backoff(poll_interval: float) -> RetryPolicy:
    """The retry policy's backoff rule for refused credentials, with numbers of its own.

    Not the request policy's 1-30 s: a refused secret stays refused until someone rotates it,
    and asking IMS again every few seconds only adds refusals; so twice the poll interval
    after the first refusal, doubling up to `MAX_AUTH_BACKOFF` (or the interval, if longer).
    No attempt limit and no jitter: a watch never ends, and it is one stream per connection.
    """
    from airflow_provider_offers.api.retry import RetryPolicy

    return RetryPolicy(
        initial_backoff=2 * poll_interval, max_backoff=max(MAX_AUTH_BACKOFF, poll_interval)
    )
