"""One way of naming a match, in three levels of detail and two languages."""

from __future__ import annotations

from datetime import UTC, datetime

from actions.matches import match_name
from ticketing.fixtures import FixtureSummary

DERBY = FixtureSummary(
    id=1,
    home_en="Riverside Athletic",
    home_zh="江畔竞技",
    away_en="Harbour City",
    away_zh="港城",
    competition="League",
    kickoff=datetime(2026, 12, 5, 7, 0, tzinfo=UTC),  # 15:00 in Shanghai
    status="scheduled",
    timezone="Asia/Shanghai",
)


def test_english() -> None:
    assert match_name(DERBY, "en") == "Riverside Athletic v Harbour City (Sat 5 Dec 15:00)"
    assert match_name(DERBY, "en", "day") == "Riverside Athletic v Harbour City, Sat 5 Dec"
    assert match_name(DERBY, "en", "line") == (
        "• Sat 5 Dec, 15:00: Riverside Athletic vs Harbour City (League)"
    )


def test_chinese() -> None:
    assert match_name(DERBY, "zh") == "江畔竞技 vs 港城（12月5日 周六 15:00）"
    assert match_name(DERBY, "zh", "day") == "江畔竞技 vs 港城 12月5日"
    assert match_name(DERBY, "zh", "line") == "• 12月5日（周六）15:00 江畔竞技 vs 港城"
