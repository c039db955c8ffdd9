"""What every Offer Library task shares, operators and the sensor alike.

One home for the connection id and its default, the sandbox override, the hook (made after
templating, closed after the task), and the one translation of `InvalidInputError` into a task
failure that is not retried: a bad input stays bad on every try.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

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
    """

    def __init__(
        self,
        *,
        adobe_conn_id: str = OfferLibraryHook.default_conn_name,
        sandbox_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name

    @cached_property
    def hook(self) -> OfferLibraryHook:
        return OfferLibraryHook(adobe_conn_id=self.adobe_conn_id, sandbox_name=self.sandbox_name)

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
