"""Properties of every command codec: decode(encode(c)) == c, concatenated commands split back, any bytes
decode or raise LorawanCodecError, and out-of-range fields are refused at construction."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.domain.errors import InvalidInput
from otahub.domain.lorawan.commands import (
    Command,
    CommandTable,
    LorawanCodecError,
    Reader,
    SInt,
    Size,
    UInt,
    decode_commands,
    encode_commands,
    field_widths,
)
from otahub.domain.lorawan.fragmentation import DataFragment, FragSessionDeleteReq
from otahub.domain.lorawan.packages import decode_downlink, decode_uplink
from tests.unit.domain.lorawan import strategies

TABLE_IDS = [label for label, *_ in strategies.TABLES]
TABLES = [table for *_, table in strategies.TABLES]
KINDS = sorted({kind for table in TABLES for kind in table.values()}, key=lambda kind: kind.__name__)


@pytest.mark.parametrize("table", TABLES, ids=TABLE_IDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_command_round_trips(table: CommandTable, data: st.DataObject) -> None:
    command = data.draw(strategies.commands(table))
    assert decode_commands(command.encode(), table) == [command]


@pytest.mark.parametrize("table", TABLES, ids=TABLE_IDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_concatenated_commands_split_back(table: CommandTable, data: st.DataObject) -> None:
    batch = data.draw(strategies.batch(table))
    payload = encode_commands(batch)
    assert payload == b"".join(command.encode() for command in batch)
    assert decode_commands(payload, table) == batch


@pytest.mark.parametrize(("port", "version", "uplink", "table"), [t[1:] for t in strategies.TABLES], ids=TABLE_IDS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_arbitrary_bytes_decode_or_raise_the_codec_error(
    port: int, version: int, uplink: bool, table: CommandTable, data: st.DataObject
) -> None:
    payload = data.draw(st.one_of(st.binary(max_size=40), strategies.damaged(table)))
    decode = decode_uplink if uplink else decode_downlink
    try:
        commands = decode(port, payload, version)
    except LorawanCodecError:
        return
    assert all(isinstance(command, Command) for command in commands)


@pytest.mark.parametrize("table", TABLES, ids=TABLE_IDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_proper_prefix_is_a_truncation(table: CommandTable, data: st.DataObject) -> None:
    command = data.draw(strategies.commands(table).filter(lambda c: not c.ALONE))
    encoded = command.encode()
    for cut in range(1, len(encoded)):
        decoded = _try(encoded[:cut], table)
        # A shorter frame never yields this command: it fails or is a different (shorter) valid command.
        assert decoded != [command]


def _try(payload: bytes, table: CommandTable) -> list[Command] | None:
    try:
        return decode_commands(payload, table)
    except LorawanCodecError:
        return None


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.__name__)
@settings(max_examples=3, deadline=None)
@given(data=st.data())
def test_out_of_range_fields_are_refused(kind: type[Command], data: st.DataObject) -> None:
    valid = data.draw(strategies.command(kind))
    for name, width in field_widths(kind).items():
        for bad in _bad_values(width):
            with pytest.raises(LorawanCodecError):
                dataclasses.replace(valid, **{name: bad})


def _bad_values(width: object) -> list[object]:
    if width is bool:
        return [1, None]
    if isinstance(width, Size):
        return [bytes(width.size - 1), bytes(width.size + 1), "x" * width.size]
    if isinstance(width, SInt):
        return [1 << (width.bits - 1), -(1 << (width.bits - 1)) - 1, 1.0, True]
    assert isinstance(width, UInt)
    bad: list[object] = [-width.step, (1 << width.bits) * width.step, "1", True]
    if width.step > 1:
        bad.append(width.step + 1)
    return bad


def test_the_codec_error_is_a_value_error_and_an_invalid_input() -> None:
    assert issubclass(LorawanCodecError, ValueError)
    assert issubclass(LorawanCodecError, InvalidInput)


def test_reader_reports_short_reads() -> None:
    reader = Reader(b"\x01\x02")
    assert reader.u16() == 0x0201
    with pytest.raises(LorawanCodecError, match="truncated"):
        reader.u8()


def test_a_data_fragment_goes_alone() -> None:
    fragment = DataFragment(0, 1, b"\xaa")
    with pytest.raises(LorawanCodecError, match="only command"):
        encode_commands([FragSessionDeleteReq(0), fragment])
    with pytest.raises(LorawanCodecError, match="only command"):
        decode_downlink(201, bytes.fromhex("03 00 08 01 00 aa"))
    # In first position it takes the rest of the frame, whatever follows.
    assert decode_downlink(201, bytes.fromhex("08 01 00 03 00")) == [DataFragment(0, 1, b"\x03\x00")]
