"""Faults injected between reserve and commit, to prove a crash there loses nothing."""

import logging
import os

from orders.application.place_order import AfterReserveHook
from orders.config import FaultInjection
from shop_contracts.reservations import Reservation

logger = logging.getLogger(__name__)

_EXIT_CODE = 70


class InjectedFault(RuntimeError):
    """Raised on purpose by ``APP_FAULT_INJECTION=raise_after_reserve``."""


async def _raise(reservation: Reservation) -> None:
    raise InjectedFault(f"injected fault after reserving {reservation.id}")


async def _exit(reservation: Reservation) -> None:
    logger.critical("injected crash after reserve", extra={"reservation_id": str(reservation.id)})
    # No cleanup on purpose: this simulates the process being killed.
    os._exit(_EXIT_CODE)


def after_reserve_fault(mode: FaultInjection) -> AfterReserveHook | None:
    """The hook for a configured fault, or None."""
    return {
        FaultInjection.NONE: None,
        FaultInjection.RAISE_AFTER_RESERVE: _raise,
        FaultInjection.EXIT_AFTER_RESERVE: _exit,
    }[mode]
