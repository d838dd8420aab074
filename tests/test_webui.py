"""The chat page of `llmrt serve` in a real headless Chromium (Debian's package, driven by
playwright) against the real server on SmolLM2: the API key prompt, a reply streamed token by
token, a stopped reply cancelled on the server, conversations kept across reloads, model
output shown as text and never as markup, and no request to any other host.

The tests share one page and run in file order. With LLMRT_WEBUI_SCREENSHOT=PATH set, the
page after the first reply is saved there as a PNG (docs/webui.png)."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
expect = sync_api.expect

from server_process import ServerProcess  # noqa: E402

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="no chromium on PATH (.ci/run installs Debian's package with apt-get)")

API_KEY = "webui-key"
TIMEOUT_MS = 60_000
MARKUP = '<img src=x onerror="window.__pwned = 1">'


@pytest.fixture(scope="module")
def server(smollm2_path):
    srv = ServerProcess(str(smollm2_path), "-c", "4096", "-np", "2", "-t", "2", "--alias", "smollm2",
                        api_key=API_KEY)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        # CI runs as root, where Chromium's sandbox refuses to start.
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def requested(browser):
    """Every request the page made."""
    return []


@pytest.fixture(scope="module")
def page(server, browser, requested):
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("request", lambda r: requested.append(r))
    page.goto(server.base + "/")
    yield page
    context.close()


def reply_text(page) -> str:
    return page.locator(".msg.assistant .body").last.inner_text()


def last_chat_body(requested) -> dict:
    return [r for r in requested if r.url.endswith("/v1/chat/completions")][-1].post_data_json


def wait_until(condition, timeout=TIMEOUT_MS / 1000) -> None:
    """Polls from Python: the page's policy forbids the string evaluation wait_for_function uses."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def idle_metrics(server, timeout=10.0) -> dict:
    """The metrics once no request is running and no cell is held (or the last read at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        m = server.metrics()
        if (m["llmrt_requests_active"] == 0 and m["llmrt_kv_cells_used"] == 0) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def set_setting(page, field_id: str, value: str) -> None:
    page.click("#toggle-settings")
    page.fill(field_id, value)
    page.click("#close-settings")


def test_api_key_prompt(page):
    dialog = page.locator("#key-dialog")
    dialog.wait_for(state="visible")
    page.fill("#key-input", "wrong")
    page.press("#key-input", "Enter")
    page.locator("#key-error").wait_for(state="visible")
    page.fill("#key-input", API_KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("#model")).to_have_text("smollm2")
    assert not dialog.is_visible()
    assert page.evaluate("JSON.parse(localStorage.getItem('llmrt.apiKey'))") == API_KEY


def test_streamed_reply_grows(page):
    page.fill("#prompt", "Tell me about the Moon.")
    page.press("#prompt", "Shift+Enter")        # a newline, not a send
    page.type("#prompt", "Keep it short.")
    assert page.locator(".msg").count() == 0
    page.press("#prompt", "Enter")
    assert page.locator(".msg.user .body").inner_text() == "Tell me about the Moon.\nKeep it short."
    lengths, busy = [], set()
    while page.locator("#stop").is_visible() or not lengths:
        lengths.append(len(reply_text(page)))
        busy.add(page.get_attribute("#messages", "aria-busy"))
        page.wait_for_timeout(20)
    lengths.append(len(reply_text(page)))
    # screen readers hear the finished reply once rather than every token
    assert "true" in busy and page.get_attribute("#messages", "aria-busy") == "false"
    grew = sorted(set(lengths))
    assert lengths == sorted(lengths), "the reply only grows while streaming"
    assert len(grew) >= 4 and grew[0] < grew[-1], f"the reply arrived in one piece: {grew}"
    assert page.locator("#send").is_enabled()
    assert "tokens/s" in page.inner_text("#speed")
    if os.environ.get("LLMRT_WEBUI_SCREENSHOT"):
        page.screenshot(path=os.environ["LLMRT_WEBUI_SCREENSHOT"])


def test_stop_cancels_the_request_on_the_server(page, server, requested):
    # Greedy SmolLM2 on a story runs on and on: it is still writing when Stop is pressed.
    set_setting(page, "#set-max-tokens", "3000")
    set_setting(page, "#set-temperature", "0")
    page.click("#new-chat")
    before = idle_metrics(server)
    page.fill("#prompt", "Write a very long story about a dragon who learns to bake bread.")
    page.press("#prompt", "Enter")
    wait_until(lambda: len(reply_text(page)) > 40)
    assert server.metrics()["llmrt_requests_active"] == 1
    page.click("#stop")
    page.locator("#stop").wait_for(state="hidden")
    stopped_at = len(reply_text(page))
    m = idle_metrics(server)
    assert m["llmrt_requests_cancelled_total"] == before["llmrt_requests_cancelled_total"] + 1
    assert m["llmrt_requests_active"] == 0 and m["llmrt_kv_cells_used"] == 0
    page.wait_for_timeout(300)
    assert len(reply_text(page)) == stopped_at, "no text arrives after Stop"
    assert page.locator("#status").is_hidden(), "stopping is not an error"
    sent = last_chat_body(requested)
    assert sent["max_tokens"] == 3000 and sent["temperature"] == 0 and sent["stream"] is True


def test_conversations_survive_a_reload(page):
    page.reload()
    expect(page.locator("#model")).to_have_text("smollm2")
    titles = page.locator("#chat-list .chat-title").all_inner_texts()
    assert len(titles) == 2 and titles[0].startswith("Write a very long story")   # newest first
    assert page.locator(".msg.user .body").inner_text().startswith("Write a very long story")
    page.locator("#chat-list .chat-title", has_text="Tell me about the Moon").click()
    assert page.locator(".msg.user .body").inner_text().startswith("Tell me about the Moon")
    assert len(reply_text(page)) > 0
    page.locator("#chat-list .delete").first.click()
    assert page.locator("#chat-list .chat-title").count() == 1
    page.reload()
    expect(page.locator("#model")).to_have_text("smollm2")
    assert page.locator("#chat-list .chat-title").all_inner_texts() == titles[1:]


def test_json_schema_setting_shapes_the_reply(page, requested):
    page.click("#new-chat")
    set_setting(page, "#set-system", "You answer with JSON.")
    set_setting(page, "#set-schema", "{not json")
    page.fill("#prompt", "How many legs does a cat have?")
    page.press("#prompt", "Enter")
    expect(page.locator("#status")).to_contain_text("not valid JSON")
    assert page.input_value("#prompt") == "How many legs does a cat have?"   # kept to send again
    assert page.locator(".msg").count() == 0
    schema = {"type": "object", "properties": {"legs": {"type": "integer", "minimum": 0, "maximum": 99}},
              "required": ["legs"], "additionalProperties": False}
    set_setting(page, "#set-schema", json.dumps(schema))
    page.press("#prompt", "Enter")
    page.locator(".msg.assistant").wait_for()
    page.locator("#stop").wait_for(state="hidden")
    reply = json.loads(reply_text(page))
    assert list(reply) == ["legs"] and isinstance(reply["legs"], int)
    assert page.locator("#status").is_hidden()
    sent = last_chat_body(requested)
    assert sent["messages"][0] == {"role": "system", "content": "You answer with JSON."}
    assert sent["response_format"]["json_schema"]["schema"] == schema
    set_setting(page, "#set-schema", "")


def test_model_output_is_text_never_markup(page):
    content = "\n".join([MARKUP, f"**bold {MARKUP}** and `{MARKUP}`", "", "```html", MARKUP, "```",
                         "", f"- item {MARKUP}", "- *second*"])
    chat = {"id": "markup", "title": "markup", "updated": 1,
            "messages": [{"role": "user", "content": MARKUP}, {"role": "assistant", "content": content}]}
    page.evaluate("""chat => {
        localStorage.setItem('llmrt.chats', JSON.stringify([chat]));
        localStorage.setItem('llmrt.current', JSON.stringify(chat.id));
    }""", chat)
    page.reload()
    expect(page.locator("#model")).to_have_text("smollm2")
    body = page.locator(".msg.assistant .body")
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert body.inner_text().count(MARKUP) == 5
    assert page.locator(".msg.user .body").inner_text() == MARKUP
    # the Markdown subset still renders around it
    assert body.locator("strong").inner_text() == f"bold {MARKUP}"
    assert body.locator("p code").inner_text() == MARKUP
    assert body.locator("pre code").inner_text() == MARKUP
    assert body.locator("ul li").count() == 2 and body.locator("li em").inner_text() == "second"


def test_narrow_screen_opens_the_conversation_list_over_the_chat(page):
    page.set_viewport_size({"width": 390, "height": 700})
    chats, toggle = page.locator("#chats"), page.locator("#toggle-chats")
    assert chats.is_hidden() and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert chats.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.id") == "new-chat"
    page.keyboard.press("Escape")
    assert chats.is_hidden() and page.evaluate("document.activeElement.id") == "toggle-chats"
    page.set_viewport_size({"width": 1000, "height": 640})
    assert chats.is_visible() and toggle.is_hidden()


def test_no_request_leaves_the_server(server, requested):
    urls = [r.url for r in requested]
    paths = {u[len(server.base):].split("?")[0] for u in urls if u.startswith(server.base + "/")}
    assert {"/", "/static/app.js", "/static/style.css", "/v1/models", "/v1/chat/completions"} <= paths
    assert [u for u in urls if not u.startswith(server.base + "/")] == []
