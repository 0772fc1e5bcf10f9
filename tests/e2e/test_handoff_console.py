"""A fan asks for a person; an agent signs in to the console in Debian's Chromium,
claims, replies; the fan gets the reply; the agent hands back and the bot answers.

Runs against the whole desk (real Rasa, action server, gateway). Screenshots of the
console are saved in test-artifacts/.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from core.settings import ROOT
from tests.e2e.conftest import Stack

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "e2e console password"


def create_user(stack: Stack, username: str, role: str) -> None:
    subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "desk"),
            "users",
            "create",
            "--username",
            username,
            "--role",
            role,
            "--name",
            username.split("-")[0].capitalize(),
        ],
        input=PASSWORD + "\n",
        env=stack.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "install Debian's chromium (scripts/system-packages.sh)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_fan_agent_console_round_trip(stack: Stack, browser: Browser) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    suffix = uuid.uuid4().hex[:6]
    supervisor, agent = f"sue-{suffix}", f"alice-{suffix}"
    create_user(stack, supervisor, "supervisor")
    create_user(stack, agent, "agent")
    # A supervisor is signed in, so agents are online when the fan asks.
    signed_in = httpx.post(
        f"{stack.base_url}/api/v1/agent/session",
        json={"username": supervisor, "password": PASSWORD},
    )
    assert signed_in.status_code == 200

    fan, zh_fan = f"e2e-fan-{suffix}", f"e2e-zh-{suffix}"
    assert stack.say(fan, "hi")["status"] == "bot"
    asked = stack.say(fan, "can I talk to a person please")
    assert asked["status"] == "queued", asked
    assert stack.say(zh_fan, "我要转人工")["status"] == "queued"
    stack.say(fan, "it is about my refund")

    page = browser.new_page(viewport={"width": 1400, "height": 820})
    page.goto(f"{stack.base_url}/console/desk")
    assert "Please sign in" in page.content()  # 401 page, then back to the sign-in form
    page.goto(f"{stack.base_url}/console/")
    page.fill("#username", agent)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/console/desk")
    page.wait_for_selector("#live.online")
    page.wait_for_selector(f"tr[data-conversation='{zh_fan}']")
    page.screenshot(path=str(ARTIFACTS / "console-queue.png"))

    page.click(f"tr[data-conversation='{fan}'] button.claim")
    page.wait_for_selector("#conv-status.with_agent")
    page.wait_for_selector("#transcript li.fan >> text=it is about my refund")
    page.fill("#reply-text", "Hi, this is Alice from the ticket office. Let me check your refund.")
    page.click("#send")
    page.wait_for_selector("#transcript li.agent")
    stack.say(fan, "thank you!")  # reaches the agent live, not the bot
    page.wait_for_selector("#transcript li.fan >> text=thank you!")
    page.screenshot(path=str(ARTIFACTS / "console-conversation.png"))

    history = httpx.get(
        f"{stack.base_url}/api/v1/conversations/{fan}/messages", headers=stack.headers
    ).json()
    senders = [(m["sender"], m["text"]) for m in history["messages"]]
    assert (
        "agent",
        "Hi, this is Alice from the ticket office. Let me check your refund.",
    ) in senders
    assert ("bot",) not in [(s,) for s, t in senders[senders.index(("fan", "thank you!")) :]]

    page.click("#handback")
    page.wait_for_selector("#conv-status.bot")
    back = stack.say(fan, "hi")
    assert back["status"] == "bot"
    assert back["replies"] and back["replies"][0]["sender"] == "bot"

    page.click(f"tr[data-conversation='{zh_fan}'] button.claim")
    page.wait_for_selector("#conv-status.with_agent")
    page.select_option("#canned", "greeting")
    page.click("#send")
    page.wait_for_selector("#transcript li.agent >> text=感谢耐心等待")
    page.screenshot(path=str(ARTIFACTS / "console-chinese.png"))
    assert (ARTIFACTS / "console-chinese.png").stat().st_size > 10_000
    zh_history = httpx.get(
        f"{stack.base_url}/api/v1/conversations/{zh_fan}/messages", headers=stack.headers
    ).json()
    assert zh_history["messages"][-1]["text"].startswith("你好，感谢耐心等待")
    page.close()


def test_console_pages_need_a_session(stack: Stack) -> None:
    assert httpx.get(f"{stack.base_url}/console/").status_code == 200
    assert httpx.get(f"{stack.base_url}/console/desk").status_code == 401
    assert (
        httpx.get(f"{stack.base_url}/api/v1/agent/queue", headers=stack.headers).status_code == 403
    )
