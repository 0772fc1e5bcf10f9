"""The FAQ corpus: entries, their validation and the corpus fingerprint.

Shipped entries live as one YAML file each under `knowledge/corpus/<category>/<id>.yml`
and must be complete (both languages, at least 3 paraphrases per language, owner,
review date). Entries published through the agent API come from the database and
may carry one language only; they use the same `Entry` shape with `source="db"`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from knowledge.language import LANGUAGES, Language
from knowledge.topics import TOPICS, Topic

CATEGORIES: Final[tuple[str, ...]] = (
    "tickets-prices",
    "seats-views",
    "buying-payment",
    "delivery-etickets",
    "refunds-exchanges-transfers",
    "entry-security",
    "accessibility-concessions",
    "accounts-memberships-resale",
)
MIN_PARAPHRASES: Final = 3
# The usual category of each topic, for published entries that arrive without one.
TOPIC_CATEGORIES: Final[dict[str, str]] = {
    "ticket_prices_categories": "tickets-prices",
    "seats_sections_views": "seats-views",
    "match_availability": "buying-payment",
    "buy_tickets": "buying-payment",
    "payment": "buying-payment",
    "ticket_delivery": "delivery-etickets",
    "order_status": "delivery-etickets",
    "refund": "refunds-exchanges-transfers",
    "exchange_transfer": "refunds-exchanges-transfers",
    "stadium_entry": "entry-security",
    "accessibility": "accessibility-concessions",
    "children_concessions": "accessibility-concessions",
    "season_tickets": "tickets-prices",
    "ballot": "tickets-prices",
    "away_tickets": "tickets-prices",
    "other_events": "tickets-prices",
    "lost_ticket": "delivery-etickets",
    "rescheduled_match": "refunds-exchanges-transfers",
}
DEFAULT_CATEGORY: Final = "accounts-memberships-resale"


def category_for_topic(topic: str) -> str:
    """The corpus category a topic usually belongs to (accounts & other for the rest)."""
    return TOPIC_CATEGORIES.get(topic, DEFAULT_CATEGORY)


Source = Literal["file", "db"]


class CorpusError(ValueError):
    """A corpus file or published entry is invalid; names the file (or entry) and field."""

    def __init__(self, where: str, field_name: str, message: str) -> None:
        super().__init__(f"{where}: {field_name}: {message}")
        self.where = where
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Entry:
    """One FAQ entry: a question, its paraphrases and the answer, per language."""

    id: str
    category: str
    topic: Topic
    question: Mapping[Language, str]
    answer: Mapping[Language, str]
    paraphrases: Mapping[Language, tuple[str, ...]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    owner: str = "agents"
    last_reviewed: dt.date | None = None
    source: Source = "file"

    @property
    def languages(self) -> tuple[Language, ...]:
        """The languages this entry can answer in."""
        return tuple(lang for lang in LANGUAGES if self.answer.get(lang))

    def texts(self) -> list[tuple[Language, str]]:
        """Every question and paraphrase of the entry, with its language."""
        out: list[tuple[Language, str]] = []
        for lang in LANGUAGES:
            if self.question.get(lang):
                out.append((lang, self.question[lang]))
            out.extend((lang, text) for text in self.paraphrases.get(lang, ()))
        return out

    def to_mapping(self) -> dict[str, Any]:
        """The entry as plain data, in the YAML file layout (for export and storage)."""
        data: dict[str, Any] = {
            "id": self.id,
            "category": self.category,
            "topic": self.topic,
            "question": {lang: self.question[lang] for lang in LANGUAGES if lang in self.question},
            "paraphrases": {
                lang: list(self.paraphrases[lang]) for lang in LANGUAGES if lang in self.paraphrases
            },
            "answer": {lang: self.answer[lang] for lang in LANGUAGES if lang in self.answer},
            "tags": list(self.tags),
            "owner": self.owner,
        }
        if self.last_reviewed is not None:
            data["last_reviewed"] = self.last_reviewed.isoformat()
        return data

    def digest(self) -> str:
        """A stable hash of the entry's content (the source is not part of it)."""
        blob = json.dumps(self.to_mapping(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _Texts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str | None = None
    zh: str | None = None

    @field_validator("en", "zh")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value.strip() if value is not None else None


class _Paraphrases(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: list[str] = Field(default_factory=list)
    zh: list[str] = Field(default_factory=list)

    @field_validator("en", "zh")
    @classmethod
    def _no_blank_items(cls, value: list[str]) -> list[str]:
        if any(not str(item).strip() for item in value):
            raise ValueError("paraphrases must not be blank")
        return [str(item).strip() for item in value]


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,80}$")
    category: str
    topic: str
    question: _Texts
    paraphrases: _Paraphrases = Field(default_factory=_Paraphrases)
    answer: _Texts
    tags: list[str] = Field(default_factory=list)
    owner: str = "agents"
    last_reviewed: dt.date | None = None

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}; expected one of {', '.join(CATEGORIES)}")
        return value

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, value: str) -> str:
        if value not in TOPICS:
            raise ValueError(f"unknown topic {value!r}")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_strings(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(item) for item in value]
        return value


def _first_error(where: str, error: ValidationError) -> CorpusError:
    first = error.errors()[0]
    field_name = ".".join(str(part) for part in first["loc"]) or "(root)"
    return CorpusError(where, field_name, first["msg"])


