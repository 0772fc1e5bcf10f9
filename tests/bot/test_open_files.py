"""The gateway lifts its soft limit on open files to the hard limit before it listens."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bot.cli import stack
from bot.open_files import raise_open_files_limit
from core.settings import ROOT, get_settings

LOW = 256


def _low_soft_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (LOW, hard))


@pytest.fixture
def low_soft_limit() -> Iterator[int]:
    """This process's soft limit lowered (as a login shell's 1024 would be), with room
    left above the files it has open; yields the hard limit and puts the limits back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = len(os.listdir("/proc/self/fd")) + LOW
    if hard != resource.RLIM_INFINITY and hard <= low:
        pytest.skip(f"the hard limit on open files ({hard}) is not above {low}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
    try:
        yield hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_low_soft_limit_is_raised_to_the_hard_limit() -> None:
    code = (
        "import resource; from bot.open_files import raise_open_files_limit; "
        "print(*raise_open_files_limit(), *resource.getrlimit(resource.RLIMIT_NOFILE))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        preexec_fn=_low_soft_limit,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    old, new, soft, hard = (int(n) for n in result.stdout.split())
    assert (old, new) == (LOW, hard)
    assert soft == hard == resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def test_a_soft_limit_already_at_the_hard_limit_is_left_alone() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        assert raise_open_files_limit() == (hard, hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_desk_serve_raises_the_limit_before_uvicorn_starts(
    monkeypatch: pytest.MonkeyPatch, low_soft_limit: int
) -> None:
    for name in (
        "MATCHDAY_API_KEY",
        "MATCHDAY_RASA_TOKEN",
        "MATCHDAY_ACTIONS_SECRET",
        "MATCHDAY_MEDIA_SECRET",
    ):
        monkeypatch.setenv(name, f"{name.lower()}-0123456789abcdef0123456789")
    seen: list[tuple[int, int]] = []

    def run(*args: Any, **kwargs: Any) -> None:
        seen.append(resource.getrlimit(resource.RLIMIT_NOFILE))

    monkeypatch.setattr("uvicorn.run", run)
    get_settings.cache_clear()
    try:
        stack.serve()
    finally:
        get_settings.cache_clear()
    assert seen == [(low_soft_limit, low_soft_limit)]
