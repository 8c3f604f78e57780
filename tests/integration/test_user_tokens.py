"""User tokens by the identity provider's JWKS, on real processes: rotation, outage, forgeries."""

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from servicekit.devidp import SigningKey, user_claims
from tests.integration.stack import API, AUDIENCE, ISSUER, ORDERS, Shop, Stack, eventually
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FETCH_TIMEOUT = 1.0
# A request that had to wait for a fetch may take the timeout plus the request itself.
MARGIN = 1.0
JWKS = {
    "APP_JWT_JWKS_TIMEOUT_SECONDS": str(FETCH_TIMEOUT),
    "APP_JWT_JWKS_CACHE_SECONDS": "0.5",
    "APP_JWT_JWKS_MIN_REFRESH_SECONDS": "0.2",
}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _claims(user: str = "tok-user", **changes: Any) -> dict[str, Any]:
    claims = {**user_claims(user, issuer=ISSUER, audience=AUDIENCE), **changes}
    return {k: v for k, v in claims.items() if v is not None}


def _list_orders(shop: Shop, orders: ServiceProcess, token: str) -> httpx.Response:
    return shop.http.get(f"{orders.url}{ORDERS}", headers=_bearer(token))


def _assert_refused(response: httpx.Response, detail: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body["status"]) == ("not_authenticated", 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    if detail is not None:
        assert body["detail"] == detail


def test_a_key_rotation_reaches_both_services_without_refusing_a_valid_token(
    stack: Stack, shop: Shop
) -> None:
    products = stack.start_products(JWKS)
    orders = stack.start_orders("http", products, **JWKS)
    old_key = stack.secrets.signing_key
    product_id = shop.add_product(products, stock=10)
    old_token = old_key.sign(_claims())
    assert _list_orders(shop, orders, old_token).status_code == 200

    # The provider publishes a new key beside the old one and signs with it. An
    # unknown kid re-reads the set at most once per APP_JWT_JWKS_MIN_REFRESH_SECONDS.
    new_key = SigningKey.generate("ES256")
    stack.identity_provider.publish(old_key, new_key)
    # A provider signs with a key only after publishing it: here, once the interval
    # has passed since either service's last read of the set (a stale-while-revalidate
    # refresh, or the fetch at start-up, may have run just before the publication).
    time.sleep(float(JWKS["APP_JWT_JWKS_MIN_REFRESH_SECONDS"]) + 0.1)
    new_token = new_key.sign(_claims())
    eventually(
        lambda: True if _list_orders(shop, orders, new_token).status_code == 200 else None,
        timeout=5,
    )
    placed = shop.http.post(
        f"{orders.url}{ORDERS}",
        json={"items": [{"product_id": str(product_id), "quantity": 1}]},
        headers={**_bearer(new_token), "Idempotency-Key": "rotation-1"},
    )
    assert placed.status_code == 201, placed.text
    admin = new_key.sign(_claims("tok-admin", roles=["admin"]))
    adjusted = shop.http.post(
        f"{products.url}{API}/products/{product_id}/stock-adjustments",
        json={"delta": 1, "reason": "rotation"},
        headers=_bearer(admin),
    )
    assert adjusted.status_code == 200, adjusted.text
    # Tokens the old key signed before the rotation stay valid until they expire.
    assert _list_orders(shop, orders, old_token).status_code == 200

    # The old key is withdrawn: both services refuse its tokens once they re-read the set.
    stack.identity_provider.publish(new_key)
    old_admin = old_key.sign(_claims("tok-admin", roles=["admin"]))

    def refused_everywhere() -> bool | None:
        on_orders = _list_orders(shop, orders, old_token).status_code
        on_products = shop.http.post(
            f"{products.url}{API}/products/{product_id}/stock-adjustments",
            json={"delta": 1, "reason": "withdrawn key"},
            headers=_bearer(old_admin),
        ).status_code
        return True if (on_orders, on_products) == (401, 401) else None

    eventually(refused_everywhere, timeout=10, interval=0.2)
    _assert_refused(_list_orders(shop, orders, old_token), "Token is signed by an unknown key")
    assert _list_orders(shop, orders, new_token).status_code == 200


def test_with_the_jwks_down_cached_keys_work_and_unknown_kids_get_a_401_within_the_timeout(
    stack: Stack, shop: Shop
) -> None:
    orders = stack.start_orders("local", None, **{**JWKS, "APP_JWT_JWKS_CACHE_SECONDS": "300"})
    key = stack.secrets.signing_key
    assert _list_orders(shop, orders, key.sign(_claims())).status_code == 200

    for mode in ("down", "stall"):
        stack.identity_provider.mode = mode
        assert _list_orders(shop, orders, key.sign(_claims())).status_code == 200

        strangers = [SigningKey.generate("ES256", kid=f"{mode}-{n}") for n in range(4)]

        def timed(stranger: SigningKey) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            response = _list_orders(shop, orders, stranger.sign(_claims()))
            return response, time.monotonic() - started

        with ThreadPoolExecutor(len(strangers)) as pool:
            results = list(pool.map(timed, strangers))
        for response, elapsed in results:
            _assert_refused(response, "Token is signed by an unknown key")
            assert elapsed < FETCH_TIMEOUT + MARGIN, (mode, elapsed)
        # The known key is still served from the cache while the provider is away.
        assert _list_orders(shop, orders, key.sign(_claims())).status_code == 200


def _b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_signed_with_the_public_key(key: SigningKey) -> str:
    pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims())}"
    hmac = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256)
    return f"{signing_input}.{_b64(hmac.sign(signing_input.encode(), pem))}"


