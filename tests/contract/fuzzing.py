"""Shared pieces of the schemathesis runs: settings, and steering generation to seeded data.

Random UUIDs almost always answer 404, which exercises nothing past the
lookup. The hooks here make about half of the generated path ids and body
product ids ones the seed created, so stock, reservation and order logic runs.

Why the schema is the committed document rather than ``from_asgi`` on a live
app: ``schema.parametrize`` needs the schema at import, before any fixture
made a database, and ``schemathesis.pytest.from_fixture`` (the lazy way) fails
under pytest 9 (it sets ``Node._nodeid``). ``test_openapi.py`` keeps the
committed document equal to what the app serves, and ``LateApp`` routes every
request to the app the fixture builds. schemathesis runs that app's lifespan
itself (once per test, on its own event-loop thread).
"""

import itertools
import json
from collections.abc import Callable, Sequence
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case, HookContext
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.stateful.state_machine import APIStateMachine
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.types import ASGIApp, Receive, Scope, Send

# Bounded: both services fuzz in under a minute on two cores (about 30 s on
# PostgreSQL); no example database, so nothing is written into the working tree.
FUZZ_SETTINGS = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Stateful: each example is a scenario of up to six linked calls (an order placed,
# then read, paid, cancelled...; a reservation held, then read, confirmed or
# released), positive and negative data, every check.
STATEFUL_SETTINGS = settings(
    max_examples=12,
    stateful_step_count=6,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

Hook = Callable[[HookContext, st.SearchStrategy[Any]], st.SearchStrategy[Any]]


class SeedIds:
    """Ids the seed created, filled in by a fixture before the first case is drawn.

    Schemas and hooks exist at collection time, the seeded rows only once the
    fixture ran; strategies read this lazily (``st.deferred``).
    """

    def __init__(self) -> None:
        self.by_name: dict[str, list[str]] = {}

    def strategy(self, name: str) -> st.SearchStrategy[str]:
        """One of the seeded ids called ``name``, chosen when drawn."""
        return st.deferred(lambda: st.sampled_from(self.by_name[name]))


def seeded_path_parameters(seeds: SeedIds, names: Sequence[str]) -> Hook:
    """``before_generate_path_parameters``: sometimes use a seeded id for a known parameter."""

    def before_generate_path_parameters(
        context: HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        def substitute(parameters: Any) -> st.SearchStrategy[Any]:
            if not isinstance(parameters, dict):
                return st.just(parameters)
            known = [name for name in names if name in parameters]
            if not known:
                return st.just(parameters)
            return st.fixed_dictionaries({name: seeds.strategy(name) for name in known}).map(
                lambda chosen: {**parameters, **chosen}
            )

        return st.one_of(strategy, strategy.flatmap(substitute))

    return before_generate_path_parameters


def seeded_query_parameters(seeds: SeedIds, names: Sequence[str]) -> Hook:
    """``before_generate_query``: sometimes use a seeded value for a known query parameter."""

    def before_generate_query(
        context: HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        def substitute(query: Any) -> st.SearchStrategy[Any]:
            if not isinstance(query, dict):
                return st.just(query)
            known = [name for name in names if name in query]
            if not known:
                return st.just(query)
            return st.fixed_dictionaries({name: seeds.strategy(name) for name in known}).map(
                lambda chosen: {**query, **chosen}
            )

        return st.one_of(strategy, strategy.flatmap(substitute))

    return before_generate_query


def seeded_body_ids(
    seeds: SeedIds, name: str, keys: frozenset[str], list_keys: frozenset[str]
) -> Hook:
    """``before_generate_body``: sometimes replace ids under ``keys`` (and in ``list_keys``)."""

    def replace(node: Any, value: str) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, item in node.items():
                if key in keys and isinstance(item, str):
                    out[key] = value
                elif key in list_keys and isinstance(item, list):
                    out[key] = [value if isinstance(i, str) else i for i in item]
                else:
                    out[key] = replace(item, value)
            return out
        if isinstance(node, list):
            return [replace(item, value) for item in node]
        return node

    def before_generate_body(
        context: HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        seeded = st.tuples(strategy, seeds.strategy(name)).map(
            lambda pair: replace(pair[0], pair[1])
        )
        return st.one_of(strategy, seeded)

    return before_generate_body


def unique_body_key(key: str) -> Hook:
    """``before_generate_body``: a never-used idempotency key in every generated body.

    Reusing a key with other content is refused with 422 by design, which the
    positive-data check would report as a valid request rejected; that rule has
    its own tests, so here each case gets a key of its own. The drawn key is kept
    (trimmed to leave room, so the result stays within the documented maxLength
    of 200) with a process-wide counter appended: a hypothesis-drawn suffix
    repeats across examples, while the counter draws nothing, so replaying an
    example draws exactly what it drew before (a ``uuid4`` here once made a
    stateful run report inconsistent data generation).
    """
    counter = itertools.count()

    def before_generate_body(
        context: HookContext, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        def fresh(body: Any) -> Any:
            if isinstance(body, dict) and isinstance(body.get(key), str):
                return {**body, key: f"{body[key][:100]}-{next(counter)}"}
            return body

        return strategy.map(fresh)

    return before_generate_body


def with_fresh_key(case: Case[Any], headers: dict[str, str] | None, name: str) -> Any:
    """``headers`` plus a never-used value of header ``name`` when the case sends one.

    Same reasoning as ``unique_body_key``; done at call time because the
    explicit-example and coverage phases do not pass through generation hooks.
    """
    if headers is None or not case.headers or name not in case.headers:
        return headers
    return {**headers, name: uuid4().hex}


class FreshKeys:
    """Makes the unique keys of a valid body (``{key: maxLength}``) ones never sent before.

    For stateful runs, at call time: one scenario may send the same drawn key or
    SKU twice (hypothesis copies steps within a scenario), and the second call
    would answer 409 or 422, which the positive-data check reports as a valid
    request rejected. The drawn value keeps its start (trimmed to leave room
    within maxLength) and gets a counter appended, which draws nothing, so a
    rerun of the scenario draws what the first run drew. Bodies deliberately
    invalid are left as drawn, so they stay invalid.
    """

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits
        self.counter = itertools.count()

    def __call__(self, case: Case[Any]) -> None:
        meta = case.meta
        if not isinstance(case.body, dict) or (
            meta is not None and meta.is_negative_at(ParameterLocation.BODY)
        ):
            return
        for key, limit in self.limits.items():
            value = case.body.get(key)
            if isinstance(value, str) and value:
                suffix = f"-{next(self.counter)}"
                case.body[key] = value[: limit - len(suffix)] + suffix


def credentials(case: Case[Any], headers: dict[str, str]) -> dict[str, str] | None:
    """Our credentials, unless the case deliberately broke its headers.

    A negative case may drop ``Authorization`` to see it refused; adding ours
    back would turn it into a valid request the check then calls "accepted".
    """
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
        return None
    return headers


def repeats_a_product(case: Case[Any], lines: str) -> bool:
    """Whether the generated cart (its list under ``lines``) names one product twice."""
    items = case.body.get(lines) if isinstance(case.body, dict) else None
    if not isinstance(items, list):
        return False
    ids = [repr(item.get("product_id")) for item in items if isinstance(item, dict)]
    return len(ids) != len(set(ids))


def breaks_cursor_rules(case: Case[Any], issued: Sequence[str]) -> bool:
    """Whether the query sends a cursor the API never issued, or a cursor with a page number.

    A cursor is opaque: only ``""`` and the ``next_cursor`` values the API answered
    are valid, and it excludes ``page`` (422 ``invalid_cursor`` / ``validation_error``,
    ADR 0023); no JSON Schema states either rule.
    """
    query = case.query if isinstance(case.query, dict) else {}
    if "cursor" not in query or query["cursor"] is None:
        return False
    return query["cursor"] not in issued or "page" in query


# Lines of one product are merged, and the merged quantity may pass the per-line
# limit: a cross-field rule no JSON Schema can state, answered 422. Such carts
# skip only the "valid data is accepted" check; every other check still runs.
CART_RULE_CHECKS: list[Any] = [positive_data_acceptance]
# Likewise a query that breaks a cursor rule (``breaks_cursor_rules``).
CURSOR_RULE_CHECKS: list[Any] = [positive_data_acceptance]


class LateApp:
    """An ASGI app bound at collection time whose real target a fixture sets later.

    schemathesis binds operations to ``schema.app`` when the schema is loaded
    (at import), but the app needs the database its fixture creates.
    """

    def __init__(self) -> None:
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.target is None:
            raise RuntimeError("the fuzzing fixture has not set the app under test")
        await self.target(scope, receive, send)


def stateful_machine(
    schema: BaseSchema,
    headers_for: Callable[[Case[Any]], dict[str, str] | None],
    excluded_for: Callable[[Case[Any]], list[Any]],
    reset: Callable[[], None],
    prepare: Callable[[Case[Any]], None] | None = None,
) -> type[APIStateMachine]:
    """The schema's state machine (inferred links plus the document's own), calling with
    our credentials and validating every response with every check but ``excluded_for``;
    ``reset`` runs before each scenario and ``prepare`` may adjust each case just before it
    is sent.

    ``reset`` must put back everything the API's answers depend on (the seeded
    databases). Hypothesis runs a scenario's choices again, in whole or in part,
    while it generates (a prefix first with its simplest continuation, then with
    another; a scenario with one step's choices copied over another's) and while it
    shrinks, and it requires every rerun to draw what the first run drew. But which
    rules may run next depends on what the API answered before (a 2xx fills the
    bundle its links read), and the database outlived a scenario: a seeded
    product's stock grew with every adjustment until one was refused 409 (stock
    limit), so the rerun of a scenario whose adjustment had answered 200 chose its
    rules from another set, and hypothesis stopped the test with
    ``FlakyStrategyDefinition`` ("while selecting a rule to run"); a product's
    price or currency, which decide whether a hold answers 201, could do the same.
    With every scenario starting from the same rows, a rerun gets the same answers.
    """
    base: type[APIStateMachine] = schema.as_state_machine()

    class Machine(base):  # type: ignore[valid-type,misc]
        def setup(self) -> None:
            reset()

        def before_call(self, case: Case[Any]) -> None:
            if prepare is not None:
                prepare(case)

        def get_call_kwargs(self, case: Case[Any]) -> dict[str, Any]:
            headers = headers_for(case)
            return {} if headers is None else {"headers": headers}

        def validate_response(
            self,
            response: Any,
            case: Case[Any],
            additional_checks: list[Any] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=excluded_for(case),
                transport_kwargs=kwargs,
            )

    return Machine


def with_links(
    document: dict[str, Any], path: str, method: str, status: str, links: dict[str, Any]
) -> dict[str, Any]:
    """``document`` with OpenAPI links added to one response (a copy; the committed one is left alone)."""
    copy: dict[str, Any] = json.loads(json.dumps(document))
    copy["paths"][path][method]["responses"][status]["links"] = links
    return copy
