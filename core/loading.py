"""Reading the desk's YAML data files into typed models, with errors that name the file
and the field (a club's IT person edits these files by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class DataFileError(ValueError):
    """A data file that cannot be read or does not have the expected shape.

    The message starts with the file's path, then the field (`a.b.0.c: problem`)."""

    def __init__(self, path: Path | str, problem: str, field: str | None = None) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem
        self.field = field  # the first bad field (`a.b.0.c`), None for an unreadable file


def read_yaml(path: Path, *, default: Any = None) -> Any:
    """The parsed content of a YAML file (`default` for an empty file)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFileError(path, f"cannot be read ({exc.strerror or exc})") from exc
    except yaml.YAMLError as exc:
        raise DataFileError(path, f"not valid YAML: {exc}") from exc
    return default if data is None else data


def _where(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def validated(path: Path, model: type[M], data: Any) -> M:
    """`data` (read from `path`) as `model`, or a DataFileError naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(f"{_where(e['loc'])}: {e['msg']}" for e in errors)
        raise DataFileError(path, problems, _where(errors[0]["loc"])) from exc


def load_model(path: Path, model: type[M], *, default: Any = None) -> M:
    """Read `path` and validate it as `model` (the common case of the two above)."""
    return validated(path, model, read_yaml(path, default=default))
