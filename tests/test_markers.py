"""The markers tests/conftest.py gives each test from its folder and its fixtures."""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest

from tests.conftest import pytest_collection_modifyitems

__all__ = ["pytest_collection_modifyitems"]


@pytest.fixture
def pg_url():
    return "postgresql://unused"


@pytest.fixture
def redis_url():
    return "redis://unused"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    return request.param
"""


@pytest.fixture
def tree(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with an end-to-end test and unit tests using the database fixtures."""
    pytester.makeini(
        "[pytest]\nfilterwarnings = ignore::DeprecationWarning\n"
        "markers =\n  e2e: e2e\n  postgres: postgres\n  redis: redis\n"
    )
    pytester.makeconftest(CONFTEST)
    pytester.mkdir("tests")
    pytester.mkdir("tests/e2e")
    (pytester.path / "tests" / "e2e" / "test_stack_probe.py").write_text(
        "def test_the_whole_stack():\n    pass\n"
    )
    (pytester.path / "tests" / "test_unit_probe.py").write_text(
        "def test_plain():\n    pass\n\n"
        "def test_on_postgres(pg_url):\n    pass\n\n"
        "def test_on_redis(redis_url):\n    pass\n\n"
        "def test_on_both_databases(database_url):\n    pass\n"
    )
    return pytester


def _selected(tree: pytest.Pytester, expression: str) -> set[str]:
    result = tree.runpytest("--collect-only", "-q", "--strict-markers", "-m", expression)
    return {line.split("::", 1)[1] for line in result.outlines if "::" in line}


def test_the_tests_under_tests_e2e_are_marked_e2e(tree: pytest.Pytester) -> None:
    assert _selected(tree, "e2e") == {"test_the_whole_stack"}
    assert "test_the_whole_stack" not in _selected(tree, "not e2e")


def test_postgres_and_redis_are_marked_by_the_fixtures_a_test_uses(
    tree: pytest.Pytester,
) -> None:
    assert _selected(tree, "postgres") == {"test_on_postgres", "test_on_both_databases[postgres]"}
    assert _selected(tree, "redis") == {"test_on_redis"}
    assert _selected(tree, "not e2e and not postgres and not redis") == {
        "test_plain",
        "test_on_both_databases[sqlite]",
    }
