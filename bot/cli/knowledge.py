"""`desk knowledge ...`: build, calibrate, query, validate and export the FAQ knowledge base."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from core.settings import get_settings
from knowledge.calibration import (
    HELD_OUT_FOLDS,
    TARGET_REJECTION,
    held_out_wordings,
    load_labelled,
    score_queries,
    summary,
)
from knowledge.calibration import calibrate as choose_thresholds
from knowledge.config import DEFAULT_CONFIG, KnowledgeConfig, load_config
from knowledge.corpus import CorpusError, export_entries, load_corpus, load_entries_data
from knowledge.encoders import EncoderUnavailable, load_encoder
from knowledge.index import (
    FaqIndex,
    IndexMismatch,
    IndexNotFound,
    entry_vectors_texts,
    read_manifest,
)
from knowledge.retriever import Retriever
from knowledge.thresholds import Thresholds, load_thresholds

app = typer.Typer(help="FAQ knowledge base and its retriever.", no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", help="knowledge config file")]


def _load(config: Path, **overrides: Any) -> KnowledgeConfig:
    """The knowledge settings; the desk's own config file follows MATCHDAY_FAQ_DIR."""
    if config == DEFAULT_CONFIG:
        overrides.setdefault("index_dir", get_settings().faq_dir)
    return load_config(config, **overrides)


def _fail(error: Exception) -> typer.Exit:
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@app.command("validate")
def validate(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Check every corpus file; errors name the file and the field."""
    try:
        corpus = load_corpus(load_config(config).corpus)
    except CorpusError as error:
        raise _fail(error) from None
    by_category: dict[str, int] = {}
    for entry in corpus.entries:
        by_category[entry.category] = by_category.get(entry.category, 0) + 1
    for category, count in sorted(by_category.items()):
        typer.echo(f"{category:32} {count:4}")
    typer.echo(f"{len(corpus.entries)} entries valid, fingerprint {corpus.fingerprint}")


@app.command("build")
def build(
    encoder: Annotated[str | None, typer.Option(help="encoder name (default: config)")] = None,
    keep_published: Annotated[
        bool, typer.Option(help="keep entries published from the database in the new index")
    ] = True,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Encode the corpus (and published entries) into a new index under models/faq/."""
    settings = _load(config, encoder=encoder)
    try:
        corpus = load_corpus(settings.corpus)
        model = load_encoder(settings.encoder, **settings.encoder_options)
    except (CorpusError, EncoderUnavailable) as error:
        raise _fail(error) from None
    entries = list(corpus.entries)
    if keep_published:
        try:
            previous = FaqIndex.load(settings.index, model)
            shipped = {entry.id for entry in entries}
            entries += [
                e for e in previous.entries.values() if e.source == "db" and e.id not in shipped
            ]
        except (IndexNotFound, IndexMismatch):
            pass
    total = sum(len(entry_vectors_texts(entry)) for entry in entries)
    started = time.perf_counter()
    with typer.progressbar(length=total, label=f"encoding with {model.name}") as bar:
        index = FaqIndex.build(
            entries,
            model,
            kind=settings.index_kind,
            corpus_fingerprint=corpus.fingerprint,
            progress=bar.update,
        )
    manifest = index.save(settings.index)
    typer.echo(
        f"{manifest.entries} entries, {manifest.vectors} vectors ({manifest.kind}, "
        f"{manifest.dim}-dim) in {time.perf_counter() - started:.1f}s -> {settings.index}"
    )


@app.command("calibrate")
def calibrate(
    target_rejection: Annotated[
        float, typer.Option(help="share of calibration negatives that must abstain")
    ] = TARGET_REJECTION,
    held_out_folds: Annotated[
        int,
        typer.Option(
            help="folds of held-out corpus wordings standing for unseen answerable questions "
            "(an index is built per fold); 0: use the calibration half's answerable queries"
        ),
    ] = HELD_OUT_FOLDS,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Choose thresholds on the calibration half of the labelled set (and the files of
    `calibration_paths`); writes thresholds.yml.

    `suggest` comes from the calibration negatives; `answer` and `margin` from corpus
    wordings held out of the index (the calibration half's answerable queries guided the
    corpus, so they are no longer unseen), unless `--held-out-folds 0`.
    """
    settings = _load(config)
    try:
        queries = load_labelled(settings.labels, split="calibration")
        for extra in settings.calibration_files:  # written for calibration: used whole
            queries.extend(load_labelled(extra, whole="calibration"))
        manifest_encoder = load_encoder(
            read_manifest(settings.index).encoder, **settings.encoder_options
        )
        base = load_thresholds(settings.thresholds)
        retriever = Retriever(
            FaqIndex.load(settings.index, manifest_encoder),
            Thresholds(fusion=base.fusion),
            settings,
        )
    except (CorpusError, IndexNotFound, IndexMismatch, EncoderUnavailable) as error:
        raise _fail(error) from None
    scored = score_queries(retriever, queries)
    held_out = (
        held_out_wordings(
            [e for e in retriever.index.entries.values() if e.source == "file"],
            manifest_encoder,
            base.fusion,
            settings,
            folds=held_out_folds,
        )
        if held_out_folds > 0
        else []
    )
    chosen = choose_thresholds(
        scored, manifest_encoder.name, base, target_rejection, held_out=held_out
    )
    chosen.save(settings.thresholds)
    typer.echo(
        f"answer >= {chosen.answer} (margin {chosen.margin}), suggest >= {chosen.suggest}, "
        f"abstain when P(out of scope) > {chosen.out_of_scope} below score "
        f"{chosen.out_of_scope_unless} -> {settings.thresholds}"
    )
    typer.echo(json.dumps(summary(scored, chosen), indent=2))


@app.command("ask")
def ask(
    text: Annotated[str, typer.Argument(help="the fan's question")],
    language: Annotated[str | None, typer.Option(help="en or zh (default: detected)")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Ask the retriever: prints the decision and the top 3 entries with their scores."""
    if language not in (None, "en", "zh"):
        raise _fail(ValueError("--language must be en or zh"))
    try:
        retriever = Retriever.open(_load(config))
    except (IndexNotFound, IndexMismatch, EncoderUnavailable, CorpusError) as error:
        raise _fail(error) from None
    started = time.perf_counter()
    answer = retriever.search(text, language)  # type: ignore[arg-type]
    elapsed = (time.perf_counter() - started) * 1000
    typer.echo(f"decision: {answer.decision} ({answer.reason}), language {answer.language}")
    typer.echo(f"  {elapsed:.1f} ms")
    for rank, candidate in enumerate(answer.candidates, start=1):
        typer.echo(
            f"  {rank}. {candidate.score:.3f}  {candidate.entry_id}  [{candidate.topic}]  "
            f"{candidate.question}"
        )
    if answer.text:
        typer.echo(f"\n{answer.text}")
    if answer.note:
        typer.echo(f"({answer.note})")


@app.command("export")
def export(
    source: Annotated[Path, typer.Argument(help="JSON or YAML list of published entries")],
    out: Annotated[Path, typer.Option("--out", help="folder to write <category>/<id>.yml into")],
) -> None:
    """Write published (database) entries as corpus files for review."""
    try:
        entries = load_entries_data(source)
    except CorpusError as error:
        raise _fail(error) from None
    for path in export_entries(entries, out):
        typer.echo(str(path))
    typer.echo(f"{len(entries)} entries written to {out}")
