"""`desk config`, `desk serve` and the services `desk run` starts: no secret shown or passed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.stack import masked, services
from core.settings import ROOT, get_settings


def test_config_masks_secrets_and_passwords_inside_urls() -> None:
    assert masked("MATCHDAY_API_KEY", "abcdefghijkl") == "abcd…"
    shown = masked("DATABASE_URL", "postgresql://desk:hunter2@db.example:5432/matchday")
    assert "hunter2" not in str(shown) and "db.example" in str(shown)
    assert masked("MATCHDAY_PORT", 8000) == 8000


def test_the_services_carry_no_secret_on_their_command_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {
        "MATCHDAY_API_KEY": "api-key-0123456789abcdef0123456789",
        "MATCHDAY_RASA_TOKEN": "rasa-token-0123456789abcdef01234567",
        "MATCHDAY_ACTIONS_SECRET": "actions-secret-0123456789abcdef0123",
        "MATCHDAY_MEDIA_SECRET": "media-secret-0123456789abcdef012345",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        started = services()
    finally:
        get_settings.cache_clear()
    for service in started:
        for value in values.values():
            assert value not in " ".join(service.argv), service.name
            assert value not in service.ready_url, service.name
    by_name = {s.name: s for s in started}
    assert (
        by_name["action server"].env["MATCHDAY_ACTIONS_SECRET"] == values["MATCHDAY_ACTIONS_SECRET"]
    )
    assert by_name["rasa server"].env["MATCHDAY_RASA_TOKEN"] == values["MATCHDAY_RASA_TOKEN"]


def test_the_gateway_refuses_to_start_with_an_empty_secret() -> None:
    empty = "MATCHDAY_ACTIONS_SECRET"  # each secret is checked alike (Settings.missing_secrets)
    env = {
        **os.environ,
        "MATCHDAY_API_KEY": "api-key-0123456789abcdef0123456789",
        "MATCHDAY_RASA_TOKEN": "rasa-token-0123456789abcdef01234567",
        "MATCHDAY_ACTIONS_SECRET": "actions-secret-0123456789abcdef0123",
        "MATCHDAY_MEDIA_SECRET": "media-secret-0123456789abcdef012345",
        empty: "",
        "MATCHDAY_PORT": "1",  # never reached: it must stop before binding
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert empty in result.stderr


def test_the_action_server_and_rasa_launchers_refuse_an_empty_secret() -> None:
    env = {**os.environ, "MATCHDAY_ACTIONS_SECRET": "", "MATCHDAY_RASA_TOKEN": ""}
    actions = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert actions.returncode != 0 and "MATCHDAY_ACTIONS_SECRET is empty" in actions.stderr
    rasa = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "components.server"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rasa.returncode != 0 and "MATCHDAY_RASA_TOKEN is not set" in rasa.stderr


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The secrets `desk prepare` generates, as a fresh clone has no .env."""
    monkeypatch.setenv("MATCHDAY_RASA_TOKEN", "rasa-token-0123456789abcdef01234567")
    monkeypatch.setenv("MATCHDAY_ACTIONS_SECRET", "actions-secret-0123456789abcdef0123")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("secrets")
def test_the_services_share_the_runs_metrics_directory(tmp_path: Path) -> None:
    started = services(tmp_path / "run")
    assert {s.env["PROMETHEUS_MULTIPROC_DIR"] for s in started} == {str(tmp_path / "run")}


@pytest.mark.usefixtures("secrets")
def test_each_service_runs_its_numeric_libraries_on_one_thread(tmp_path: Path) -> None:
    for service in services(tmp_path / "run"):
        assert service.env["OMP_NUM_THREADS"] == "1", service.name
        assert service.env["OPENBLAS_NUM_THREADS"] == "1", service.name