def entry_from_mapping(data: object, *, source: Source = "db", where: str | None = None) -> Entry:
    """Validate plain data (a parsed YAML file or a published DB entry) into an `Entry`.

    Shipped files (`source="file"`) must be complete: both languages, at least
    `MIN_PARAPHRASES` paraphrases per language, an owner and a review date. Published
    entries (`source="db"`) need a question and an answer in at least one language (a
    supervisor may add the other language's answer only); a missing category is
    derived from the topic.

    Raises:
        CorpusError: naming `where` (the file or entry id) and the offending field.
    """
    label = where or (str(data.get("id")) if isinstance(data, dict) else "entry")
    if not isinstance(data, dict):
        raise CorpusError(label, "(root)", "expected a mapping of fields")
    if source == "db" and not data.get("category") and isinstance(data.get("topic"), str):
        data = data | {"category": category_for_topic(data["topic"])}
    try:
        model = _EntryModel.model_validate(data)
    except ValidationError as error:
        raise _first_error(label, error) from None
    langs = [lang for lang in LANGUAGES if getattr(model.answer, lang)]
    if not langs:
        raise CorpusError(label, "answer", "needs an answer in at least one language")
    if not any(getattr(model.question, lang) for lang in LANGUAGES):
        raise CorpusError(label, "question", "needs a question in at least one language")
    if source == "file":
        for lang in LANGUAGES:
            if not getattr(model.question, lang):
                raise CorpusError(label, f"question.{lang}", "shipped entries need both languages")
            if not getattr(model.answer, lang):
                raise CorpusError(label, f"answer.{lang}", "shipped entries need both languages")
            if len(getattr(model.paraphrases, lang)) < MIN_PARAPHRASES:
                raise CorpusError(
                    label, f"paraphrases.{lang}", f"needs at least {MIN_PARAPHRASES} paraphrases"
                )
        if model.last_reviewed is None:
            raise CorpusError(label, "last_reviewed", "shipped entries need a review date")
        if "owner" not in data:
            raise CorpusError(label, "owner", "shipped entries need an owner")
    question = {lang: text for lang in LANGUAGES if (text := getattr(model.question, lang))}
    answer = {lang: text for lang in LANGUAGES if (text := getattr(model.answer, lang))}
    paraphrases = {
        lang: tuple(items) for lang in LANGUAGES if (items := getattr(model.paraphrases, lang))
    }
    return Entry(
        id=model.id,
        category=model.category,
        topic=model.topic,  # type: ignore[arg-type]  # checked against TOPICS above
        question=question,
        answer=answer,
        paraphrases=paraphrases,
        tags=tuple(model.tags),
        owner=model.owner,
        last_reviewed=model.last_reviewed,
        source=source,
    )


@dataclass(frozen=True)
class Corpus:
    """The shipped entries, in a stable order, with their fingerprint."""

    root: Path
    entries: tuple[Entry, ...]

    @property
    def fingerprint(self) -> str:
        """A hash over every entry's content: changes whenever any file changes."""
        return fingerprint(self.entries)


def fingerprint(entries: Iterable[Entry]) -> str:
    """A short content hash over entries (order-independent)."""
    digest = hashlib.sha256()
    for entry_digest in sorted(entry.digest() for entry in entries):
        digest.update(entry_digest.encode("ascii"))
    return digest.hexdigest()[:16]


def load_entry_file(path: Path) -> Entry:
    """Load and validate one shipped YAML entry file.

    Raises:
        CorpusError: naming the file and the field (or the YAML line for syntax errors).
    """
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "(yaml)"
        raise CorpusError(where, line, f"invalid YAML: {error}") from None
    entry = entry_from_mapping(data, source="file", where=where)
    if entry.id != path.stem:
        raise CorpusError(where, "id", f"{entry.id!r} does not match the file name {path.stem!r}")
    if entry.category != path.parent.name:
        raise CorpusError(
            where, "category", f"{entry.category!r} does not match the folder {path.parent.name!r}"
        )
    return entry


def load_corpus(root: Path) -> Corpus:
    """Load and validate every `<category>/<id>.yml` under `root`.

    Raises:
        CorpusError: for the first invalid file, a duplicate id or an unknown folder.
    """
    if not root.is_dir():
        raise CorpusError(str(root), "(folder)", "corpus folder not found")
    entries: list[Entry] = []
    seen: dict[str, Path] = {}
    for path in sorted(root.glob("*/*.yml")):
        if path.parent.name not in CATEGORIES:
            raise CorpusError(
                str(path), "category", f"unknown category folder {path.parent.name!r}"
            )
        entry = load_entry_file(path)
        if entry.id in seen:
            raise CorpusError(str(path), "id", f"duplicate id, also in {seen[entry.id]}")
        seen[entry.id] = path
        entries.append(entry)
    if not entries:
        raise CorpusError(str(root), "(folder)", "no entries found")
    return Corpus(root=root, entries=tuple(entries))


def dump_entry(entry: Entry) -> str:
    """The entry as a YAML document in the shipped file layout."""
    return yaml.safe_dump(entry.to_mapping(), allow_unicode=True, sort_keys=False, width=100)


def export_entries(entries: Sequence[Entry], out: Path) -> list[Path]:
    """Write entries as `<out>/<category>/<id>.yml` files for review; returns the paths."""
    written: list[Path] = []
    for entry in entries:
        path = out / entry.category / f"{entry.id}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_entry(entry), encoding="utf-8")
        written.append(path)
    return written


def load_entries_data(path: Path) -> list[Entry]:
    """Published entries from a JSON or YAML file holding a list of entry mappings.

    Raises:
        CorpusError: if the file is unreadable or an entry is invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise CorpusError(str(path), "(file)", f"cannot read entries: {error}") from None
    if isinstance(data, dict) and "entries" in data:
        data = data["entries"]
    if not isinstance(data, list):
        raise CorpusError(str(path), "(root)", "expected a list of entries")
    return [
        entry_from_mapping(item, source="db", where=f"{path}[{position}]")
        for position, item in enumerate(data)
    ]
