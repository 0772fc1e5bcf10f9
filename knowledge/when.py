"""Understanding "when" in a fan's words: this weekend, tonight, Saturday, 12月5日."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from core.texts import text
from knowledge.language import Language

_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS_ZH = "一二三四五六日"


@dataclass(frozen=True)
class DateRange:
    """Local calendar days from `start` to `end`, both included, and how to say it."""

    start: date
    end: date
    label_key: str  # a text of the catalogue (data/texts/), given the first day as {day}

    def label(self, language: Language) -> str:
        """How the desk says these days ("this weekend", "on Saturday 5 December")."""
        return text(self.label_key, language, day=self.start)


def _weekend(today: date) -> date:
    weekday = today.weekday()
    return today - timedelta(days=1) if weekday == 6 else today + timedelta(days=5 - weekday)


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def parse_when(text: str, today: date) -> DateRange | None:
    """The days a phrase refers to, or None when it names no time at all."""
    lowered = text.casefold()
    if re.search(r"week-?end|周末|週末", lowered):
        saturday = _weekend(today)
        if re.search(r"next week-?end|下(个|周)?周末", lowered):
            saturday += timedelta(weeks=1)
            return DateRange(saturday, saturday + timedelta(days=1), label_key="when.next_weekend")
        return DateRange(
            max(saturday, today), saturday + timedelta(days=1), label_key="when.this_weekend"
        )
    if re.search(r"\btoday\b|\btonight\b|今天|今晚|今日", lowered):
        return DateRange(today, today, label_key="when.today")
    if re.search(r"\btomorrow\b|明天|明晚", lowered):
        day = today + timedelta(days=1)
        return DateRange(day, day, label_key="when.tomorrow")
    if re.search(r"next week|下周|下星期", lowered) and not re.search(
        r"(周|星期)[一二三四五六日天]", lowered
    ):
        monday = today + timedelta(days=7 - today.weekday())
        return DateRange(monday, monday + timedelta(days=6), label_key="when.next_week")
    if re.search(r"this week|本周|这周|这星期", lowered) and not re.search(
        r"(周|星期)[一二三四五六日天]", lowered
    ):
        sunday = today + timedelta(days=6 - today.weekday())
        return DateRange(today, sunday, label_key="when.this_week")
    for index, name in enumerate(_WEEKDAYS_EN):
        if re.search(rf"\b({name}|{name[:3]})\b", lowered):
            day = _next_weekday(today, index)  # "next Saturday" is the coming one, too
            return DateRange(day, day, label_key="when.day")
    zh_day = re.search(r"(?:周|星期|礼拜)([一二三四五六日天])", lowered)
    if zh_day:
        index = _WEEKDAYS_ZH.index(zh_day.group(1).replace("天", "日"))
        day = _next_weekday(today, index)
        if re.search(r"下(个)?(周|星期|礼拜)", lowered):  # 下周六: Saturday of next week
            day = today + timedelta(days=7 - today.weekday() + index)
        return DateRange(day, day, label_key="when.day")
    month_day = re.search(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?", lowered)
    if month_day:
        return _calendar_day(today, int(month_day.group(1)), int(month_day.group(2)))
    english = re.search(
        r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
        r"|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})",
        lowered,
    )
    if english:
        months = [
            "jan",
            "feb",
            "mar",
            "apr",
            "may",
            "jun",
            "jul",
            "aug",
            "sep",
            "oct",
            "nov",
            "dec",
        ]
        if english.group(1):
            return _calendar_day(today, months.index(english.group(2)) + 1, int(english.group(1)))
        return _calendar_day(today, months.index(english.group(3)) + 1, int(english.group(4)))
    return None


def _calendar_day(today: date, month: int, day_of_month: int) -> DateRange | None:
    try:
        day = date(today.year, month, day_of_month)
    except ValueError:
        return None
    if day < today - timedelta(days=1):
        try:
            day = date(today.year + 1, month, day_of_month)
        except ValueError:
            return None
    return DateRange(day, day, label_key="when.day")
