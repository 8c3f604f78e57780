"""Any service's flags are checked strictly against its model, and the mode flag against what was built."""

from typing import Any

import pytest

from cutover.flags import InvalidFlag
from cutover.flags.values import apply_overrides, effective_flags, flag_value, validate_change
from libs.cutover.tests.flags.example import (
    DEFAULTS,
    SHOP_FLAGS,
    InventoryClientUnavailable,
    InventoryMode,
    ShopFlags,
)
from seam import Mode

LOCAL_ONLY = frozenset({Mode.LOCAL})


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("restock_alerts", False, False),
        ("batch_size", 100, 100),
        ("batch_size", 5.0, 5),
        ("inventory_rate", 1, 1.0),
        ("inventory_client", InventoryMode.HTTP, "http"),
        ("inventory_client", "canary", "canary"),
    ],
)
def test_a_value_of_the_flags_json_type_is_stored_in_json_form(
    name: str, value: Any, stored: Any
) -> None:
    checked = validate_change(SHOP_FLAGS, DEFAULTS, {name: value})

    assert checked == {name: stored}
    assert type(checked[name]) is type(stored)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("restock_alerts", 0),
        ("restock_alerts", "off"),
        ("batch_size", True),
        ("batch_size", "5"),
        ("batch_size", 5.5),
        ("batch_size", 101),
        ("inventory_share", -1),
        ("inventory_rate", float("nan")),
        ("inventory_client", "grpc"),
        ("inventory_client", "LOCAL"),
        ("no_such_flag", 1),
    ],
)
def test_a_value_of_another_type_out_of_bounds_or_unknown_is_refused(name: str, value: Any) -> None:
    with pytest.raises(InvalidFlag) as refused:
        validate_change(SHOP_FLAGS, DEFAULTS, {name: value})

    assert refused.value.flag == name
    assert refused.value.extensions()["invalid_params"][0]["name"] == f"changes.{name}"


def test_a_reset_of_an_unknown_flag_is_refused_and_names_the_models_flags() -> None:
    with pytest.raises(InvalidFlag, match=r"unknown flag \(known: batch_size, inventory_client,"):
        validate_change(SHOP_FLAGS, DEFAULTS, {"gone": None})


def test_a_mode_this_process_did_not_build_is_the_services_refusal() -> None:
    with pytest.raises(InventoryClientUnavailable) as refused:
        validate_change(SHOP_FLAGS, DEFAULTS, {"inventory_client": "http"}, choosable=LOCAL_ONLY)

    assert (refused.value.code, refused.value.status) == ("service_unavailable", 409)
    assert refused.value.extensions() == {"flag": "inventory_client", "choosable": ["local"]}
    assert str(refused.value) == (
        "inventory_client 'http' needs clients this deployment does not build"
        " (choosable: local); change SHOP_INVENTORY to shadow or canary first"
    )


def test_stored_values_each_apply_alone_and_the_rest_say_why_not() -> None:
    stored = {"batch_size": 500, "inventory_share": 5, "inventory_client": "canary", "gone": 1}

    flags, ignored = effective_flags(SHOP_FLAGS, DEFAULTS, stored, choosable=LOCAL_ONLY)

    assert (flags.batch_size, flags.inventory_share, flags.inventory_client) == (
        10,
        5,
        InventoryMode.SHADOW,
    )
    assert ignored == {
        "batch_size": "Input should be less than or equal to 100",
        "inventory_client": "canary is not built in this process (choosable: local)",
        "gone": "unknown flag (known: batch_size, inventory_client, inventory_rate,"
        " inventory_share, restock_alerts)",
    }


def test_flag_value_and_apply_overrides_give_the_models_own_types() -> None:
    assert flag_value(ShopFlags, "inventory_client", "http") is InventoryMode.HTTP
    assert apply_overrides(DEFAULTS, {"inventory_rate": 0}).inventory_rate == 0.0
    assert SHOP_FLAGS.names == frozenset(ShopFlags.model_fields)
    assert SHOP_FLAGS.modes is InventoryMode
