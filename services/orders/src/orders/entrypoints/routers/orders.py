"""Placing, quoting, listing and reading orders."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from orders.application.commands import PlaceOrder
from orders.application.queries import GetOrderSummary, ListUserOrders
from orders.application.views import (
    OrderListItem,
    OrderSummaryView,
    OrderView,
    QuoteView,
    order_view,
)
from orders.domain.status import OrderStatus
from orders.entrypoints import paths
from orders.entrypoints.deps import (
    IDEMPOTENCY_KEY_PARAMETER,
    CallerDep,
    CurrentPrincipal,
    IdempotencyKey,
    OrdersDep,
    OwnedOrder,
)
from orders.entrypoints.schemas import CartIn, IsoDate
from servicekit.problems import problem_responses
from shop_contracts.limits import (
    MAX_LINE_QUANTITY,
    MAX_ORDER_TOTAL,
    MAX_PAGE,
    MAX_RESERVATION_LINES,
)
from shop_contracts.money import CurrencyCode
from shop_contracts.pagination import (
    CURSOR_TOTAL_LIMIT,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CursorPage,
    decode_cursor,
)
from shop_contracts.paths import API_PREFIX, route

router = APIRouter(tags=["orders"])


CART_RULES = f"""\
Rules the schema cannot state:

- **Lines**: lines naming one product are merged; at most {MAX_LINE_QUANTITY:,} units of one
  product summed across its lines, and at most the configured number of distinct products
  (never more than {MAX_RESERVATION_LINES}): 422 `validation_error` otherwise.
- **One currency**: every product of a cart is priced in one currency; a cart mixing
  currencies is 422 `mixed_currencies`, naming them in `currencies`.
- **Total**: at most {MAX_ORDER_TOTAL} (422 `order_total_too_large`).
- **Lines in the response**: one per product, merged, sorted by `product_id` (not in
  request order)."""

ANSWER_RULES = """\
Once the order is saved, the answer is that order as it stands: `confirmed`;
`pending` when it could not be settled yet (the reconciler settles it: read it
again); `failed` when the hold lapsed before confirmation (place again with a
new key). A 503 saved nothing that a retry with the same key and body will not
report: retry it after `Retry-After`."""

IDEMPOTENCY_RULES = """\
The `Idempotency-Key` (per user) belongs to the first request that executes:

- the same key with the same cart (after merging lines) answers 200 with the same order;
- the same key with a different cart is 422 `idempotency_key_reused`;
- a request **refused** before anything is held or saved (every 4xx: an invalid cart,
  404 `product_not_found`, 409 `insufficient_stock`, 422 `mixed_currencies` or
  `order_total_too_large`) keeps nothing and does **not** use the key up: the corrected
  request may send it again;
- after a 503 the request may have executed: retry with the same key and cart. If the
  stock held for that key is gone (409 `reservation_released` or `reservation_expired`),
  the key is spent; place the order with a new key."""


@router.post(
    paths.ORDERS,
    response_model=OrderView,
    status_code=status.HTTP_201_CREATED,
    description="Reserve stock and place an order (idempotent per Idempotency-Key).\n\n"
    + ANSWER_RULES
    + "\n\n"
    + CART_RULES
    + "\n\n"
    + IDEMPOTENCY_RULES,
    responses={
        200: {"description": "Replay of an earlier request with the same key", "model": OrderView},
        **problem_responses(400, 401, 404, 409, 413, 422, 503),
    },
    openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]},
)
async def place_order(
    caller: CallerDep, key: IdempotencyKey, body: CartIn, response: Response
) -> OrderView:
    """Reserve stock and place an order (idempotent per Idempotency-Key).

    Once the order is saved, the answer is that order as it stands: `confirmed`;
    `pending` when it could not be settled yet (the reconciler settles it: read it
    again); `failed` when the hold lapsed before confirmation (place again with a
    new key). A 503 saved nothing that a retry with the same key and body will not
    report: retry it after `Retry-After`.
    """
    principal = caller.principal
    placed = await caller.orders.place_order(
        PlaceOrder(
            user_id=principal.user_id,
            customer_email=principal.email,
            idempotency_key=key,
            lines=body.lines(),
        )
    )
    response.headers["Location"] = API_PREFIX + paths.ORDER.format(order_id=placed.order.id)
    if not placed.created:
        response.status_code = status.HTTP_200_OK
    return order_view(placed.order)


@router.post(
    paths.ORDERS_QUOTE,
    response_model=QuoteView,
    description="Price a cart with current prices; nothing is reserved.\n\n" + CART_RULES,
    responses=problem_responses(400, 401, 404, 413, 422, 503),
)
async def quote(caller: CallerDep, body: CartIn) -> QuoteView:
    """Price a cart with current prices; nothing is reserved."""
    return await caller.orders.quote(body.lines())


LIST_RULES = f"""\
Two ways to page, newest first (by `created_at`, then `id`):

