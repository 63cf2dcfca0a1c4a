"""The kiosk page in a real headless Chromium (Debian's, driven by Playwright), from its pairing
and a tap to a review on the topic, and to its revocation: the gateway process and the broker are
real. Screenshots go to $HAOCHA_KIOSK_SCREENSHOTS when it is set.

Chromium comes from Debian (`apt-get install -y chromium`); the fixture installs it when it is
missing and we are root. Playwright's own browser download is never used."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import pytest

from tests.support.gateway_harness import GatewayProcess, read_topic
from apps.gateway.pairing import issue_pairing_code
from apps.gateway.registry import register_terminal, revoke_terminal
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


def test_kiosk_pairing_tap_to_review_on_the_topic_and_revocation(make_settings, chromium):
    from playwright.sync_api import sync_playwright

    settings = make_settings(secret_key=f"kiosk-{uuid.uuid4().hex[:6]}")
    asyncio.run(register_terminal(settings, KIOSK, HALL, WINDOW, channel="kiosk"))
    # Playwright's sync API runs its own loop in this thread: Kafka work stays outside this block
    # (the pairing code and the revocation run in a helper thread).
    with GatewayProcess(settings.model_copy(update=dict(gateway_kiosk_thanks_seconds=2))) as gp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        ctx = browser.new_context(has_touch=True, viewport={"width": 1080, "height": 1600}, locale="zh-CN")
        page = ctx.new_page()
        # Unpaired: the page asks for a pairing code, and a post from it is refused.
        page.goto(f"{gp.url}/kiosk/{KIOSK}/")
        page.wait_for_selector("#pairing.active")
        assert "尚未启用" in page.locator("#pairing").inner_text()
        _shot(page, "0-pairing")
        refused = page.evaluate("""() => fetch('reviews', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                    body: JSON.stringify({rating: 5})}).then(r => r.status)""")
        assert refused == 401
        code = _in_thread(lambda: asyncio.run(issue_pairing_code(settings, KIOSK)))[1]
        time.sleep(1.5)  # the gateway tails the registry every half second
        for digit in "00000000":  # a wrong code first: a Chinese message, still the pairing screen
            page.locator(f"#code-keypad .key[data-key='{digit}']").tap()
        page.locator("#pair").tap()
        page.wait_for_function("document.querySelector('#pair-message').textContent.length > 0")
        if code != "00000000":
            assert page.locator("#pair-message").inner_text() == "配对码无效或已过期，请联系管理员重新获取"
            for digit in code:
                page.locator(f"#code-keypad .key[data-key='{digit}']").tap()
            page.locator("#pair").tap()
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_selector("#start.active")
        assert "haocha_kiosk" not in page.evaluate("document.cookie")  # HttpOnly: no script reads it
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
        page.locator("#submit").tap()  # no reason chosen yet: asked for one, nothing sent
        assert page.locator("#message").inner_text() == "请至少选择一项不满意的原因"
        page.locator(".reason[data-reason='效率低']").tap()
        page.locator(".reason[data-reason='等候时间长']").tap()
        chosen = page.locator(".reason[aria-pressed='true']")
        assert chosen.all_inner_texts() == ["✓效率低", "✓等候时间长"]
        assert page.locator(".reason[aria-pressed='false']").count() == 4
        for i, digit in enumerate("13800138000"):
            page.locator(f"#keypad .key[data-key='{digit}']").tap()
            if i == 5:  # masked as typed: the middle digits never appear
                assert page.locator("#phone").inner_text() == "138***"
        assert page.locator("#phone").inner_text() == "138****8000"
        assert "13800138000" not in page.locator("body").inner_text()
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
        page.wait_for_selector("#start.active", timeout=15000)

        # Revoked while in use: the next post says so in Chinese, and so does a reload (no JSON).
        _in_thread(lambda: asyncio.run(revoke_terminal(settings, KIOSK)))
        time.sleep(1.5)
        page.locator(".rating[data-rating='4']").tap()
        page.locator("#submit").tap()
        page.wait_for_selector("#notice.active")
        assert page.locator("#notice-title").inner_text() == "本终端暂停使用，请联系工作人员"
        page.reload()
        page.wait_for_selector("#notice.active")
        assert page.locator("#notice-title").inner_text() == "本终端暂停使用，请联系工作人员"
        text = page.locator("body").inner_text()
        assert "{" not in text and not any("a" <= ch.lower() <= "z" for ch in text), text
        _shot(page, "4-revoked")
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


def _in_thread(fn):
    """Run asyncio work outside Playwright's loop (which owns this thread)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result(120)
