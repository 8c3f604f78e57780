"""What the seam knows about products: the method table, the outcome labels, the flags."""

import inspect

import pytest

from orders.adapters.product_clients.backpressure import BulkheadFull
from orders.adapters.product_clients.boundary import (
    FAILED_OUTCOMES,
    FLAGS,
    METHODS,
    error_code,
    outcome_of,
)
from orders.config import FeatureFlags, ProductsClientMode
from orders.domain.product_client import ProductServiceClient
from seam import Deadline, Mode
from shop_contracts.errors import InsufficientStock, ProductNotFound, ProductsUnavailable

READS = {"get_product", "lookup_products", "check_stock", "get_reservation"}


def test_the_method_table_covers_every_product_client_method() -> None:
    declared = {
        name
        for name, member in vars(ProductServiceClient).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }

    assert set(METHODS) == declared
    assert len(declared) == 8


def test_reads_are_shadowed_and_get_the_read_deadline_and_writes_are_safe_to_repeat() -> None:
    assert {name for name, method in METHODS.items() if method.reads} == READS
    assert {name for name, method in METHODS.items() if method.shadowed} == READS
    assert {n for n, m in METHODS.items() if m.deadline is Deadline.READ} == READS
    assert all(method.retry_safe for method in METHODS.values())


@pytest.mark.parametrize(
    ("error", "outcome", "failed"),
    [
        (None, "ok", False),
        (BulkheadFull("no slot freed up in time", retry_after=1), "queue_full", False),
        (ProductsUnavailable("products is down"), "products_unavailable", True),
        (ProductNotFound([]), "product_not_found", False),
        (InsufficientStock([]), "insufficient_stock", False),
        (RuntimeError("bug"), "error", True),
    ],
)
def test_outcome_labels_and_which_count_against_the_http_path(
    error: BaseException | None, outcome: str, failed: bool
) -> None:
    assert outcome_of(error) == outcome
    assert (outcome in FAILED_OUTCOMES) is failed


def test_the_problem_code_is_a_contract_errors_only() -> None:
    assert error_code(ProductNotFound([])) == "product_not_found"
    assert error_code(RuntimeError("bug")) is None


def test_the_seams_flags_are_feature_flags_fields() -> None:
    fields = FeatureFlags.model_fields

    assert {FLAGS.mode, FLAGS.share, FLAGS.rate} <= set(fields)
    assert (FLAGS.mode, FLAGS.share, FLAGS.rate) == (
        "products_client",
        "canary_share",
        "shadow_sample_rate",
    )


def test_orders_modes_are_the_seams_modes_by_value() -> None:
    assert [m.value for m in ProductsClientMode] == [m.value for m in Mode]
