"""Operator input for flags is checked strictly, per flag, with JSON's rules: nothing is coerced."""

from typing import Any

import pytest
from harness import FLAG_DEFAULTS

from cutover.flags import InvalidFlag
from cutover.flags.values import flag_value, validate_change
from orders.bootstrap.flags import ORDERS_FLAGS
from orders.config import FeatureFlags, ProductsClientMode


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("confirmation_email", True, True),
        ("confirmation_email", False, False),
        ("max_items_per_order", 1, 1),
        ("max_items_per_order", 50, 50),
        ("canary_share", 0, 0),
        ("canary_share", 5, 5),
        ("canary_share", 100, 100),
        ("products_client", "canary", "canary"),
        ("products_client", ProductsClientMode.HTTP, "http"),
        ("shadow_sample_rate", 0.25, 0.25),
        # JSON has one number type: an integer is a valid float.
        ("shadow_sample_rate", 0, 0.0),
        ("shadow_sample_rate", 1, 1.0),
        # ... and a float with no fraction is a valid integer (JSON Schema's "integer").
        ("canary_share", 5.0, 5),
        ("max_items_per_order", 3.0, 3),
    ],
)
def test_a_value_of_the_flags_json_type_is_accepted(name: str, value: Any, stored: Any) -> None:
    assert validate_change(ORDERS_FLAGS, FLAG_DEFAULTS, {name: value}) == {name: stored}
    assert type(validate_change(ORDERS_FLAGS, FLAG_DEFAULTS, {name: value})[name]) is type(stored)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("confirmation_email", 0),
        ("confirmation_email", 1),
        ("confirmation_email", "off"),
        ("confirmation_email", "false"),
        ("confirmation_email", "true"),
        ("max_items_per_order", True),
        ("max_items_per_order", 5.5),
        ("max_items_per_order", "5"),
        ("max_items_per_order", 0),
        ("max_items_per_order", 51),
        ("canary_share", True),
        ("canary_share", False),
        ("canary_share", "5"),
        ("canary_share", 5.5),
        ("canary_share", 1e400),
        ("canary_share", -1),
        ("canary_share", 101),
        ("products_client", "CANARY"),
        ("products_client", "grpc"),
        ("products_client", 1),
        ("products_client", True),
        ("shadow_sample_rate", True),
        ("shadow_sample_rate", "0.5"),
        ("shadow_sample_rate", 1.5),
        ("shadow_sample_rate", -0.1),
        ("shadow_sample_rate", float("nan")),
        ("shadow_sample_rate", float("inf")),
        ("confirmation_email", [True]),
        ("canary_share", {"value": 5}),
        ("canary_share", object()),
    ],
)
def test_a_value_of_another_type_or_out_of_bounds_is_refused(name: str, value: Any) -> None:
    with pytest.raises(InvalidFlag) as refused:
        validate_change(ORDERS_FLAGS, FLAG_DEFAULTS, {name: value})

    assert refused.value.flag == name


def test_an_unknown_flag_is_refused_even_as_a_reset() -> None:
    with pytest.raises(InvalidFlag, match="unknown flag"):
        validate_change(ORDERS_FLAGS, FLAG_DEFAULTS, {"enable_new_checkout": None})


def test_flag_value_gives_the_flags_own_type() -> None:
    assert flag_value(FeatureFlags, "products_client", "canary") is ProductsClientMode.CANARY
    assert flag_value(FeatureFlags, "shadow_sample_rate", 1) == 1.0
    assert isinstance(flag_value(FeatureFlags, "shadow_sample_rate", 1), float)


def test_the_problem_names_the_body_path_and_keeps_the_flag() -> None:
    with pytest.raises(InvalidFlag) as refused:
        validate_change(ORDERS_FLAGS, FLAG_DEFAULTS, {"canary_share": True})

    assert refused.value.extensions() == {
        "flag": "canary_share",
        "invalid_params": [
            {"name": "changes.canary_share", "reason": "Input should be a valid integer"}
        ],
    }
