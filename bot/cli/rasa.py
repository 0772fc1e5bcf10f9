"""`desk rasa ...`: train, validate and test the Rasa assistant."""

from __future__ import annotations

import re
import subprocess
import time

import typer

from bot.rasa.environment import (
    FINGERPRINT_FILE,
    MODEL_DIR,
    MODEL_FILE,
    MODEL_NAME,
    RASA_BIN,
    model_is_current,
    rasa_env,
    training_fingerprint,
)
from bot.settings import ROOT, get_settings

app = typer.Typer(help="The Rasa NLU and dialogue model.", no_args_is_help=True)


def _rasa(*args: str) -> int:
    if not RASA_BIN.exists():
        typer.secho("Rasa is not installed: run `make setup` first.", fg="red", err=True)
        raise typer.Exit(2)
    return subprocess.call([str(RASA_BIN), *args], cwd=ROOT, env=rasa_env(get_settings()))


@app.command("train")
def train(force: bool = typer.Option(False, help="Train even if nothing changed.")) -> None:
    """Train the model unless data/, config.yml and domain.yml are unchanged."""
    if not force and model_is_current():
        typer.echo(f"Rasa model is current: {MODEL_FILE.relative_to(ROOT)}")
        return
    fingerprint = training_fingerprint()
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    typer.echo("training the Rasa model (a few minutes the first time) ...")
    code = _rasa("train", "--fixed-model-name", MODEL_NAME, "--out", str(MODEL_DIR), "--quiet")
    if code != 0 or not MODEL_FILE.exists():
        typer.secho("Rasa training failed (see the output above).", fg="red", err=True)
        raise typer.Exit(code or 1)
    FINGERPRINT_FILE.write_text(fingerprint + "\n")
    typer.echo(f"trained in {time.monotonic() - started:.0f} s: {MODEL_FILE.relative_to(ROOT)}")


def _responses_used_by_actions() -> set[str]:
    """Responses that custom actions utter by name (Rasa's validator cannot see them)."""
    used: set[str] = set()
    for path in (ROOT / "actions").rglob("*.py"):
        used.update(re.findall(r"[\"'](utter_[a-z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    return used


@app.command("validate")
def validate() -> None:
    """Check domain, stories, rules and NLU data; any warning fails the check.

    The one exception: "utterance not used in any story" for responses that a
    custom action utters by name.
    """
    if not RASA_BIN.exists():
        typer.secho("Rasa is not installed: run `make setup` first.", fg="red", err=True)
        raise typer.Exit(2)
    result = subprocess.run(
        [str(RASA_BIN), "data", "validate"],
        cwd=ROOT,
        env=rasa_env(get_settings()),
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    allowed = _responses_used_by_actions()
    problems = []
    for line in output.splitlines():
        if "UserWarning:" not in line and "ERROR" not in line:
            continue
        unused = re.search(r"The utterance '(utter_[a-z0-9_]+)' is not used", line)
        if unused and unused.group(1) in allowed:
            continue
        problems.append(line.split("UserWarning:", 1)[-1].strip())
    if result.returncode != 0 or problems:
        typer.echo(output[-4000:] if result.returncode != 0 else "")
        for problem in problems:
            typer.secho(f"  {problem}", fg="red", err=True)
        typer.secho("rasa data validate found problems", fg="red", err=True)
        raise typer.Exit(1)
    typer.echo("rasa data validate: no problems")


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context) -> None:
    """Run any `rasa` command in the desk's Rasa environment (`desk rasa exec -- test`)."""
    raise typer.Exit(_rasa(*ctx.args))
