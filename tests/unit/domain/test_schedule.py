"""Job scheduling: AWS cron maintenance windows and StringDateTime, by example and against minute-by-minute scans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput
from otahub.domain.schedule import (
    LOOKAHEAD,
    LOOKBACK,
    CronSchedule,
    MaintenanceWindow,
    next_opening,
    open_window,
    parse_cron,
    parse_schedule_time,
)

MINUTE = timedelta(minutes=1)
FIELD = "schedulingConfig.maintenanceWindows.startTime"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(expression: str, after: datetime, n: int = 3) -> list[datetime]:
    schedule, found = parse_cron(expression), []
    t: datetime | None = after
    for _ in range(n):
        assert t is not None
        t = schedule.next_start_after(t)
        if t is None:
            break
        found.append(t)
    return found


def window(expression: str, minutes: int) -> MaintenanceWindow:
    return MaintenanceWindow(parse_cron(expression), minutes)


# --- cron constructs, by example ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("cron(0,30 10 * * ? *)", at(2026, 1, 1), [at(2026, 1, 1, 10), at(2026, 1, 1, 10, 30), at(2026, 1, 2, 10)]),
    ("cron(0 9-11 * * ? *)", at(2026, 1, 1, 9), [at(2026, 1, 1, 10), at(2026, 1, 1, 11), at(2026, 1, 2, 9)]),
    ("cron(0/15 * * * ? *)", at(2026, 1, 1), [at(2026, 1, 1, 0, 15), at(2026, 1, 1, 0, 30), at(2026, 1, 1, 0, 45)]),
    ("cron(5/20 8 * * ? *)", at(2026, 1, 1), [at(2026, 1, 1, 8, 5), at(2026, 1, 1, 8, 25), at(2026, 1, 1, 8, 45)]),
    ("cron(*/20 8 * * ? *)", at(2026, 1, 1), [at(2026, 1, 1, 8), at(2026, 1, 1, 8, 20), at(2026, 1, 1, 8, 40)]),
    ("cron(10-30/10 8 * * ? *)", at(2026, 1, 1), [at(2026, 1, 1, 8, 10), at(2026, 1, 1, 8, 20), at(2026, 1, 1, 8, 30)]),
    ("cron(0 22-1 * * ? *)", at(2026, 1, 1, 12), [at(2026, 1, 1, 22), at(2026, 1, 1, 23), at(2026, 1, 2, 0)]),
    ("cron(0 18 ? * MON-FRI *)", at(2026, 1, 1), [at(2026, 1, 1, 18), at(2026, 1, 2, 18), at(2026, 1, 5, 18)]),
    ("cron(0 0 ? * FRI-MON *)", at(2026, 1, 1), [at(2026, 1, 2), at(2026, 1, 3), at(2026, 1, 4)]),
    ("cron(0 0 ? * sun,Wed *)", at(2026, 1, 1), [at(2026, 1, 4), at(2026, 1, 7), at(2026, 1, 11)]),
    ("cron(0 0 ? * 1 *)", at(2026, 1, 1), [at(2026, 1, 4), at(2026, 1, 11), at(2026, 1, 18)]),
    ("cron(0 0 ? * L *)", at(2026, 1, 1), [at(2026, 1, 3), at(2026, 1, 10), at(2026, 1, 17)]),
    ("cron(0 0 1 JAN,JUL ? *)", at(2026, 1, 1), [at(2026, 7, 1), at(2027, 1, 1), at(2027, 7, 1)]),
    ("cron(0 0 1 11/6 ? *)", at(2026, 1, 1), [at(2026, 11, 1), at(2027, 11, 1), at(2028, 11, 1)]),
    ("cron(0 0 1 NOV-FEB ? *)", at(2026, 1, 1), [at(2026, 2, 1), at(2026, 11, 1), at(2026, 12, 1)]),
    ("cron(0 0 31 * ? *)", at(2026, 1, 31), [at(2026, 3, 31), at(2026, 5, 31), at(2026, 7, 31)]),
    ("cron(0 23 L * ? *)", at(2026, 1, 31, 23), [at(2026, 2, 28, 23), at(2026, 3, 31, 23), at(2026, 4, 30, 23)]),
    ("cron(0 0 L FEB ? *)", at(2026, 3, 1), [at(2027, 2, 28), at(2028, 2, 29), at(2029, 2, 28)]),
    ("cron(0 0 LW * ? *)", at(2026, 4, 30), [at(2026, 5, 29), at(2026, 6, 30), at(2026, 7, 31)]),
    ("cron(0 0 15W * ? *)", at(2026, 8, 1), [at(2026, 8, 14), at(2026, 9, 15), at(2026, 10, 15)]),
    ("cron(0 0 1W * ? *)", at(2026, 7, 31), [at(2026, 8, 3), at(2026, 9, 1), at(2026, 10, 1)]),
    ("cron(0 0 16W AUG ? 2026)", at(2026, 1, 1), [at(2026, 8, 17)]),
    ("cron(0 0 31W MAY ? 2026)", at(2026, 1, 1), [at(2026, 5, 29)]),
    ("cron(0 0 30W * ? *)", at(2026, 1, 31), [at(2026, 3, 30), at(2026, 4, 30), at(2026, 5, 29)]),
    ("cron(0 0 ? * 5L *)", at(2026, 1, 1), [at(2026, 1, 29), at(2026, 2, 26), at(2026, 3, 26)]),
    ("cron(0 0 ? * 3#2 *)", at(2026, 1, 1), [at(2026, 1, 13), at(2026, 2, 10), at(2026, 3, 10)]),
    ("cron(0 0 ? * FRI#5 *)", at(2026, 1, 1), [at(2026, 1, 30), at(2026, 5, 29), at(2026, 7, 31)]),
    ("cron(0 0 1 1 ? 2027,2029)", at(2026, 6, 1), [at(2027, 1, 1), at(2029, 1, 1)]),
    ("cron(0 0 1 1 ? 2026-2030/2)", at(2026, 6, 1), [at(2028, 1, 1), at(2030, 1, 1)]),
    ("cron( 0  12 * * ? * )", at(2026, 1, 1), [at(2026, 1, 1, 12), at(2026, 1, 2, 12), at(2026, 1, 3, 12)]),
])
def test_fire_times_of_each_construct(expression: str, after: datetime, expected: list[datetime]) -> None:
    assert fires(expression, after) == expected


def test_latest_start_is_at_or_before_and_next_start_strictly_after() -> None:
    schedule = parse_cron("cron(30 10 * * ? *)")
    assert schedule.latest_start_at_or_before(at(2026, 1, 2, 10, 30)) == at(2026, 1, 2, 10, 30)
    assert schedule.latest_start_at_or_before(at(2026, 1, 2, 10, 29) + timedelta(seconds=59)) == at(2026, 1, 1, 10, 30)
    assert schedule.next_start_after(at(2026, 1, 2, 10, 30)) == at(2026, 1, 3, 10, 30)
    assert schedule.next_start_after(at(2026, 1, 2, 10, 29) + timedelta(seconds=59)) == at(2026, 1, 2, 10, 30)


def test_search_bounds() -> None:
    once = parse_cron("cron(0 0 1 1 ? 2027)")
    assert once.latest_start_at_or_before(at(2027, 1, 1) + LOOKBACK) == at(2027, 1, 1)
    assert once.latest_start_at_or_before(at(2027, 1, 1) + LOOKBACK + MINUTE) is None
    assert once.latest_start_at_or_before(at(2027, 1, 1) - MINUTE) is None
    assert once.next_start_after(at(2027, 1, 1) - LOOKAHEAD) == at(2027, 1, 1)
    assert once.next_start_after(at(2027, 1, 1) - LOOKAHEAD - MINUTE) is None
    assert once.next_start_after(at(2027, 1, 1)) is None
    assert parse_cron("cron(0 0 30 FEB ? *)").next_start_after(at(2026, 1, 1)) is None


def test_the_years_1970_to_2199_and_no_further() -> None:
    every_minute = parse_cron("cron(* * * * ? *)")
    assert every_minute.next_start_after(datetime.min.replace(tzinfo=UTC)) is None
    assert every_minute.next_start_after(at(1969, 12, 31, 23, 59)) == at(1970, 1, 1)
    assert every_minute.latest_start_at_or_before(at(1970, 1, 1)) == at(1970, 1, 1)
    assert every_minute.latest_start_at_or_before(at(1969, 12, 31, 23, 59)) is None
    assert every_minute.next_start_after(at(2199, 12, 31, 23, 58)) == at(2199, 12, 31, 23, 59)
    assert every_minute.next_start_after(at(2199, 12, 31, 23, 59)) is None
    assert every_minute.latest_start_at_or_before(at(2200, 1, 1, 0, 30)) == at(2199, 12, 31, 23, 59)
    assert every_minute.latest_start_at_or_before(datetime.max.replace(tzinfo=UTC)) is None


def test_times_are_aware_and_converted_to_utc() -> None:
    schedule = parse_cron("cron(0 10 * * ? *)")
    plus_two = timezone(timedelta(hours=2))
    assert schedule.latest_start_at_or_before(datetime(2026, 1, 1, 12, 0, tzinfo=plus_two)) == at(2026, 1, 1, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_start_after(datetime(2026, 1, 1))


def test_a_schedule_is_a_value() -> None:
    text = "cron(0 10 * * ? *)"
    assert parse_cron(text) == CronSchedule(text)
    assert len({parse_cron(text), CronSchedule(text)}) == 1
    assert parse_cron(text).expression == text
    with pytest.raises(InvalidInput, match=FIELD):
        CronSchedule("cron(0 10 * * * *)")


# --- cron errors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "problem"), [
    ("cron(61 * * * ? *)", "minute 61 is out of range 0-59"),
    ("cron(0 24 * * ? *)", "hour 24 is out of range 0-23"),
    ("cron(0 0 0 * ? *)", "day-of-month 0 is out of range 1-31"),
    ("cron(0 0 32W * ? *)", "day-of-month 32 is out of range 1-31"),
    ("cron(0 0 1 13 ? *)", "month 13 is out of range 1-12"),
    ("cron(0 0 1 JUNE ? *)", "month 'JUNE' is not a number or a name"),
    ("cron(0 0 ? * 8 *)", "day-of-week 8 is out of range 1-7"),
    ("cron(0 0 ? * 0 *)", "day-of-week 0 is out of range 1-7"),
    ("cron(0 0 1 1 ? 1969)", "year 1969 is out of range 1970-2199"),
    ("cron(0 0 1 1 ? 2200)", "year 2200 is out of range 1970-2199"),
    ("cron(0 0 1 1 ? 2030-2020)", "year range 2030-2020 runs backwards"),
    ("cron(0 0 * * * *)", "one of day-of-month and day-of-week must be ?"),
    ("cron(0 0 1 * MON *)", "one of day-of-month and day-of-week must be ?"),
    ("cron(0 0 ? * ? *)", "day-of-month and day-of-week can't both be ?"),
    ("cron(0 0 * * ?)", "has 6 fields (minutes hours day-of-month month day-of-week year), not 5"),
    ("cron(0 0 0 * * ? *)", "not 7"),
    ("cron()", "not 0"),
    ("rate(5 minutes)", "expected cron(minutes hours day-of-month month day-of-week year)"),
    ("CRON(0 0 * * ? *)", "expected cron("),
    ("cron(0 0 * * ? *", "expected cron("),
    ("cron(0/0 * * * ? *)", "minute increment '0' is not a whole number 1-60"),
    ("cron(0/x * * * ? *)", "minute increment 'X' is not a whole number 1-60"),
    ("cron(1,,2 * * * ? *)", "minute '' is not a number"),
    ("cron(1-2-3 * * * ? *)", "minute '2-3' is not a number"),
    ("cron(-5 * * * ? *)", "minute '' is not a number"),
    ("cron(٣ * * * ? *)", "minute '٣' is not a number"),
    ("cron(0 0 ? * 1/2 *)", "day-of-week takes no / increments"),
    ("cron(0 0 ? * 3#1,6#3 *)", "nL and n#k stand alone"),
    ("cron(0 0 ? * 3#6 *)", "the week after # must be 1-5"),
    ("cron(0 0 ? * 5L,2 *)", "nL and n#k stand alone"),
    ("cron(0 0 ? * 9L *)", "day-of-week 9 is out of range 1-7"),
    ("cron(0 0 L,15 * ? *)", "L, LW and nW stand alone"),
    ("cron(0 0 1-5W * ? *)", "L, LW and nW stand alone"),
    ("cron(0 0 L-3 * ? *)", "L, LW and nW stand alone"),
])
def test_invalid_expressions_say_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_cron(expression)
    assert caught.value.field == FIELD
    assert caught.value.message.startswith(f"{FIELD}: {expression!r}: ")
    assert problem in caught.value.message


def test_the_brief_s_example_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_cron("cron(61 * * * ? *)")
    assert caught.value.message == (
        "schedulingConfig.maintenanceWindows.startTime: 'cron(61 * * * ? *)': minute 61 is out of range 0-59")


@pytest.mark.parametrize("length", [0, 257])
def test_a_cron_expression_has_1_to_256_characters(length: int) -> None:
    with pytest.raises(InvalidInput, match=f"has 1 to 256 characters, not {length}"):
        parse_cron("cron(0 0 * * ? *)".ljust(length) if length else "", field="jobTemplate.startTime")


def test_errors_name_the_caller_s_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_cron("cron(0 0 * * * *)", field="maintenanceWindows[1].startTime")
    assert caught.value.field == "maintenanceWindows[1].startTime"
    assert caught.value.message.startswith("maintenanceWindows[1].startTime: ")


# --- StringDateTime ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01T10:30", at(2026, 12, 1, 10, 30)),
    ("2026-12-01T10:30Z", at(2026, 12, 1, 10, 30)),
    ("2026-12-01T10:30:45", datetime(2026, 12, 1, 10, 30, 45, tzinfo=UTC)),
    ("2026-12-01T10:30:45Z", datetime(2026, 12, 1, 10, 30, 45, tzinfo=UTC)),
    ("2028-02-29T00:00", at(2028, 2, 29)),
])
def test_schedule_times(text: str, expected: datetime) -> None:
    parsed = parse_schedule_time(text, field="schedulingConfig.startTime")
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(("text", "problem"), [
    ("2026-12-01 10:30", "is not a UTC date and time YYYY-MM-DDTHH:MM"),
    ("2026-12-01T10", "is not a UTC date and time"),
    ("2026-12-01", "is not a UTC date and time"),
    ("2026-12-01T10:30+01:00", "is not a UTC date and time"),
    ("2026-12-01T10:30:45.5Z", "is not a UTC date and time"),
    ("2026-12-01t10:30", "is not a UTC date and time"),
    ("26-12-01T10:30", "is not a UTC date and time"),
    ("2026-12-01T10:30ZZ", "is not a UTC date and time"),
    ("\uff12026-12-01T10:30", "is not a UTC date and time"),
    ("2026-13-01T10:30", "is not a valid date and time: month must be in 1..12"),
    ("2026-02-29T10:30", "is not a valid date and time: day is out of range for month"),
    ("2026-12-01T24:00", "is not a valid date and time"),
    ("2026-12-01T10:60", "is not a valid date and time"),
    ("2026-12-01T10:30:60", "is not a valid date and time"),
    ("0000-12-01T10:30", "is not a valid date and time"),
    ("", "a date and time has 1 to 64 characters, not 0"),
    ("2" * 65, "a date and time has 1 to 64 characters, not 65"),
])
def test_bad_schedule_times(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_schedule_time(text, field="schedulingConfig.endTime")
    assert caught.value.field == "schedulingConfig.endTime"
    assert caught.value.message.startswith("schedulingConfig.endTime: ")
    assert problem in caught.value.message


# --- maintenance windows -----------------------------------------------------------------------------------------

def test_a_window_includes_its_start_and_excludes_its_end() -> None:
    nightly = window("cron(0 2 * * ? *)", 60)
    opened = (at(2026, 1, 1, 2), at(2026, 1, 1, 3))
    assert nightly.window_at(at(2026, 1, 1, 2)) == opened
    assert nightly.window_at(at(2026, 1, 1, 3) - timedelta(microseconds=1)) == opened
    assert nightly.window_at(at(2026, 1, 1, 3)) is None
    assert nightly.window_at(at(2026, 1, 1, 2) - timedelta(microseconds=1)) is None
    assert nightly.next_opening_after(at(2026, 1, 1, 2)) == at(2026, 1, 2, 2)


def test_windows_span_midnight_month_end_and_year_end() -> None:
    assert window("cron(0 23 * * ? *)", 120).window_at(at(2026, 1, 2, 0, 59)) == (at(2026, 1, 1, 23), at(2026, 1, 2, 1))
    month_end = window("cron(0 22 L * ? *)", 180)
    assert month_end.window_at(at(2026, 3, 1, 0, 30)) == (at(2026, 2, 28, 22), at(2026, 3, 1, 1))
    assert month_end.window_at(at(2026, 3, 1, 1)) is None
    assert window("cron(30 0 1 1 ? *)", 1430).window_at(at(2027, 1, 1, 23, 59)) == (
        at(2027, 1, 1, 0, 30), at(2027, 1, 2, 0, 20))
    assert window("cron(0 23 31 DEC ? *)", 60).window_at(at(2027, 1, 1, 0, 0, )) is None
    assert window("cron(0 23 31 DEC ? *)", 61).window_at(at(2027, 1, 1)) == (at(2026, 12, 31, 23), at(2027, 1, 1, 0, 1))


def test_overlapping_fire_times_give_the_window_ending_latest() -> None:
    every_ten = window("cron(0/10 * * * ? *)", 30)
    assert every_ten.window_at(at(2026, 1, 1, 5, 25)) == (at(2026, 1, 1, 5, 20), at(2026, 1, 1, 5, 50))


@pytest.mark.parametrize("minutes", [0, -1, 1431])
def test_a_window_lasts_1_to_1430_minutes(minutes: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        window("cron(0 2 * * ? *)", minutes)
    assert caught.value.field == "schedulingConfig.maintenanceWindows.durationInMinutes"
    assert f"not {minutes}" in caught.value.message


def test_open_window_and_next_opening_over_several_windows() -> None:
    windows = [window("cron(0 1 * * ? *)", 120), window("cron(30 1 * * ? *)", 60), window("cron(0 12 * * ? *)", 10)]
    assert open_window(windows, at(2026, 1, 1, 2)) == (at(2026, 1, 1, 1), at(2026, 1, 1, 3))
    assert open_window(windows, at(2026, 1, 1, 1, 45)) == (at(2026, 1, 1, 1), at(2026, 1, 1, 3))
    assert open_window([window("cron(0 1 * * ? *)", 60), window("cron(0 0 * * ? *)", 120)],
                       at(2026, 1, 1, 1, 30)) == (at(2026, 1, 1), at(2026, 1, 1, 2))
    assert open_window(windows, at(2026, 1, 1, 4)) is None
    assert open_window([], at(2026, 1, 1, 4)) is None
    assert next_opening(windows, at(2026, 1, 1, 1)) == at(2026, 1, 1, 1, 30)
    assert next_opening(windows, at(2026, 1, 1, 4)) == at(2026, 1, 1, 12)
    assert next_opening([window("cron(0 0 1 1 ? 1999)", 5)], at(2026, 1, 1)) is None
    assert next_opening([], at(2026, 1, 1)) is None


# --- properties against minute-by-minute scans -------------------------------------------------------------------

@dataclass(frozen=True)
class Expected:
    """A generated expression and, worked out independently, which minutes it fires at."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    day: Callable[[date], bool]
    months: frozenset[int]
    years: frozenset[int]

    def fires_at(self, t: datetime) -> bool:
        return (t.minute in self.minutes and t.hour in self.hours and t.month in self.months
                and t.year in self.years and self.day(t.date()))


