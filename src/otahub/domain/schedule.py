"""Job scheduling (AWS IoT Jobs ``schedulingConfig``): start and end times, cron maintenance windows. Pure Python.

``startTime`` and ``endTime`` are UTC ``YYYY-MM-DDTHH:MM`` strings (a trailing ``:SS`` and a trailing ``Z`` are also
accepted). Each of ``maintenanceWindows`` opens at the fire times of an AWS (EventBridge-style) cron expression and
stays open ``durationInMinutes`` (1..1430): a window is the half-open interval [start, start + duration). When a job
has windows, the rollout engine dispatches executions only while one is open.

The cron dialect, ``cron(minutes hours day-of-month month day-of-week year)``, six fields, UTC:

    field          values            wildcards
    minutes        0-59              , - * /
    hours          0-23              , - * /
    day-of-month   1-31              , - * ? / L W     L (last day), LW (last weekday), nW (weekday nearest n)
    month          1-12 or JAN-DEC   , - * /
    day-of-week    1-7 or SUN-SAT    , - * ? L #       L (= SAT), nL (last n-day of the month), n#k (k-th n-day)
    year           1970-2199         , - * /

Exactly one of day-of-month and day-of-week is ``?``. L, LW, nW, nL and n#k stand alone in their field (AWS: "3#1,6#3"
is invalid). Where AWS's page says nothing we follow Quartz, which the dialect comes from: names are case-insensitive,
``*/n`` is ``lowest/n``, ``a/n`` runs from a to the field's highest value, a range whose start is after its end wraps
(hours ``22-2`` are 22,23,0,1,2; ``FRI-MON``) except in the year field, and nW never leaves its month (``1W`` on a
Saturday is Monday the 3rd). A month without day n has no nW day, as it has no day n.

Searches work from the field sets, month by month and day by day, never minute by minute:
``latest_start_at_or_before`` looks back at most LOOKBACK, ``next_start_after`` ahead at most LOOKAHEAD, and
``MaintenanceWindow.window_at`` only as far back as the window's duration.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

from otahub.domain.errors import InvalidInput

CRON_FIELD = "schedulingConfig.maintenanceWindows.startTime"
DURATION_FIELD = "schedulingConfig.maintenanceWindows.durationInMinutes"
MAX_CRON_LENGTH = 256
MAX_TIME_LENGTH = 64
MIN_DURATION_MINUTES = 1
MAX_DURATION_MINUTES = 1430
MIN_YEAR = 1970
MAX_YEAR = 2199
LOOKBACK = timedelta(days=732)  # two years and a day or more: far beyond the 1430 minutes a window needs
LOOKAHEAD = timedelta(days=5 * 366)  # five years or more
FIRST_MINUTE = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
LAST_MINUTE = datetime(MAX_YEAR, 12, 31, 23, 59, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)

_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?Z?")
_NEAREST_WEEKDAY = re.compile(r"([0-9]+)W")
_LAST_OF_MONTH = re.compile(r"([0-9A-Z]+)L")
_NTH_OF_MONTH = re.compile(r"([0-9A-Z]+)#([0-9]+)")
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class _CronError(Exception):
    """What is wrong with an expression; InvalidInput puts the field name and the expression in front."""


@dataclass(frozen=True, slots=True, eq=False)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]
    steps: bool = True
    wraps: bool = True

    @property
    def size(self) -> int:
        return self.high - self.low + 1


_MINUTES = _Field("minute", 0, 59, {})
_HOURS = _Field("hour", 0, 23, {})
_DAYS_OF_MONTH = _Field("day-of-month", 1, 31, {})
_MONTHS = _Field("month", 1, 12, {name: n for n, name in enumerate(_MONTH_NAMES, start=1)})
_DAYS_OF_WEEK = _Field("day-of-week", 1, 7, {name: n for n, name in enumerate(_DAY_NAMES, start=1)}, steps=False)
_YEARS = _Field("year", MIN_YEAR, MAX_YEAR, {}, wraps=False)

_DayKind = Literal["dom", "last", "last_weekday", "nearest_weekday", "dow", "last_dow", "nth_dow"]


@dataclass(frozen=True, slots=True)
class _Days:
    """Which days of a month fire: dom/nearest_weekday take days of the month, the *dow kinds Python weekdays."""

    kind: _DayKind
    values: frozenset[int] = frozenset()
    nth: int = 0


@dataclass(frozen=True, slots=True)
class _Spec:
    minutes: tuple[int, ...]  # sorted
    hours: tuple[int, ...]  # sorted
    days: _Days
    months: frozenset[int]
    years: frozenset[int]


def _number(token: str, spec: _Field) -> int:
    if token in spec.names:
        return spec.names[token]
    if not (token.isascii() and token.isdigit()):
        kind = "a number or a name" if spec.names else "a number"
        raise _CronError(f"{spec.name} {token!r} is not {kind}")
    value = int(token)
    if not spec.low <= value <= spec.high:
        raise _CronError(f"{spec.name} {value} is out of range {spec.low}-{spec.high}")
    return value


def _step(token: str, spec: _Field) -> int:
    if not spec.steps:
        raise _CronError(f"{spec.name} takes no / increments")
    if not (token.isascii() and token.isdigit() and 1 <= int(token) <= spec.size):
        raise _CronError(f"{spec.name} increment {token!r} is not a whole number 1-{spec.size}")
    return int(token)


def _item(item: str, spec: _Field) -> list[int]:
    """One list item: *, n, a-b, each optionally followed by /step."""
    base, slash, step_token = item.partition("/")
    step = _step(step_token, spec) if slash else 1
    if base == "*":
        start, stop = spec.low, spec.high
    else:
        first, dash, last = base.partition("-")
        start = _number(first, spec)
        stop = _number(last, spec) if dash else (spec.high if slash else start)
    if stop < start and not spec.wraps:
        raise _CronError(f"{spec.name} range {start}-{stop} runs backwards")
    span = (stop - start) % spec.size  # a range whose start is after its stop wraps past the highest value
    return [spec.low + (start - spec.low + k) % spec.size for k in range(0, span + 1, step)]


def _values(text: str, spec: _Field) -> frozenset[int]:
    return frozenset(value for item in text.split(",") for value in _item(item, spec))


def _python_weekday(aws_day: int) -> int:
    """AWS numbers days 1 (SUN) to 7 (SAT); Python 0 (Monday) to 6 (Sunday)."""
    return (aws_day + 5) % 7


def _day_of_month(text: str) -> _Days | None:
    if text == "?":
        return None
    if text in ("L", "LW"):
        return _Days("last" if text == "L" else "last_weekday")
    if match := _NEAREST_WEEKDAY.fullmatch(text):
        return _Days("nearest_weekday", frozenset({_number(match[1], _DAYS_OF_MONTH)}))
    if "L" in text or "W" in text:
        raise _CronError(f"day-of-month {text!r}: L, LW and nW stand alone, without lists, ranges or increments")
    return _Days("dom", _values(text, _DAYS_OF_MONTH))


def _day_of_week(text: str) -> _Days | None:
    if text == "?":
        return None
    if text == "L":
        return _Days("dow", frozenset({_python_weekday(7)}))
    if match := _LAST_OF_MONTH.fullmatch(text):
        return _Days("last_dow", frozenset({_python_weekday(_number(match[1], _DAYS_OF_WEEK))}))
    if match := _NTH_OF_MONTH.fullmatch(text):
        weekday = _python_weekday(_number(match[1], _DAYS_OF_WEEK))
        if not 1 <= int(match[2]) <= 5:
            raise _CronError(f"day-of-week {text!r}: the week after # must be 1-5")
        return _Days("nth_dow", frozenset({weekday}), int(match[2]))
    if "L" in text or "#" in text:
        raise _CronError(f"day-of-week {text!r}: nL and n#k stand alone, without lists, ranges or other days")
    return _Days("dow", frozenset(_python_weekday(day) for day in _values(text, _DAYS_OF_WEEK)))


def _days(day_of_month: str, day_of_week: str) -> _Days:
    by_month, by_week = _day_of_month(day_of_month), _day_of_week(day_of_week)
    if by_month is None:
        if by_week is None:
            raise _CronError("day-of-month and day-of-week can't both be ?")
        return by_week
    if by_week is not None:
        raise _CronError("one of day-of-month and day-of-week must be ?")
    return by_month


@lru_cache(maxsize=1024)
def _compile(text: str) -> _Spec:
    match = _CRON.fullmatch(text)
    if match is None:
        raise _CronError("expected cron(minutes hours day-of-month month day-of-week year)")
    fields = match[1].upper().split()
    if len(fields) != 6:
        raise _CronError(f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
                         f"not {len(fields)}")
    minutes, hours, day_of_month, months, day_of_week, years = fields
    return _Spec(
        minutes=tuple(sorted(_values(minutes, _MINUTES))),
        hours=tuple(sorted(_values(hours, _HOURS))),
        days=_days(day_of_month, day_of_week),
        months=_values(months, _MONTHS),
        years=_values(years, _YEARS),
    )


def _checked(text: str, field: str) -> _Spec:
    if not 1 <= len(text) <= MAX_CRON_LENGTH:
        raise InvalidInput(f"{field}: a cron expression has 1 to {MAX_CRON_LENGTH} characters, not {len(text)}",
                           field=field)
    try:
        return _compile(text)
    except _CronError as error:
        raise InvalidInput(f"{field}: {text!r}: {error}", field=field) from None


def _nearest_weekday(day: int, weekday: int, length: int) -> int:
    """The weekday nearest ``day`` without leaving the month."""
    if weekday == calendar.SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == calendar.SUNDAY:
        return day + 1 if day < length else day - 2
    return day


def _select_days(days: _Days, first_weekday: int, length: int) -> tuple[int, ...]:
    def weekday(day: int) -> int:
        return (first_weekday + day - 1) % 7

    value = min(days.values, default=0)  # the one value of the kinds that take one
    match days.kind:
        case "dom":
            return tuple(sorted(day for day in days.values if day <= length))
        case "last":
            return (length,)
        case "last_weekday":
            return (_nearest_weekday(length, weekday(length), length),)
        case "nearest_weekday":
            return (_nearest_weekday(value, weekday(value), length),) if value <= length else ()
        case "dow":
            return tuple(day for day in range(1, length + 1) if weekday(day) in days.values)
        case "last_dow":
            return (length - (weekday(length) - value) % 7,)
        case "nth_dow":
            day = 1 + (value - first_weekday) % 7 + 7 * (days.nth - 1)
            return (day,) if day <= length else ()


@lru_cache(maxsize=4096)
def _days_in_month(days: _Days, year: int, month: int) -> tuple[int, ...]:
    """The days of this month that fire, ascending."""
    first_weekday, length = calendar.monthrange(year, month)
    return _select_days(days, first_weekday, length)


def _fire_days(spec: _Spec, year: int, month: int) -> tuple[int, ...]:
    return _days_in_month(spec.days, year, month) if month in spec.months else ()


def _latest_time(spec: _Spec, hour: int, minute: int) -> tuple[int, int] | None:
    """The greatest (hour, minute) of the schedule at or before hour:minute on one day."""
    hours, minutes = spec.hours, spec.minutes
    i = bisect_right(hours, hour)
    if i and hours[i - 1] == hour:
        j = bisect_right(minutes, minute)
        if j:
            return hour, minutes[j - 1]
        i -= 1
    return (hours[i - 1], minutes[-1]) if i else None


def _earliest_time(spec: _Spec, hour: int, minute: int) -> tuple[int, int] | None:
    """The least (hour, minute) of the schedule at or after hour:minute on one day."""
    hours, minutes = spec.hours, spec.minutes
    i = bisect_left(hours, hour)
    if i < len(hours) and hours[i] == hour:
        j = bisect_left(minutes, minute)
        if j < len(minutes):
            return hour, minutes[j]
        i += 1
    return (hours[i], minutes[0]) if i < len(hours) else None


def _months_back(spec: _Spec, bound: datetime, floor: datetime) -> Iterator[tuple[int, int]]:
    for year in range(bound.year, floor.year - 1, -1):
        if year in spec.years:
            last = bound.month if year == bound.year else 12
            first = floor.month if year == floor.year else 1
            yield from ((year, month) for month in range(last, first - 1, -1))


def _months_ahead(spec: _Spec, start: datetime, ceiling: datetime) -> Iterator[tuple[int, int]]:
    for year in range(start.year, ceiling.year + 1):
        if year in spec.years:
            first = start.month if year == start.year else 1
            last = ceiling.month if year == ceiling.year else 12
            yield from ((year, month) for month in range(first, last + 1))


def _latest(spec: _Spec, bound: datetime, floor: datetime) -> datetime | None:
    """The greatest fire time in [floor, bound], bound on a whole minute."""
    for year, month in _months_back(spec, bound, floor):
        same_month = (year, month) == (bound.year, bound.month)
        for day in reversed(_fire_days(spec, year, month)):
            if same_month and day > bound.day:
                continue
            same_day = same_month and day == bound.day
            at = _latest_time(spec, bound.hour, bound.minute) if same_day else (spec.hours[-1], spec.minutes[-1])
            if at is not None:
                fire = datetime(year, month, day, *at, tzinfo=UTC)
                return fire if fire >= floor else None
    return None


def _earliest(spec: _Spec, start: datetime, ceiling: datetime) -> datetime | None:
    """The least fire time in [start, ceiling], start on a whole minute."""
    for year, month in _months_ahead(spec, start, ceiling):
        same_month = (year, month) == (start.year, start.month)
        for day in _fire_days(spec, year, month):
            if same_month and day < start.day:
                continue
            same_day = same_month and day == start.day
            at = _earliest_time(spec, start.hour, start.minute) if same_day else (spec.hours[0], spec.minutes[0])
            if at is not None:
                fire = datetime(year, month, day, *at, tzinfo=UTC)
                return fire if fire <= ceiling else None
    return None


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"schedule times are timezone-aware UTC datetimes, not the naive {t.isoformat()}")
    return t.astimezone(UTC)


def _whole_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """An AWS cron expression, compiled once to its field sets; constructing one validates it."""

    expression: str
    _spec: _Spec = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_spec", _checked(self.expression, CRON_FIELD))

    def latest_start_at_or_before(self, t: datetime) -> datetime | None:
        """The greatest fire time <= t, if one is at most LOOKBACK before t."""
        return self._latest_within(t, LOOKBACK)

    def next_start_after(self, t: datetime) -> datetime | None:
        """The least fire time > t, if one is at most LOOKAHEAD after t."""
        t = _utc(t)
        if t >= LAST_MINUTE:
            return None
        start = max(_whole_minute(t) + _MINUTE, FIRST_MINUTE)
        ceiling = LAST_MINUTE if t > LAST_MINUTE - LOOKAHEAD else t + LOOKAHEAD
        return _earliest(self._spec, start, ceiling)

    def _latest_within(self, t: datetime, lookback: timedelta) -> datetime | None:
        """The greatest fire time in [t - lookback, t]."""
        t = _utc(t)
        bound = min(_whole_minute(t), LAST_MINUTE)
        floor = FIRST_MINUTE if t < FIRST_MINUTE + lookback else t - lookback
        return _latest(self._spec, bound, floor)


def parse_cron(text: str, *, field: str = CRON_FIELD) -> CronSchedule:
    """A CronSchedule, or InvalidInput naming ``field`` and what is wrong with ``text``."""
    _checked(text, field)
    return CronSchedule(text)


def parse_schedule_time(text: str, *, field: str) -> datetime:
    """A StringDateTime (``YYYY-MM-DDTHH:MM``, optionally ``:SS``, optionally ``Z``) as an aware UTC datetime."""
    if not 1 <= len(text) <= MAX_TIME_LENGTH:
        raise InvalidInput(f"{field}: a date and time has 1 to {MAX_TIME_LENGTH} characters, not {len(text)}",
                           field=field)
    match = _TIME.fullmatch(text)
    if match is None:
        raise InvalidInput(f"{field}: {text!r} is not a UTC date and time YYYY-MM-DDTHH:MM (optionally :SS and Z)",
                           field=field)
    year, month, day, hour, minute, second = (int(part) for part in match.groups(default="0"))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as error:
        raise InvalidInput(f"{field}: {text!r} is not a valid date and time: {error}", field=field) from None


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Open from each fire time of ``schedule`` for ``duration_minutes``: [start, start + duration)."""

    schedule: CronSchedule
    duration_minutes: int

    def __post_init__(self) -> None:
        if not MIN_DURATION_MINUTES <= self.duration_minutes <= MAX_DURATION_MINUTES:
            raise InvalidInput(
                f"{DURATION_FIELD}: a maintenance window lasts {MIN_DURATION_MINUTES} to {MAX_DURATION_MINUTES} "
                f"minutes, not {self.duration_minutes}",
                field=DURATION_FIELD,
            )

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    def window_at(self, t: datetime) -> tuple[datetime, datetime] | None:
        """The [start, end) window containing t, if any (with one duration, the latest start ends latest)."""
        start = self.schedule._latest_within(t, self.duration)
        if start is None or _utc(t) >= start + self.duration:
            return None
        return start, start + self.duration

    def next_opening_after(self, t: datetime) -> datetime | None:
        """The next window start > t (within LOOKAHEAD), whether or not a window is open at t."""
        return self.schedule.next_start_after(t)


def open_window(windows: Sequence[MaintenanceWindow], t: datetime) -> tuple[datetime, datetime] | None:
    """A window containing t: of those open, the one ending latest (and, of those, the longest)."""
    found = [window for window in (w.window_at(t) for w in windows) if window is not None]
    return max(found, key=lambda window: (window[1], window[1] - window[0]), default=None)


def next_opening(windows: Sequence[MaintenanceWindow], t: datetime) -> datetime | None:
    """The earliest window start > t of any of the windows."""
    return min((s for s in (w.next_opening_after(t) for w in windows) if s is not None), default=None)
