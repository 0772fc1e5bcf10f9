"""Simulated fans who type (bench/fans.py), a small fixed subset: every goal in both
languages, an agent online. Each task must be done, as read from the engine, and no fan
who did not ask for a person may be handed to one."""

from __future__ import annotations

import asyncio

from bench.fans import GOALS, TEMPLATES, Desk, Templates, agent_online, make_goals, run_all
from tests.e2e.conftest import Stack

FANS_PER_GOAL_AND_LANGUAGE = 1
SEED = 17


def test_fans_who_type_get_what_they_came_for(stack: Stack) -> None:
    desk = Desk(stack.base_url, stack.api_key, stack.env)
    templates = Templates(TEMPLATES / "templates_dev.yml")
    count = len(GOALS) * 2 * FANS_PER_GOAL_AND_LANGUAGE
    goals = make_goals(count, ["en", "zh"], desk.fixtures(), SEED)
    assert sorted({(g.kind, g.language) for g in goals}) == sorted(
        (kind, language) for kind in GOALS for language in ("en", "zh")
    )
    with agent_online(desk):
        results = asyncio.run(run_all(desk, goals, templates, 2, "e2e"))
    failed = [
        "\n".join([f"{r.goal.kind}/{r.goal.language}:", *(f"  {w}: {t}" for w, t in r.transcript)])
        for r in results
        if not r.done
    ]
    assert not failed, "\n".join(failed)
    needless = [r.conversation for r in results if r.escalated and r.goal.kind != "human"]
    assert not needless
    assert all(r.escalated for r in results if r.goal.kind == "human")
