"""What every Offer Library task shares, operators and the sensor alike.

One home for the connection id and its default, the sandbox override, the hook (made after
templating, closed after the task), the one translation of `InvalidInputError` into a task
failure that is not retried (a bad input stays bad on every try), and long rate limits: a
`Retry-After` longer than the client waits in-process defers the task until then (no worker
slot held), and the task's work runs again from the start when it resumes, which every task
here can do (they are idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_provider_offers._compat import AirflowFailException
from airflow_provider_offers.hooks.offers import OfferLibraryHook

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_offers.api.errors import RateLimitedError

#: Every task lists these among its template fields (`(*TASK_TEMPLATE_FIELDS, "offer", ...)`).
TASK_TEMPLATE_FIELDS: tuple[str, ...] = ("adobe_conn_id", "sandbox_name")

#: Extra time the triggerer grants a deferred wait past its own deadline: the trigger ends the
#: wait at the deadline itself (and says why); Airflow's timeout is only the backstop.
DEFER_TIMEOUT_GRACE = timedelta(minutes=5)


class OfferLibraryTask(BaseOperator):
    """Base of every operator and sensor here; subclasses implement `_execute`.

    The fields of the result named in `output_keys` are also pushed as XComs of their own:
    `create_placement.output["id"]` can be passed to a downstream task as it is.

    A sensor lists it before `BaseSensorOperator` and calls `BaseSensorOperator.execute` from
    its `_execute`. (A base class rather than a mixin: Airflow checks `partial()`/`expand()`
    arguments against the `__init__` of `BaseOperator` subclasses only.)

    :param adobe_conn_id: an `adobe_offers` connection (templated).
    :param sandbox_name: overrides the connection's sandbox (templated).
    :param request_timeout: seconds to wait for each HTTP request; overrides the connection's
        extra ``timeout`` (default 60 s).
    :param max_attempts: tries of a retryable request (429, 502-504, network) in all, 1 for no
        retry; overrides the connection's extra ``max_attempts`` (default 5).
    :param max_retry_after: the longest `Retry-After` (seconds) waited in-process, holding the
        worker slot; the client's default (120 s) when None. A longer one defers the task.
    :param max_rate_limit_deferrals: how many times a task deferred by a long rate limit may
        defer again; then it fails, naming the wait it was told.
    """

    #: Fields of the returned dict also pushed as XComs under their own key (what users chain on).
    output_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        adobe_conn_id: str = OfferLibraryHook.default_conn_name,
        sandbox_name: str | None = None,
        request_timeout: float | None = None,
        max_attempts: int | None = None,
        max_retry_after: float | None = None,
        max_rate_limit_deferrals: int = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.adobe_conn_id = adobe_conn_id
        self.sandbox_name = sandbox_name
        self.request_timeout = request_timeout
        self.max_attempts = max_attempts
        self.max_retry_after = max_retry_after
        self.max_rate_limit_deferrals = max_rate_limit_deferrals

    @cached_property
    def hook(self) -> OfferLibraryHook:
        from airflow_provider_offers.api.inputs import parse_max_attempts, parse_timeout

        # Parsed here to name the task's argument; the client builds its one retry policy.
        return OfferLibraryHook(
            adobe_conn_id=self.adobe_conn_id,
            sandbox_name=self.sandbox_name,
            timeout=parse_timeout(self.request_timeout, "request_timeout"),
            max_attempts=parse_max_attempts(self.max_attempts, "max_attempts"),
            max_retry_after=self.max_retry_after,
        )

    @property
    def trigger_options(self) -> dict[str, Any]:
        """What a trigger this task defers to needs to build the same hook in the triggerer."""
        return {
            "adobe_conn_id": self.adobe_conn_id,
            "sandbox_name": self.sandbox_name,
            "request_timeout": self.request_timeout,
            "max_attempts": self.max_attempts,
            "max_retry_after": self.max_retry_after,
        }

    def execute(self, context: Context) -> Any:
        return self._run(context, rate_limit_deferrals=0)

    def resume_after_rate_limit(
        self, context: Context, event: Any = None, rate_limit_deferrals: int = 0
    ) -> Any:
        """Where a task deferred by a long rate limit resumes: its work, from the start."""
        return self._run(context, rate_limit_deferrals=rate_limit_deferrals)

    def _run(self, context: Context, *, rate_limit_deferrals: int) -> Any:
        from airflow_provider_offers.api.errors import InvalidInputError, RateLimitedError

        try:
            result = self._execute(context)
            self._push_outputs(context, result)
            return result
        except InvalidInputError as error:
            raise AirflowFailException(f"invalid input, nothing was sent: {error}") from None
        except RateLimitedError as error:
            if not error.beyond_wait_cap:
                raise
            # Also handed to the resume method as a keyword, but a resumed task is not always
            # given its keywords back (`dag.test()` gives the trigger's event): kept here too.
            deferrals = TaskMemory(context, "rate_limit_deferrals", per_try=True)
            done = deferrals.get()
            self._defer_for_rate_limit(
                error,
                max(rate_limit_deferrals, done if isinstance(done, int) else 0),
                deferrals,
                self._rate_limit_deadline(context),
            )
        finally:
            if "hook" in self.__dict__:
                self.hook.close()

    def _rate_limit_deadline(self, context: Context) -> datetime | None:
        """When a task with a deadline of its own (a sensor's timeout) must be resumed at the
        latest, however long the server asked to wait; None: no such limit."""
        return None

    def _defer_for_rate_limit(
        self,
        error: RateLimitedError,
        deferrals: int,
        count: TaskMemory,
        deadline: datetime | None = None,
    ) -> None:
        """Defer until the time the server asked for (or the task's `deadline`, if sooner: it
        resumes then to report its timeout), or fail if deferred too often already."""
        wait = float(error.retry_after or 0.0)
        if deferrals >= self.max_rate_limit_deferrals:
            raise error.with_message(
                f"{error.message}; rate limited after {deferrals} deferral(s), the most "
                f"max_rate_limit_deferrals={self.max_rate_limit_deferrals} allows: the server "
                f"asked to wait {wait:g} s more"
            ) from error
        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        until = datetime.now(timezone.utc) + timedelta(seconds=wait)
        then = "then running the task's work again"
        if deadline is not None and deadline < until:
            until, then = deadline, "its deadline, which comes first"
        count.set(deferrals + 1)
        self.log.warning(
            "Rate limited: the server asked to wait %g s (Retry-After), longer than this task "
            "waits in-process; deferring until %s (deferral %d of at most %d), %s",
            wait,
            until.isoformat(timespec="seconds"),
            deferrals + 1,
            self.max_rate_limit_deferrals,
            then,
        )
        self.defer(
            trigger=DateTimeTrigger(moment=until),
            method_name="resume_after_rate_limit",
            kwargs={"rate_limit_deferrals": deferrals + 1},
        )

    def _execute(self, context: Context) -> Any:
        raise NotImplementedError

    def _push_outputs(self, context: Context, result: Any) -> None:
        """Push each of `output_keys` found in the result as an XCom of its own, so that
        `task.output["id"]` (an XCom with key "id", not an item of `return_value`) resolves."""
        ti = context.get("ti")  # None when `execute` is called by hand with a bare context
        if ti is None or not self.output_keys or not isinstance(result, dict):
            return
        for key in self.output_keys:
            if key in result:
                ti.xcom_push(key=key, value=result[key])


class TaskMemory:
    """One entry of Airflow's task state store (3.3+), shared by a task's tries and
    deferrals: the one wrapper, with the one key scheme `adobe_offers:<purpose>:<parts>`.

    With `per_try`, what an earlier try kept reads as nothing (each try starts afresh). Without
    a store (Airflow 3.1/3.2) it keeps nothing: `available` says so.
    """

    def __init__(self, context: Context, purpose: str, *parts: object, per_try: bool = False):
        self.store = context.get("task_state_store")
        ti = context.get("ti")
        self.try_number = getattr(ti, "try_number", 0) if per_try else None
        self.key = ":".join(["adobe_offers", purpose, *map(str, parts)])

    @property
    def available(self) -> bool:
        return self.store is not None

    def get(self) -> Any:
        saved = self.store.get(self.key) if self.store is not None else None
        if self.try_number is None:
            return saved
        if isinstance(saved, dict) and saved.get("try_number") == self.try_number:
            return saved.get("value")
        return None

    def set(self, value: Any) -> None:
        if self.store is None:
            return
        if self.try_number is not None:
            value = {"try_number": self.try_number, "value": value}
        self.store.set(self.key, value)
