"""The desk's text catalogue: every sentence a fan reads that is not a Rasa response.

One YAML file per language in `data/texts/` (`en.yml`, `zh.yml`), each a tree of areas
(`telegram:`, `widget:`, `notices:` ...) whose leaves are texts; a text's key is its path
with dots (`telegram.help`, `notices.order_confirmation`). Placeholders are `str.format`
fields by name (`{order_ref}`, `{date:%A %-d %B}`, `{date.month}`). English is the
reference: every language has exactly its keys, with the same placeholders, none empty
(`check`; `desk texts check` also checks the keys the code asks for). Chinese is written
in simplified characters; replies reach a fan writing traditional ones through
`knowledge.script.to_script`, as every other reply does.

Code asks for a text with a literal key, `text("telegram.help", language)`, so that
`desk texts check` can find every key in use (`used_keys`).
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from core.loading import DataFileError, read_yaml

TEXTS_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "texts"
REFERENCE: Final = "en"
# A key: areas and a name in lower case, joined by dots (at least one dot).
KEY: Final = re.compile(r"[a-z][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)+")
# The calls whose literal string arguments are keys (`text("a.b", ...)`, the Telegram
# channel's `say(chat_id, "telegram.help", ...)`), and keyword arguments named so.
LOOKUPS: Final = frozenset({"text", "say"})
_KEY_KEYWORDS: Final = re.compile(r"(?:.+_)?key")
# The web widget's lookups: `t("title")` asks for `widget.title`.
_WIDGET_LOOKUP: Final = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_]+)["']""")


class TextsError(DataFileError):
    """A catalogue file is wrong; the message names the file and the key."""


class UnknownText(KeyError):
    """Code asked for a key that no catalogue has."""


class MissingValue(ValueError):
    """A text was asked for without a value for one of its placeholders."""


def placeholders(template: str) -> set[str]:
    """The names a text needs (`{date:%d}` and `{date.month}` both need `date`).

    Raises ValueError for a broken template (`{` without `}`) or a positional field."""
    names: set[str] = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is None:
            continue
        name = re.split(r"[.\[]", field, maxsplit=1)[0]
        if not name or name.isdigit():
            raise ValueError("placeholders need a name, e.g. {order_ref}")
        names.add(name)
    return names


