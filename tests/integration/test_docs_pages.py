"""The docs pages of both services work in a real browser with no internet access.

Debian's Chromium (``apt-get install -y chromium``; ``.ci/run`` installs it)
driven by Playwright, which uses that executable and downloads no browser.
Every request to a host other than 127.0.0.1 is refused and recorded, so a page
that needs the internet fails here exactly as it would on an offline machine.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, Route, sync_playwright

from tests.integration.stack import API, Shop, Stack
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

_CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_FLAGS = [
    "--headless",
    "--no-sandbox",  # the suite runs as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_TIMEOUT_MS = 30_000


class Browser:
    """One Chromium context on a fresh profile that refuses (and records) off-host requests."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.refused: list[str] = []
        context.set_default_timeout(_TIMEOUT_MS)
        context.route("**/*", self._only_this_host)

    def _only_this_host(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("blockedbyclient")

    def open(self, url: str) -> Page:
        """A new page at ``url``; the caller closes it."""
        page = self.context.new_page()
        page.goto(url, wait_until="load")
        return page


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """Chromium from the system, headless, with the flags a root CI needs."""
    if _CHROMIUM is None:
        pytest.skip("no Chromium: install Debian's chromium (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh --user-data-dir
            executable_path=_CHROMIUM,
            headless=True,
            args=_FLAGS,
        )
        try:
            yield Browser(context)
        finally:
            context.close()


def _operations(page: Page) -> list[str]:
    """``METHOD path`` of every operation Swagger UI rendered."""
    page.locator(".opblock").first.wait_for()
    blocks = page.locator(".opblock")
    return [
        f"{block.locator('.opblock-summary-method').inner_text()} "
        f"{block.locator('.opblock-summary-path').inner_text()}".replace("\u200b", "")
        for block in blocks.all()
    ]


def _authorize(page: Page, scheme: str, token: str) -> None:
    page.locator("button.authorize").first.click()
    container = page.locator(".auth-container").filter(has_text=scheme)
    container.locator("input").fill(token)
    container.locator("button.authorize").click()
    page.locator("button.btn-done").first.click()


def _operation(page: Page, method: str, path: str) -> Locator:
    block = page.locator(f".opblock-{method.lower()}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    return block


def _execute(block: Locator, body: str) -> tuple[str, str]:
    """Fill the request body, press Execute; the live response's status and body."""
    block.locator("textarea.body-param__text").fill(body)
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table .response").first
    live.locator(".response-col_status").wait_for()
    return (
        live.locator(".response-col_status").inner_text().strip(),
        live.locator(".response-col_description pre").first.inner_text(),
    )


def _product_id(shop: Shop, products: ServiceProcess) -> str:
    response = shop.http.get(f"{products.url}{API}/products", params={"page_size": 1})
    assert response.status_code == 200, response.text
    return str(response.json()["items"][0]["id"])


def test_docs_render_offline_and_try_it_out_quotes_and_places_an_order(
    stack: Stack, shop: Shop, browser: Browser, tmp_path: Path
) -> None:
    products = stack.start_products()
    orders = stack.start_orders("http", products)
    product_id = _product_id(shop, products)

    page = browser.open(f"{products.url}/docs")
    rendered = _operations(page)
    assert {"GET /api/v1/products", "POST /api/v1/reservations"} <= set(rendered)
    page.locator(".auth-wrapper button.authorize").first.click()
    schemes = page.locator(".auth-container h4").all_inner_texts()
    assert any("UserJWT" in s for s in schemes), schemes
    assert any("ServiceToken" in s for s in schemes), schemes
    page.screenshot(path=tmp_path / "products-docs.png")
    page.close()

    for redoc in (f"{products.url}/redoc", f"{orders.url}/redoc"):
        page = browser.open(redoc)
        page.get_by_text("/api/v1/", exact=False).first.wait_for()
        page.close()

    page = browser.open(f"{orders.url}/docs")
    assert {"POST /api/v1/orders/quote", "POST /api/v1/orders"} <= set(_operations(page))
    user = f"docs-{uuid4().hex[:8]}"
    token = shop.auth(user)["Authorization"].removeprefix("Bearer ")
    _authorize(page, "UserJWT", token)
    body = f'{{"items": [{{"product_id": "{product_id}", "quantity": 2}}]}}'

    quote = _operation(page, "POST", "/api/v1/orders/quote")
    status, text = _execute(quote, body)
    assert status == "200", text
    assert product_id in text

    place = _operation(page, "POST", "/api/v1/orders")
    place.locator('tr[data-param-name="Idempotency-Key"] input').fill(f"docs-{user}")
    status, text = _execute(place, body)
    assert status == "201", text
    page.screenshot(path=tmp_path / "orders-docs.png")
    page.close()

    # The browser sent the Idempotency-Key: the same key from here is the same order.
    replay = shop.place(orders, user, {UUID(product_id): 2}, key=f"docs-{user}")
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] in text
    assert [order["id"] for order in shop.all_orders(orders, user)] == [replay.json()["id"]]
    assert browser.refused == []
