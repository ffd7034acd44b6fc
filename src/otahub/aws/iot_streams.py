"""The iot Streams API: wire parameters in, StreamService calls, wire results out.

Kept apart from aws/iot.py (things and groups) so each handler class stays small and takes only the
services it uses; both register under the `iot` service in app.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot import tags_from_wire
from otahub.domain.errors import InvalidInput
from otahub.domain.ids import Arns
from otahub.domain.streams import FileRequest, S3Location, Stream, StreamFile
from otahub.services.streams import StreamService


def _file_request(index: int, item: Mapping[str, Any]) -> FileRequest:
    """One StreamFile of the request; the model leaves its members optional, a stream cannot."""
    where = f"files.{index + 1}.member"  # the validator's way of naming a list member
    if item.get("fileId") is None:
        raise InvalidInput(f"{where}.fileId is required", field=f"{where}.fileId")
    location = item.get("s3Location")
    if not location or not location.get("bucket") or not location.get("key"):
        raise InvalidInput(f"{where}.s3Location with a bucket and a key is required", field=f"{where}.s3Location")
    return FileRequest(int(item["fileId"]), S3Location(location["bucket"], location["key"], location.get("version")))


def _file_requests(files: list[Mapping[str, Any]] | None) -> list[FileRequest] | None:
    return None if files is None else [_file_request(i, item) for i, item in enumerate(files)]


def _wire_file(file: StreamFile) -> Result:
    location: Result = {"bucket": file.location.bucket, "key": file.location.key}
    if file.location.version is not None:
        location["version"] = file.location.version
    return {"fileId": file.file_id, "s3Location": location}


class IotStreamsApi:
    def __init__(self, streams: StreamService, arns: Arns) -> None:
        self.streams = streams
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateStream": self.create_stream,
            "DescribeStream": self.describe_stream,
            "ListStreams": self.list_streams,
            "UpdateStream": self.update_stream,
            "DeleteStream": self.delete_stream,
        }

    def _summary(self, stream: Stream) -> Result:
        return {
            "streamId": stream.stream_id, "streamArn": self.arns.stream(stream.stream_id),
            "description": stream.description, "streamVersion": stream.version,
        }

    def create_stream(self, ctx: CallContext, p: Params) -> Result:
        stream = self.streams.create_stream(
            p["streamId"], p.get("description"), _file_requests(p["files"]) or [], p["roleArn"],
            tags_from_wire(p.get("tags")),
        )
        return self._summary(stream)

    def describe_stream(self, ctx: CallContext, p: Params) -> Result:
        stream = self.streams.describe_stream(p["streamId"])
        return {"streamInfo": {
            **self._summary(stream),
            "files": [_wire_file(f) for f in stream.files],
            "createdAt": stream.created_at, "lastUpdatedAt": stream.updated_at, "roleArn": stream.role_arn,
        }}

    def list_streams(self, ctx: CallContext, p: Params) -> Result:
        page = self.streams.list_streams(bool(p.get("ascendingOrder", False)), p.get("nextToken"), p.get("maxResults"))
        return {"streams": [self._summary(s) for s in page.items], "nextToken": page.next_token}

    def update_stream(self, ctx: CallContext, p: Params) -> Result:
        stream = self.streams.update_stream(
            p["streamId"], p.get("description"), _file_requests(p.get("files")), p.get("roleArn")
        )
        return self._summary(stream)

    def delete_stream(self, ctx: CallContext, p: Params) -> Result:
        self.streams.delete_stream(p["streamId"])
        return {}