@st.composite
def field_values(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...] = (), *, wraps: bool = True,
                 steps: bool = True, whole: bool = True) -> tuple[str, frozenset[int]]:
    """One cron field item list (*, n, a-b, a/s, a-b/s, */s; names sometimes) and the values it means.

    ``whole=False``: low..high is only part of the field (years), so no item that runs to the field's
    own ends (*, a/s, */s)."""
    def show(value: int) -> str:
        named = bool(names) and draw(st.booleans())
        return names[value - low] if named else str(value)

    items: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 3))):
        a, b = draw(st.integers(low, high)), draw(st.integers(low, high))
        kinds = ["*", "n", "range", "a/s", "range/s", "*/s"] if steps else ["*", "n", "range"]
        kind = draw(st.sampled_from(kinds if whole else [k for k in kinds if k in ("n", "range", "range/s")]))
        if kind == "range" or kind == "range/s":
            a, b = (a, b) if wraps else sorted((a, b))
        ordered = list(range(a, b + 1)) if a <= b else list(range(a, high + 1)) + list(range(low, b + 1))
        step = draw(st.integers(1, high - low + 1))
        text, chosen = {
            "*": ("*", range(low, high + 1)),
            "n": (show(a), [a]),
            "range": (f"{show(a)}-{show(b)}", ordered),
            "a/s": (f"{show(a)}/{step}", range(a, high + 1, step)),
            "range/s": (f"{show(a)}-{show(b)}/{step}", ordered[::step]),
            "*/s": (f"*/{step}", range(low, high + 1, step)),
        }[kind]
        items.append(text)
        values.update(chosen)
    return ",".join(items), frozenset(values)


