"""`desk rasa ...`: train, validate and test the Rasa assistant."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import typer
import yaml

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
from bot.rasa.evaluation import THRESHOLDS, entity_f1, intent_scores, threshold_failures
from core.settings import ROOT, get_settings

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
    """Responses that custom actions or the gateway use by name (Rasa cannot see them)."""
    used: set[str] = set()
    for path in [*(ROOT / "actions").rglob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        used.update(re.findall(r"[\"'](utter_[a-z0-9_]+)[\"']", path.read_text(encoding="utf-8")))
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for form in (domain.get("forms") or {}).values():  # forms ask with utter_ask_<slot>
        used.update(f"utter_ask_{slot}" for slot in form.get("required_slots") or [])
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


RESULTS_DIR = ROOT / "results" / "nlu"


@app.command("evaluate")
def evaluate(
    heldout: Path = typer.Option(ROOT / "tests" / "rasa" / "nlu_heldout.yml"),
    out: Path = typer.Option(RESULTS_DIR),
    enforce: bool = typer.Option(True, help="Fail when a score is below its threshold."),
    report_only: list[str] = typer.Option(
        [], "--report-only", help="A threshold (en, zh, entity) to report but not enforce."
    ),
) -> None:
    """Score the trained model on the held-out NLU split (written apart from training data)."""
    unknown = set(report_only) - set(THRESHOLDS)
    if unknown:
        typer.secho(f"--report-only takes {', '.join(THRESHOLDS)}", fg="red", err=True)
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    code = _rasa(
        "test", "nlu", "--nlu", str(heldout), "--model", str(MODEL_FILE), "--out", str(out),
        "--successes", "--no-plot",
    )  # fmt: skip
    if code != 0:
        raise typer.Exit(code)
    scores = intent_scores(out)
    entities = entity_f1(out)
    summary = {
        "intent": {lang: vars(score) for lang, score in scores.items()},
        "entity_f1": round(entities, 4),
        "thresholds": THRESHOLDS,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for language in ("en", "zh"):
        score = scores.get(language)
        f1 = score.macro_f1 if score else 0.0
        typer.echo(f"intent macro-F1 {language}: {f1:.3f} (threshold {THRESHOLDS[language]})")
    typer.echo(f"entity F1: {entities:.3f} (threshold {THRESHOLDS['entity']})")
    failures = threshold_failures(scores, entities, report_only=frozenset(report_only))
    if report_only:
        typer.echo(f"reported, not enforced: {', '.join(sorted(report_only))}")
    if failures and enforce:
        typer.secho("; ".join(failures), fg="red", err=True)
        raise typer.Exit(1)


@app.command("test-stories")
def test_stories(
    stories: Path = typer.Option(ROOT / "tests" / "rasa" / "stories"),
    out: Path = typer.Option(ROOT / "results" / "stories"),
    e2e: bool = typer.Option(False, help="Also classify each fan message with the NLU."),
) -> None:
    """Run the held-out test stories; any wrong prediction fails."""
    out.mkdir(parents=True, exist_ok=True)
    code = _rasa(
        "test", "core", "--stories", str(stories), "--model", str(MODEL_FILE),
        "--out", str(out), "--fail-on-prediction-errors", "--no-plot",
        *(["--e2e"] if e2e else []),
    )  # fmt: skip
    failed = out / "failed_test_stories.yml"
    if code != 0 and failed.exists():
        typer.echo(failed.read_text(encoding="utf-8")[-4000:])
    raise typer.Exit(code)


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context) -> None:
    """Run any `rasa` command in the desk's Rasa environment (`desk rasa exec -- test`)."""
    raise typer.Exit(_rasa(*ctx.args))