- **By page number** (`page`, `page_size`): `total` is the exact number of the caller's
  orders (matching `status`), `total_exact` is true. Costs grow with the page number and
  with the caller's history.
- **By cursor** (keyset): send `cursor` empty (`?cursor=`) for the first page, then each
  answer's `next_cursor` unchanged for the next; `next_cursor` is null on the last page.
  A page costs the same however long the history and however deep the walk. A walk never
  repeats or skips an order that existed when it started; orders placed during the walk
  are newer than its cursor and do not appear in it (start again to see them). `page`
  numbers the pages of the walk. `total` counts the caller's orders (matching `status`)
  only up to {CURSOR_TOTAL_LIMIT:,}: past that it is {CURSOR_TOTAL_LIMIT:,} and
  `total_exact` is false. `page_size` and `status` may change between pages; `page` may
  not be sent with `cursor` (422 `validation_error`). A cursor this API did not return
  is 422 `invalid_cursor`.

Every answer carries `next_cursor`, so a walk by page number can carry on by cursor."""

CURSOR_PARAMETER = (
    "Where the page starts: empty for the first page by cursor, or a `next_cursor`"
    " unchanged. Absent: paging by `page` number."
)


@router.get(
    paths.ORDERS,
    response_model=CursorPage[OrderListItem],
    description="The caller's orders, newest first.\n\n" + LIST_RULES,
    responses=problem_responses(401, 422, 503),
)
async def list_orders(
    principal: CurrentPrincipal,
    orders: OrdersDep,
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    order_status: Annotated[OrderStatus | None, Query(alias="status")] = None,
    cursor: Annotated[str | None, Query(description=CURSOR_PARAMETER)] = None,
) -> CursorPage[OrderListItem]:
    """The caller's orders, newest first, by page number or by cursor."""
    if cursor is not None and "page" in request.query_params:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "page"),
                    "msg": "page and cursor exclude each other: a cursor knows its page",
                }
            ]
        )
    return await orders.list_orders(
        ListUserOrders(
            user_id=principal.user_id,
            page=page,
            page_size=page_size,
            status=order_status,
            cursor_mode=cursor is not None,
            # Empty: the first page of a walk by cursor.
            after=decode_cursor(cursor) if cursor else None,
        )
    )


@router.get(
    paths.ORDERS_SUMMARY,
    response_model=OrderSummaryView,
    responses=problem_responses(401, 422, 503),
)
async def order_summary(
    principal: CurrentPrincipal,
    orders: OrdersDep,
    start_date: Annotated[IsoDate | None, Query()] = None,
    end_date: Annotated[IsoDate | None, Query()] = None,
    currency: Annotated[
        CurrencyCode | None,
        Query(description="Count only orders in this currency; needed when there are several"),
    ] = None,
) -> OrderSummaryView:
    """Count, total and average of the caller's orders in one currency over an inclusive date range.

    Amounts in different currencies are never added: when the caller's orders in
    the range use more than one currency and ``currency`` is not given, the answer
    is 422 ``mixed_currencies`` listing them (``currencies``).
    """
    return await orders.order_summary(
        GetOrderSummary(
            user_id=principal.user_id,
            start_date=start_date,
            end_date=end_date,
            currency=currency,
        )
    )


@router.get(
    route(paths.ORDER), response_model=OrderView, responses=problem_responses(401, 404, 422, 503)
)
async def get_order(order: OwnedOrder) -> OrderView:
    """One of the caller's orders with its items."""
    return order