def aws_day(d: date) -> int:
    return d.isoweekday() % 7 + 1  # SUN 1 .. SAT 7


def is_weekday(d: date) -> bool:
    return d.weekday() < 5


def month_days(d: date) -> list[date]:
    first = d.replace(day=1)
    return [first + timedelta(days=k) for k in range(31) if (first + timedelta(days=k)).month == d.month]


def nearest_weekday(n: int) -> Callable[[date], bool]:
    def fires(d: date) -> bool:
        weekdays = [day for day in month_days(d) if is_weekday(day)]
        if n > len(month_days(d)):
            return False
        return d == min(weekdays, key=lambda day: abs(day.day - n))
    return fires


DAYS_OF_WEEK = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@st.composite
def day_fields(draw: st.DrawFn) -> tuple[str, str, Callable[[date], bool]]:
    """day-of-month and day-of-week, mostly every-day-ish so scans of two days see fire times."""
    kind = draw(st.sampled_from(["every", "every", "dow", "dow", "dom", "L", "LW", "W", "nL", "#"]))
    weekday = draw(st.integers(1, 7))
    n = draw(st.integers(1, 31))
    k = draw(st.integers(1, 5))
    if kind == "dow":
        text, weekdays = draw(field_values(1, 7, DAYS_OF_WEEK, steps=False))
        return "?", text, lambda d: aws_day(d) in weekdays
    if kind == "dom":
        text, days = draw(field_values(1, 31))
        return text, "?", lambda d: d.day in days
    return {
        "every": ("*", "?", lambda d: True),
        "L": ("L", "?", lambda d: (d + timedelta(days=1)).month != d.month),
        "LW": ("LW", "?", lambda d: d == [day for day in month_days(d) if is_weekday(day)][-1]),
        "W": (f"{n}W", "?", nearest_weekday(n)),
        "nL": ("?", f"{weekday}L", lambda d: aws_day(d) == weekday and (d + timedelta(days=7)).month != d.month),
        "#": ("?", f"{weekday}#{k}", lambda d: aws_day(d) == weekday and (d.day - 1) // 7 + 1 == k),
    }[kind]


rarely = st.integers(0, 3).map(lambda n: n == 0)


@st.composite
def expressions(draw: st.DrawFn) -> Expected:
    minute_text, minutes = draw(field_values(0, 59))
    hour_text, hours = draw(st.one_of(st.just(("*", frozenset(range(24)))), field_values(0, 23)))
    dom, dow, day = draw(day_fields())
    month_text, months = draw(field_values(1, 12, MONTHS)) if draw(rarely) else ("*", frozenset(range(1, 13)))
    year_text, years = (draw(field_values(2018, 2032, wraps=False, whole=False)) if draw(rarely)
                        else ("*", frozenset(range(1970, 2200))))
    text = f"cron({minute_text} {hour_text} {dom} {month_text} {dow} {year_text})"
    return Expected(text, minutes, hours, day, months, years)


month_edges = st.builds(lambda year, month, minutes: at(year, month, 1) + timedelta(minutes=minutes),
                        st.integers(2019, 2031), st.integers(1, 12), st.integers(-3 * 1440, 3 * 1440))
instants = st.one_of(
    st.datetimes(datetime(2019, 1, 1), datetime(2031, 12, 31), timezones=st.just(UTC)),
    month_edges,
)
SCAN = 2 * 1440  # minutes a brute-force scan covers


def scan(expected: Expected, first: datetime, step: timedelta, minutes: int) -> datetime | None:
    t = first
    for _ in range(minutes + 1):
        if expected.fires_at(t):
            return t
        t += step
    return None


@settings(max_examples=100, deadline=None)
@given(expected=expressions(), t=instants)
def test_latest_start_equals_a_backward_scan(expected: Expected, t: datetime) -> None:
    found = parse_cron(expected.text).latest_start_at_or_before(t)
    bound = t.replace(second=0, microsecond=0)
    scanned = scan(expected, bound, -MINUTE, SCAN)
    if scanned is not None:
        assert found == scanned
    else:
        assert found is None or found < bound - SCAN * MINUTE


@settings(max_examples=100, deadline=None)
@given(expected=expressions(), t=instants)
def test_next_start_equals_a_forward_scan(expected: Expected, t: datetime) -> None:
    found = parse_cron(expected.text).next_start_after(t)
    start = t.replace(second=0, microsecond=0) + MINUTE
    scanned = scan(expected, start, MINUTE, SCAN)
    if scanned is not None:
        assert found == scanned
    else:
        assert found is None or found > start + SCAN * MINUTE


@settings(max_examples=100, deadline=None)
@given(expected=expressions(), t=instants, minutes=st.integers(1, 1430))
def test_window_at_is_open_iff_a_fire_time_is_within_the_duration_before(
        expected: Expected, t: datetime, minutes: int) -> None:
    duration = timedelta(minutes=minutes)
    starts = (t.replace(second=0, microsecond=0) - k * MINUTE for k in range(minutes + 1))
    scanned = next((s for s in starts if s <= t < s + duration and expected.fires_at(s)), None)
    found = MaintenanceWindow(parse_cron(expected.text), minutes).window_at(t)
    assert found == (None if scanned is None else (scanned, scanned + duration))


@settings(max_examples=50, deadline=None)
@given(windows=st.lists(st.tuples(expressions(), st.integers(1, 1430)), min_size=1, max_size=3), t=instants)
def test_open_window_is_the_latest_ending_and_a_next_opening_opens_one(
        windows: list[tuple[Expected, int]], t: datetime) -> None:
    maintenance = [MaintenanceWindow(parse_cron(expected.text), minutes) for expected, minutes in windows]
    each = [w for w in (m.window_at(t) for m in maintenance) if w is not None]
    found = open_window(maintenance, t)
    assert found == (max(each, key=lambda w: (w[1], w[1] - w[0])) if each else None)
    opening = next_opening(maintenance, t)
    if opening is not None:
        assert opening > t
        assert open_window(maintenance, opening) is not None
        assert all(s is None or s >= opening for s in (m.next_opening_after(t) for m in maintenance))


@settings(max_examples=200, deadline=None)
@given(days=day_fields(), year=st.integers(1970, 2199), month=st.integers(1, 12))
def test_the_days_a_month_fires_on_equal_a_scan_of_its_days(
        days: tuple[str, str, Callable[[date], bool]], year: int, month: int) -> None:
    dom, dow, fires_on = days
    schedule = parse_cron(f"cron(0 12 {dom} * {dow} *)")
    first = date(year, month, 1)
    found, t = [], schedule.next_start_after(at(year, month, 1) - MINUTE)
    while t is not None and t.month == month:
        found.append(t.date())
        t = schedule.next_start_after(t)
    assert found == [d for d in month_days(first) if fires_on(d)]


cron_ish = st.lists(st.text(alphabet="0123456789*,-/?LW#JANFEBMONSUNXYZ l", max_size=8), max_size=8).map(
    lambda fields: f"cron({' '.join(fields)})")


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=300), cron_ish))
def test_parse_cron_raises_only_invalid_input(text: str) -> None:
    try:
        schedule = parse_cron(text)
    except InvalidInput as error:
        assert error.field == FIELD
        return
    t = at(2026, 1, 1)
    schedule.latest_start_at_or_before(t)
    schedule.next_start_after(t)
    MaintenanceWindow(schedule, 1430).window_at(t)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=70))
def test_parse_schedule_time_raises_only_invalid_input(text: str) -> None:
    try:
        parsed = parse_schedule_time(text, field="schedulingConfig.startTime")
    except InvalidInput as error:
        assert error.field == "schedulingConfig.startTime"
    else:
        assert parsed.tzinfo is UTC
