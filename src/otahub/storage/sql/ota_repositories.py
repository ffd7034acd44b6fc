"""OTA updates over SQLAlchemy Core: the request is kept as JSON in the domain's terms."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from otahub.domain.ota import CodeSigning, CustomSigning, ErrorInfo, OtaFile, OtaStatus, OtaUpdate, StreamRef
from otahub.domain.streams import S3Location
from otahub.storage.sql.job_repositories import config_from_json, config_to_json
from otahub.storage.sql.tables import ota_updates


def _signing_to_json(signing: CodeSigning) -> dict[str, Any]:
    custom = signing.custom
    return {
        "signer_job_id": signing.signer_job_id,
        "start_signing": dict(signing.start_signing) if signing.start_signing is not None else None,
        "custom": None if custom is None else {
            "signature": base64.b64encode(custom.signature).decode() if custom.signature is not None else None,
            "certificate_name": custom.certificate_name, "certificate_pem": custom.certificate_pem,
            "hash_algorithm": custom.hash_algorithm, "signature_algorithm": custom.signature_algorithm,
        },
    }


def _signing_from_json(data: Mapping[str, Any]) -> CodeSigning:
    custom = data.get("custom")
    return CodeSigning(
        signer_job_id=data.get("signer_job_id"), start_signing=data.get("start_signing"),
        custom=None if custom is None else CustomSigning(
            signature=base64.b64decode(custom["signature"]) if custom.get("signature") is not None else None,
            certificate_name=custom.get("certificate_name"), certificate_pem=custom.get("certificate_pem"),
            hash_algorithm=custom.get("hash_algorithm"), signature_algorithm=custom.get("signature_algorithm"),
        ),
    )


def _file_to_json(file: OtaFile) -> dict[str, Any]:
    return {
        "file_name": file.file_name, "file_type": file.file_type, "file_version": file.file_version,
        "stream": None if file.stream is None else [file.stream.stream_id, file.stream.file_id],
        "s3": None if file.s3 is None else [file.s3.bucket, file.s3.key, file.s3.version],
        "signing": _signing_to_json(file.signing), "attributes": dict(file.attributes),
    }


def _file_from_json(data: Mapping[str, Any]) -> OtaFile:
    stream, s3 = data.get("stream"), data.get("s3")
    return OtaFile(
        file_name=data.get("file_name"), file_type=data.get("file_type"), file_version=data.get("file_version"),
        stream=StreamRef(stream[0], stream[1]) if stream else None,
        s3=S3Location(s3[0], s3[1], s3[2]) if s3 else None,
        signing=_signing_from_json(data.get("signing") or {}), attributes=dict(data.get("attributes") or {}),
    )


def _values(ota: OtaUpdate) -> dict[str, Any]:
    return {
        "ota_update_id": ota.ota_update_id, "status": ota.status.value, "description": ota.description,
        "request": {
            "targets": list(ota.targets), "protocols": list(ota.protocols), "target_selection": ota.target_selection,
            "files": [_file_to_json(f) for f in ota.files], "role_arn": ota.role_arn,
            "config": config_to_json(ota.config), "additional_parameters": dict(ota.additional_parameters),
        },
        "job_id": ota.job_id, "stream_id": ota.stream_id, "stream_created": ota.stream_created,
        "error_info": None if ota.error is None else {"code": ota.error.code, "message": ota.error.message},
        "created_at": ota.created_at, "updated_at": ota.updated_at,
    }


def _ota(row: Row[Any]) -> OtaUpdate:
    request = row.request
    error = row.error_info
    return OtaUpdate(
        ota_update_id=row.ota_update_id, targets=tuple(request["targets"]),
        files=tuple(_file_from_json(f) for f in request["files"]), role_arn=request["role_arn"],
        status=OtaStatus(row.status), created_at=row.created_at, updated_at=row.updated_at,
        description=row.description, protocols=tuple(request["protocols"]),
        target_selection=request["target_selection"], config=config_from_json(request["config"]),
        additional_parameters=dict(request["additional_parameters"]), job_id=row.job_id, stream_id=row.stream_id,
        stream_created=row.stream_created, error=None if error is None else ErrorInfo(error["code"], error["message"]),
    )


class SqlOtaUpdates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, ota_update_id: str) -> OtaUpdate | None:
        row = self.conn.execute(select(ota_updates).where(ota_updates.c.ota_update_id == ota_update_id)).first()
        return _ota(row) if row else None

    def add(self, ota: OtaUpdate) -> None:
        self.conn.execute(insert(ota_updates).values(**_values(ota)))

    def save(self, ota: OtaUpdate) -> None:
        self.conn.execute(update(ota_updates).where(ota_updates.c.ota_update_id == ota.ota_update_id)
                          .values(**_values(ota)))

    def delete(self, ota_update_id: str) -> None:
        self.conn.execute(delete(ota_updates).where(ota_updates.c.ota_update_id == ota_update_id))

    def page(self, status: str | None, after: int, limit: int) -> list[tuple[int, OtaUpdate]]:
        query = select(ota_updates).where(ota_updates.c.seq > after)
        if status:
            query = query.where(ota_updates.c.status == status)
        rows = self.conn.execute(query.order_by(ota_updates.c.seq).limit(limit))
        return [(row.seq, _ota(row)) for row in rows]

    def with_status(self, statuses: Sequence[OtaStatus]) -> list[str]:
        query = select(ota_updates.c.ota_update_id).where(ota_updates.c.status.in_([s.value for s in statuses]))
        return [row.ota_update_id for row in self.conn.execute(query.order_by(ota_updates.c.seq))]
