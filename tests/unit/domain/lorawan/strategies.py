"""Hypothesis strategies for every FUOTA application-layer command, generated from the declared field widths."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from otahub.domain.lorawan import clock_sync, fragmentation, multicast
from otahub.domain.lorawan.commands import Command, CommandTable, SInt, Size, UInt, field_widths
from otahub.domain.lorawan.fragmentation import DataFragment
from otahub.domain.lorawan.multicast import McClassBSessionAns, McClassCSessionAns, McGroup, McGroupStatusAns

#: (label, port, version, uplink, table) for every distinct decoder table (TS003/TS005 share v1 and v2).
TABLES: list[tuple[str, int, int, bool, CommandTable]] = [
    (
        f"{module.__name__.rsplit('.', 1)[1]}-v{version}-{'up' if uplink else 'down'}",
        module.PORT,
        version,
        uplink,
        table,
    )
    for module in (fragmentation, multicast, clock_sync)
    for uplink, tables in ((False, module.DOWNLINK), (True, module.UPLINK))
    for version, table in tables.items()
    if version == 1 or table is not tables[1]
]


def _width(width: Any) -> st.SearchStrategy[Any]:
    if width is bool:
        return st.booleans()
    if isinstance(width, Size):
        return st.binary(min_size=width.size, max_size=width.size)
    if isinstance(width, SInt):
        return st.integers(-(1 << (width.bits - 1)), (1 << (width.bits - 1)) - 1)
    assert isinstance(width, UInt)
    step = width.step
    return st.integers(0, (1 << width.bits) - 1).map(lambda value: value * step)


def _session_ans(kind: Any) -> st.SearchStrategy[Command]:
    groups = st.integers(0, 3)
    accepted = st.builds(kind, groups, st.integers(0, (1 << 24) - 1))
    flags = st.tuples(*[st.booleans()] * 4).filter(any)
    refused = st.builds(lambda group, bits: kind(group, None, *bits), groups, flags)
    return st.one_of(accepted, refused)


@st.composite
def _group_status(draw: st.DrawFn) -> McGroupStatusAns:
    mask = draw(st.integers(0, 15))
    ids = [group for group in range(4) if mask >> group & 1]
    entries = tuple(McGroup(group, draw(st.integers(0, (1 << 32) - 1))) for group in draw(st.permutations(ids)))
    return McGroupStatusAns(mask, draw(st.integers(0, 7)), entries)


def command(kind: type[Command]) -> st.SearchStrategy[Command]:
    """Valid instances of one command class."""
    if kind is DataFragment:
        return st.builds(DataFragment, st.integers(0, 3), st.integers(1, (1 << 14) - 1), st.binary(min_size=1))
    if kind in (McClassCSessionAns, McClassBSessionAns):
        return _session_ans(kind)
    if kind is McGroupStatusAns:
        return _group_status()
    return st.builds(kind, **{name: _width(width) for name, width in field_widths(kind).items()})


def commands(table: CommandTable) -> st.SearchStrategy[Command]:
    return st.one_of([command(kind) for kind in table.values()])


def batch(table: CommandTable) -> st.SearchStrategy[list[Command]]:
    """Several commands of one table that may share a frame (no DataFragment)."""
    return st.lists(st.one_of([command(kind) for kind in table.values() if not kind.ALONE]), max_size=6)


@st.composite
def damaged(draw: st.DrawFn, table: CommandTable) -> bytes:
    """Valid frames cut short, extended with junk or with a byte flipped: the decoder's edge cases."""
    frame = b"".join(command.encode() for command in draw(batch(table)))
    if draw(st.booleans()) and frame:
        frame = frame[: draw(st.integers(0, len(frame) - 1))]
    frame += draw(st.binary(max_size=6))
    if frame and draw(st.booleans()):
        at = draw(st.integers(0, len(frame) - 1))
        frame = frame[:at] + bytes([frame[at] ^ draw(st.integers(1, 255))]) + frame[at + 1 :]
    return frame
