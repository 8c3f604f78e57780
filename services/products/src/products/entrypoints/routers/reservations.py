"""Internal stock reservation endpoints (service credential only)."""

from uuid import UUID

from fastapi import APIRouter, Response, status

from products.entrypoints.deps import ProductsDep, ServiceCaller
from servicekit.problems import problem_responses
from shop_contracts import paths
from shop_contracts.limits import MAX_LINE_QUANTITY, MAX_ORDER_TOTAL
from shop_contracts.reservations import Reservation, ReservationKeyRelease, ReservationRequest

router = APIRouter(tags=["reservations (internal)"], dependencies=[ServiceCaller])


RESERVE_RULES = f"""\
Hold stock for all lines or none; the same key and lines return the same hold.

Rules the schema cannot state:

- **Lines**: lines naming one product are merged; at most {MAX_LINE_QUANTITY:,} units of one
  product summed across its lines (422 `validation_error`). The hold's lines are one per
  product, sorted by `product_id` (not in request order).
- **One currency**: every product of a hold is priced in one currency (422
  `mixed_currencies`, naming them in `currencies`), and the sum of price times quantity is at
  most {MAX_ORDER_TOTAL} (422 `order_total_too_large`): no order could be placed on it.
- **Key**: bound only when a hold is kept. The same key with the same merged lines answers
  200 with that hold, whatever its state; with other lines, 422 `idempotency_key_reused`.
  A refusal (404 `product_not_found`, 409 `insufficient_stock`, 422) keeps nothing, so the
  key stays free. A key released through `reservation-releases` stays bound to its
  released hold."""


@router.post(
    paths.RESERVATIONS,
    response_model=Reservation,
    status_code=status.HTTP_201_CREATED,
    description=RESERVE_RULES,
    responses={
        200: {
            "description": "Replay: the reservation made earlier with this key",
            "model": Reservation,
        },
        **problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
    },
)
async def reserve(
    request: ReservationRequest, response: Response, products: ProductsDep
) -> Reservation:
    """Hold stock for all lines or none; the same key and lines return the same hold."""
    result = await products.reserve_or_replay(request.reservation_key, request.lines)
    reservation = result.reservation
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = paths.API_PREFIX + paths.RESERVATION.format(
        reservation_id=reservation.id
    )
    return reservation


@router.post(
    paths.RESERVATIONS_RELEASE_BY_KEY,
    response_model=Reservation,
    responses=problem_responses(400, 401, 403, 413, 422, 503),
)
async def release_by_key(request: ReservationKeyRelease, products: ProductsDep) -> Reservation:
    """Release whatever is held under a key and retire the key (idempotent).

    For a caller that gave up on a reserve without knowing whether it took
    effect. Unknown key: a released reservation without lines is recorded, so a
    reserve with that key arriving later holds nothing and answers it.
    """
    return await products.release_by_key(request.reservation_key)


@router.post(
    paths.route(paths.RESERVATION_CONFIRM),
    response_model=Reservation,
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def confirm(reservation_id: UUID, products: ProductsDep) -> Reservation:
    """Confirm a hold (idempotent); 409 once it lapsed or was released."""
    return await products.confirm(reservation_id)


@router.post(
    paths.route(paths.RESERVATION_RELEASE),
    response_model=Reservation,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def release(reservation_id: UUID, products: ProductsDep) -> Reservation:
    """Release a hold and return its stock (idempotent; from held or confirmed)."""
    return await products.release(reservation_id)


@router.get(
    paths.route(paths.RESERVATION),
    response_model=Reservation,
    responses=problem_responses(401, 403, 404, 422, 503),
)
async def get_reservation(reservation_id: UUID, products: ProductsDep) -> Reservation:
    """Get a reservation's current state."""
    return await products.get_reservation(reservation_id)
