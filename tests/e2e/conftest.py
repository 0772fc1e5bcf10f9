"""One real desk for the end-to-end tests of a session.

`desk prepare` and `desk run` start exactly what `make run` starts (the Rasa
server, the action server and the gateway under the supervisor) on free ports
with a throw-away SQLite database, and the tests talk to it over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack, running_desk

__all__ = ["Stack"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole desk, started once per test session."""
    with running_desk(tmp_path_factory.mktemp("stack")) as desk:
        yield desk