def test_forged_and_out_of_bounds_tokens_are_refused_with_the_same_problem(
    stack: Stack, shop: Shop
) -> None:
    orders = stack.start_orders("local", None, **JWKS)
    key = stack.secrets.signing_key
    ec_key = SigningKey.generate("ES256")
    stack.identity_provider.publish(key, ec_key)
    now = int(time.time())
    cases: dict[str, tuple[str, str | None]] = {
        "hs256-signed-with-the-public-key": (_hs256_signed_with_the_public_key(key), None),
        "alg-none": (f"{_b64({'alg': 'none', 'kid': key.kid})}.{_b64(_claims())}.", None),
        "ec-key-under-an-rsa-kid": (ec_key.sign(_claims(), headers={"kid": key.kid}), None),
        "expired": (key.sign(_claims(exp=now - 120)), "Token has expired"),
        "not-yet-valid": (key.sign(_claims(nbf=now + 600)), "Token is not yet valid"),
        "wrong-issuer": (
            key.sign(_claims(iss="https://other.test")),
            "Token is from another issuer",
        ),
        "wrong-audience": (key.sign(_claims(aud="other-app")), "Token is for another audience"),
        "service-credential": (stack.secrets.service_token, None),
    }
    for name, (token, detail) in cases.items():
        response = _list_orders(shop, orders, token)
        assert response.status_code == 401, (name, response.text)
        _assert_refused(response, detail)
    assert _list_orders(shop, orders, key.sign(_claims())).status_code == 200


def test_products_accepts_only_its_configured_callers_and_two_tokens_while_one_rotates(
    stack: Stack, shop: Shop
) -> None:
    old, new = stack.secrets.service_token, "rotated-" + "n" * 30
    products = stack.start_products({"APP_SERVICE_CALLERS": f"orders={old},orders={new}"})
    reservations = f"{products.url}{API}/reservations/{'0' * 8}-0000-0000-0000-{'0' * 12}"
    for token in (old, new):
        assert shop.http.get(reservations, headers=_bearer(token)).status_code == 404
    user = stack.secrets.signing_key.sign(_claims(roles=["admin"]))
    for token, status in (("someone-else-" + "x" * 30, 403), (user, 403)):
        response = shop.http.get(reservations, headers=_bearer(token))
        assert response.status_code == status, response.text
        assert response.json()["code"] == "forbidden"

    # Orders moves to the new token with products accepting both: no call is refused.
    orders = stack.start_orders("http", products, APP_SERVICE_TOKEN=new)
    product_id = shop.add_product(products, stock=3)
    assert shop.place(orders, "rotating", {product_id: 1}).status_code == 201
