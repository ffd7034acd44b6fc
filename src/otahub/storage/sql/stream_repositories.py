"""Streams and their resolved files over SQLAlchemy Core, with explicit row <-> domain functions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.engine import Row

from otahub.domain.streams import S3Location, Stream, StreamFile
from otahub.storage.sql.tables import stream_files, streams

_STREAM_BY_ID = select(streams).where(streams.c.stream_id == bindparam("stream_id"))
_SEQ_BY_ID = select(streams.c.seq).where(streams.c.stream_id == bindparam("stream_id"))


def _file(row: Row[Any]) -> StreamFile:
    return StreamFile(
        file_id=row.file_id, location=S3Location(row.bucket, row.key, row.requested_version),
        version_id=row.version_id, size=row.size, sha256=row.sha256,
    )


def _stream(row: Row[Any], files: Sequence[StreamFile]) -> Stream:
    return Stream(
        stream_id=row.stream_id, description=row.description, files=tuple(files), role_arn=row.role_arn,
        version=row.version, created_at=row.created_at, updated_at=row.updated_at,
    )


def _stream_values(stream: Stream) -> dict[str, Any]:
    return {
        "stream_id": stream.stream_id, "description": stream.description, "role_arn": stream.role_arn,
        "version": stream.version, "created_at": stream.created_at, "updated_at": stream.updated_at,
    }


def _file_rows(seq: int, files: Sequence[StreamFile]) -> list[dict[str, Any]]:
    return [
        {"stream_seq": seq, "file_id": f.file_id, "position": position, "bucket": f.location.bucket,
         "key": f.location.key, "requested_version": f.location.version, "version_id": f.version_id,
         "size": f.size, "sha256": f.sha256}
        for position, f in enumerate(files)
    ]


class SqlStreams:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, stream_id: str) -> Stream | None:
        row = self.conn.execute(_STREAM_BY_ID, {"stream_id": stream_id}).first()
        return _stream(row, self._files([row.seq])[row.seq]) if row else None

    def add(self, stream: Stream) -> None:
        result = self.conn.execute(insert(streams).values(**_stream_values(stream)))
        key = result.inserted_primary_key
        assert key is not None
        self.conn.execute(insert(stream_files), _file_rows(int(key[0]), stream.files))

    def save(self, stream: Stream) -> None:
        seq = self.conn.execute(
            update(streams).where(streams.c.stream_id == stream.stream_id)
            .values(**_stream_values(stream)).returning(streams.c.seq)
        ).scalar_one()
        self.conn.execute(delete(stream_files).where(stream_files.c.stream_seq == seq))
        self.conn.execute(insert(stream_files), _file_rows(seq, stream.files))

    def delete(self, stream_id: str) -> None:
        seq = self.conn.execute(_SEQ_BY_ID, {"stream_id": stream_id}).scalar()
        if seq is not None:
            self.conn.execute(delete(stream_files).where(stream_files.c.stream_seq == seq))
            self.conn.execute(delete(streams).where(streams.c.seq == seq))

    def page(self, ascending: bool, after: int, limit: int) -> list[tuple[int, Stream]]:
        query = select(streams)
        if ascending:
            query = query.where(streams.c.seq > after).order_by(streams.c.seq)
        else:
            query = query.where(streams.c.seq < after) if after else query
            query = query.order_by(streams.c.seq.desc())
        rows = list(self.conn.execute(query.limit(limit)))
        files = self._files([row.seq for row in rows])
        return [(row.seq, _stream(row, files[row.seq])) for row in rows]

    def _files(self, seqs: list[int]) -> dict[int, list[StreamFile]]:
        by_stream: dict[int, list[StreamFile]] = defaultdict(list)
        if seqs:
            query = (select(stream_files).where(stream_files.c.stream_seq.in_(seqs))
                     .order_by(stream_files.c.stream_seq, stream_files.c.position))
            for row in self.conn.execute(query):
                by_stream[row.stream_seq].append(_file(row))
        return by_stream
