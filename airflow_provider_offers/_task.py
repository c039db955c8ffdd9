"""What every Offer Library task shares, operators and the sensor alike.

One home for the connection id and its default, the sandbox override, the hook (made after
templating, closed after the task), and the one translation of `InvalidInputError` into a task
failure that is not retried: a bad input stays bad on every try.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers.hooks.offers import OfferLibraryHook

if TYPE_CHECKING:
    from airflow.sdk import Context

#: Every task lists these among its template fields (`(*TASK_TEMPLATE_FIELDS, "offer", ...)`).
TASK_TEMPLATE_FIELDS: tuple[str, ...] = ("adobe_conn_id", "sandbox_name")


class OfferLibraryTask(BaseOperator):
    """Base of every operator and sensor here; subclasses implement `_execute`.

    A sensor lists it before `BaseSensorOperator` and calls `BaseSensorOperator.execute` from
    its `_execute`. (A base class rather than a mixin: Airflow checks `partial()`/`expand()`
    arguments against the `__init__` of `BaseOperator` subclasses only.)

    :param adobe_conn_id: an `adobe_offers` connection (templated).
    :param sandbox_name: overrides the connection's sandbox (templated).
    :param request_timeout: seconds to wait for each HTTP request; overrides the connection's
        extra ``timeout`` (default 60 s).
    :param max_attempts: tries of a retryable request (429, 502-504, network) in all, 1 for no
        retry; overrides the connection's extra ``max_attempts`` (default 5).
    """

    def __init__(
        self,
        *,
        adobe_conn_id: str = OfferLibraryHook.default_conn_name,
        sandbox_name: str | None = None,
        request_timeout: float | None = None,
        max_attempts: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts

    @cached_property
    def hook(self) -> OfferLibraryHook:
        from airflow_provider_offers.api.inputs import parse_max_attempts, parse_timeout

        return OfferLibraryHook(
            adobe_conn_id=self.adobe_conn_id,
            sandbox_name=self.sandbox_name,
            timeout=parse_timeout(self.request_timeout, "request_timeout"),
            max_attempts=parse_max_attempts(self.max_attempts, "max_attempts"),
        )

    def execute(self, context: Context) -> Any:
        from airflow_provider_offers.api.errors import InvalidInputError

        try:
            return self._execute(context)
        except InvalidInputError as error:
            raise AirflowFailException(f"invalid input, nothing was sent: {error}") from None
        finally:
            if "hook" in self.__dict__:
                self.hook.close()

    def _execute(self, context: Context) -> Any:
        raise NotImplementedError