def _flatten(tree: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(tree, dict):
        for name, value in tree.items():
            yield from _flatten(value, f"{prefix}.{name}" if prefix else str(name))
    else:
        yield prefix, tree


@dataclass(frozen=True)
class _Read:
    texts: dict[str, dict[str, str]]  # language -> key -> text
    problems: list[str]


def _read(folder: Path) -> _Read:
    """Every catalogue of `folder`, and every problem found (file: key: problem)."""
    problems: list[str] = []
    texts: dict[str, dict[str, str]] = {}
    files = sorted(folder.glob("*.yml"))
    if not any(path.stem == REFERENCE for path in files):
        return _Read({}, [f"{folder / (REFERENCE + '.yml')}: the English catalogue is missing"])
    for path in files:
        try:
            tree = read_yaml(path, default={})
        except DataFileError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(tree, dict):
            problems.append(f"{path}: expected areas of texts (a mapping)")
            continue
        entries: dict[str, str] = {}
        for key, value in _flatten(tree):
            if not KEY.fullmatch(key):
                problems.append(f"{path}: {key}: a key is an area and a name, e.g. telegram.help")
            elif not isinstance(value, str):
                problems.append(f"{path}: {key}: expected a text, found {type(value).__name__}")
            elif not value.strip():
                problems.append(f"{path}: {key}: empty text")
            else:
                try:
                    placeholders(value)
                except ValueError as exc:
                    problems.append(f"{path}: {key}: {exc}")
                    continue
                entries[key] = value
        texts[path.stem] = entries
    reference = texts.get(REFERENCE, {})
    for language, entries in texts.items():
        if language == REFERENCE:
            continue
        path = folder / f"{language}.yml"
        for key in sorted(reference.keys() - entries.keys()):
            problems.append(f"{path}: {key}: missing (it is in {REFERENCE}.yml)")
        for key in sorted(entries.keys() - reference.keys()):
            problems.append(f"{path}: {key}: not in {REFERENCE}.yml")
        for key in sorted(reference.keys() & entries.keys()):
            ours, theirs = placeholders(entries[key]), placeholders(reference[key])
            if ours != theirs:
                problems.append(
                    f"{path}: {key}: placeholders {sorted(ours)} differ from "
                    f"{REFERENCE}.yml's {sorted(theirs)}"
                )
    return _Read(texts, problems)


class Catalogue:
    """The texts of every language, checked: same keys, same placeholders, none empty."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = {language: dict(entries) for language, entries in texts.items()}
        self._reference = self._texts[REFERENCE]

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._texts))

    def keys(self) -> frozenset[str]:
        return frozenset(self._reference)

    def __contains__(self, key: object) -> bool:
        return key in self._reference

    def template(self, key: str, language: str | None) -> str:
        """The text `key` in `language` (English for a language the desk doesn't write),
        placeholders unfilled."""
        if key not in self._reference:
            raise UnknownText(f"no text {key!r} in the catalogue (data/texts/)")
        entries = self._texts.get(str(language)) or self._reference
        return entries[key]

    def text(self, key: str, language: str | None, **values: Any) -> str:
        """The text `key` in `language`, its placeholders filled from `values`."""
        template = self.template(key, language)
        try:
            return template.format(**values)
        except KeyError as exc:
            raise MissingValue(
                f"text {key!r} needs a value for {{{exc.args[0]}}}; "
                f"it uses {sorted(placeholders(template))}"
            ) from None

    def area(self, prefix: str, language: str | None) -> dict[str, str]:
        """The templates under `prefix.` in `language`, by the rest of their keys."""
        start = prefix + "."
        return {
            key[len(start) :]: self.template(key, language)
            for key in sorted(self._reference)
            if key.startswith(start)
        }


def load_catalogue(folder: Path = TEXTS_DIR) -> Catalogue:
    """The catalogue of `folder`; raises `TextsError` naming the file and key of the
    first problem (all of them are listed by `check`)."""
    read = _read(folder)
    if read.problems:
        where, _, problem = read.problems[0].partition(": ")
        more = f" (and {len(read.problems) - 1} more problem(s): desk texts check)"
        raise TextsError(where, problem + (more if len(read.problems) > 1 else ""))
    return Catalogue(read.texts)


def check(folder: Path = TEXTS_DIR) -> list[str]:
    """Every problem of the catalogue in `folder` (empty when it is sound)."""
    return _read(folder).problems


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The desk's catalogue (data/texts/), read and checked once per process."""
    return load_catalogue()


def text(key: str, language: str | None, **values: Any) -> str:
    """The desk's text `key` in `language` (see `Catalogue.text`)."""
    return catalogue().text(key, language, **values)


# --- the keys the code uses -------------------------------------------------------------


@dataclass(frozen=True)
class KeyUse:
    """A literal key in the code, and where."""

    key: str
    path: Path
    line: int


def _literal_keys(node: ast.expr) -> Iterator[tuple[str, int]]:
    if isinstance(node, ast.JoinedStr):
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if KEY.fullmatch(node.value):
            yield node.value, node.lineno
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            yield from _literal_keys(child)


def _python_keys(path: Path) -> Iterator[KeyUse]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        arguments: list[ast.expr] = list(node.args) if name in LOOKUPS else []
        arguments += [k.value for k in node.keywords if k.arg and _KEY_KEYWORDS.fullmatch(k.arg)]
        for argument in arguments:
            for key, line in _literal_keys(argument):
                yield KeyUse(key, path, line)


def _widget_keys(path: Path) -> Iterator[KeyUse]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for found in _WIDGET_LOOKUP.finditer(line):
            yield KeyUse(f"widget.{found.group(1)}", path, number)


def used_keys(paths: Iterable[Path]) -> list[KeyUse]:
    """The literal keys asked for in these files and folders: Python lookups (`text(...)`,
    `say(...)`, `*_key=` arguments) and the widget script's `t("...")`."""
    uses: list[KeyUse] = []
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix == ".py":
                uses.extend(_python_keys(path))
            elif path.name == "widget.js":
                uses.extend(_widget_keys(path))
    return sorted(uses, key=lambda use: (str(use.path), use.line))


def check_code(folder: Path, paths: Iterable[Path]) -> list[str]:
    """`check(folder)`, and a problem for every key the code asks for that it lacks."""
    read = _read(folder)
    known = read.texts.get(REFERENCE, {})
    missing = [
        f"{use.path}:{use.line}: {use.key}: not in the catalogue ({folder})"
        for use in used_keys(paths)
        if use.key not in known
    ]
    return read.problems + missing
