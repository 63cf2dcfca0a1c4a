"""The kiosk page in a real headless Chromium (Debian's, driven by Playwright), from a tap to a
review on the topic: the gateway process and the broker are real.

Chromium comes from Debian (`apt-get install -y chromium`); the fixture installs it when it is
missing and we are root. Playwright's own browser download is never used."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import orjson
import pytest

from tests.support.gateway_harness import GatewayProcess, read_topic
from apps.gateway.registry import register_terminal
from schemas.topics import REVIEWS_SUBMITTED

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KIOSK, HALL, WINDOW = "KIOSK-CY-03", "H-CY", "H-CY-W03"
SHOTS = Path(os.environ.get("HAOCHA_KIOSK_SCREENSHOTS", "")) if os.environ.get("HAOCHA_KIOSK_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], check=False, capture_output=True, timeout=900)
        if not Path(CHROMIUM).exists():
            pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (never `playwright install`)")
    return CHROMIUM


def _shot(page, name: str) -> None:
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_kiosk_tap_to_review_on_the_topic(make_settings, chromium):
    from playwright.sync_api import sync_playwright

    settings = make_settings(secret_key=f"kiosk-{uuid.uuid4().hex[:6]}")
    asyncio.run(register_terminal(settings, KIOSK, HALL, WINDOW, channel="kiosk"))
    # Playwright's sync API runs its own loop in this thread: Kafka work stays outside this block.
    with GatewayProcess(settings.model_copy(update=dict(gateway_kiosk_thanks_seconds=2))) as gp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        ctx = browser.new_context(has_touch=True, viewport={"width": 1080, "height": 1600}, locale="zh-CN")
        page = ctx.new_page()
        page.goto(f"{gp.url}/kiosk/{KIOSK}/")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("#start.active")
        labels = page.locator(".rating .label").all_inner_texts()
        assert labels == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
        # Large touch targets.
        assert all(page.locator(".rating").nth(i).bounding_box()["height"] >= 96 for i in range(5))
        assert "hck_" not in page.content()  # the kiosk's key never reaches the page
        _shot(page, "1-start")

        # A bad review: 不满意, two reasons, a phone number for the return visit.
        page.locator(".rating[data-rating='2']").tap()
        page.wait_for_selector("#detail.active")
        assert page.locator("#reasons-block").is_visible()
        assert page.locator(".reason").all_inner_texts() == ["态度差", "效率低", "多次跑", "材料要求不合理", "等候时间长", "其他"]
        page.locator(".reason[data-reason='效率低']").tap()
        page.locator(".reason[data-reason='等候时间长']").tap()
        for digit in "13800138000":
            page.locator(f".key[data-key='{digit}']").tap()
        assert page.locator("#phone").inner_text() == "13800138000"
        _shot(page, "2-detail")
        page.locator("#submit").tap()
        page.wait_for_selector("#thanks.active")
        _shot(page, "3-thanks")
        page.wait_for_selector("#start.active", timeout=15000)  # the thank-you screen returns to the start

        # A good review, submit pressed twice in a row: one review (the repeat-press rule).
        page.locator(".rating[data-rating='5']").tap()
        page.wait_for_selector("#detail.active")
        assert not page.locator("#reasons-block").is_visible()  # reasons only for 不满意/非常不满意
        page.locator("#submit").dblclick()
        page.wait_for_selector("#thanks.active")
        ctx.close()
        browser.close()

    msgs = asyncio.run(read_topic(settings, REVIEWS_SUBMITTED.name))
    reviews = [orjson.loads(m.value) for m in msgs]
    assert len(reviews) == 2, reviews
    bad, good = sorted(reviews, key=lambda r: r["rating"])
    assert (bad["terminal_id"], bad["hall_id"], bad["window_id"], bad["channel"]) == (KIOSK, HALL, WINDOW, "kiosk")
    assert bad["rating"] == 2 and bad["reasons"] == ["效率低", "等候时间长"]
    assert bad["evaluator"] == {"real_name": True, "phone": "13800138000"}
    assert bad["happened_at"] and bad["received_at"]
    assert good["rating"] == 5 and good["reasons"] == [] and good["evaluator"]["phone"] is None
