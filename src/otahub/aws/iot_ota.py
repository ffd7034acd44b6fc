"""The iot OTA update API: CreateOTAUpdate, GetOTAUpdate, ListOTAUpdates, DeleteOTAUpdate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot import tags_from_wire
from otahub.aws.iot_jobs import abort_from_wire, rollout_from_wire, rollout_to_wire, without_none
from otahub.domain.ids import Arns
from otahub.domain.jobs import JobConfig, PresignedUrlConfig
from otahub.domain.ota import CodeSigning, CustomSigning, OtaFile, OtaStatus, OtaUpdate, StreamRef
from otahub.domain.streams import S3Location
from otahub.services.ota import OtaService


def _signing_from_wire(data: Mapping[str, Any] | None) -> CodeSigning:
    if not data:
        return CodeSigning()
    custom = data.get("customCodeSigning")
    chain = (custom or {}).get("certificateChain") or {}
    return CodeSigning(
        signer_job_id=data.get("awsSignerJobId"),
        start_signing=data.get("startSigningJobParameter"),
        custom=None if custom is None else CustomSigning(
            signature=(custom.get("signature") or {}).get("inlineDocument"),
            certificate_name=chain.get("certificateName"), certificate_pem=chain.get("inlineDocument"),
            hash_algorithm=custom.get("hashAlgorithm"), signature_algorithm=custom.get("signatureAlgorithm"),
        ),
    )


def _file_from_wire(data: Mapping[str, Any]) -> OtaFile:
    location = data.get("fileLocation") or {}
    stream, s3 = location.get("stream"), location.get("s3Location")
    return OtaFile(
        file_name=data.get("fileName"), file_type=data.get("fileType"), file_version=data.get("fileVersion"),
        stream=StreamRef(stream.get("streamId", ""), stream.get("fileId", 0)) if stream is not None else None,
        s3=S3Location(s3.get("bucket", ""), s3.get("key", ""), s3.get("version")) if s3 is not None else None,
        signing=_signing_from_wire(data.get("codeSigning")), attributes=dict(data.get("attributes") or {}),
    )


def _signing_to_wire(signing: CodeSigning) -> Result | None:
    if not signing.given:
        return None
    custom = signing.custom
    return without_none({
        "awsSignerJobId": signing.signer_job_id,
        "startSigningJobParameter": signing.start_signing,
        "customCodeSigning": None if custom is None else without_none({
            "signature": {"inlineDocument": custom.signature} if custom.signature is not None else None,
            "certificateChain": without_none({"certificateName": custom.certificate_name,
                                                "inlineDocument": custom.certificate_pem}) or None,
            "hashAlgorithm": custom.hash_algorithm, "signatureAlgorithm": custom.signature_algorithm,
        }),
    })


def _file_to_wire(file: OtaFile) -> Result:
    location: Result = {}
    if file.stream is not None:
        location["stream"] = {"streamId": file.stream.stream_id, "fileId": file.stream.file_id}
    if file.s3 is not None:
        location["s3Location"] = without_none({"bucket": file.s3.bucket, "key": file.s3.key,
                                                 "version": file.s3.version})
    return without_none({
        "fileName": file.file_name, "fileType": file.file_type, "fileVersion": file.file_version,
        "fileLocation": location, "codeSigning": _signing_to_wire(file.signing),
        "attributes": dict(file.attributes) or None,
    })


def _config_from_wire(p: Params) -> JobConfig:
    presigned = p.get("awsJobPresignedUrlConfig") or {}
    return JobConfig(
        presigned_url=PresignedUrlConfig(p["roleArn"], presigned.get("expiresInSec")),
        rollout=rollout_from_wire(p.get("awsJobExecutionsRolloutConfig")),
        abort=abort_from_wire((p.get("awsJobAbortConfig") or {}).get("abortCriteriaList")),
        in_progress_timeout_minutes=(p.get("awsJobTimeoutConfig") or {}).get("inProgressTimeoutInMinutes"),
    )


class IotOtaApi:
    def __init__(self, ota: OtaService, arns: Arns) -> None:
        self.ota = ota
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateOTAUpdate": self.create_ota_update,
            "GetOTAUpdate": self.get_ota_update,
            "ListOTAUpdates": self.list_ota_updates,
            "DeleteOTAUpdate": self.delete_ota_update,
        }

    def create_ota_update(self, ctx: CallContext, p: Params) -> Result:
        pending = OtaUpdate(
            ota_update_id=p["otaUpdateId"], targets=tuple(p["targets"]),
            files=tuple(_file_from_wire(f) for f in p["files"]), role_arn=p["roleArn"],
            status=OtaStatus.CREATE_PENDING, created_at=ctx.now, updated_at=ctx.now,
            description=p.get("description"), protocols=tuple(p.get("protocols") or ("MQTT",)),
            target_selection=p.get("targetSelection") or "SNAPSHOT", config=_config_from_wire(p),
            additional_parameters=dict(p.get("additionalParameters") or {}),
        )
        created = self.ota.create(pending, tags_from_wire(p.get("tags")))
        return {
            "otaUpdateId": created.ota_update_id, "otaUpdateArn": self.arns.ota_update(created.ota_update_id),
            "awsIotJobId": created.expected_job_id, "awsIotJobArn": self.arns.job(created.expected_job_id),
            "otaUpdateStatus": created.status.value,
        }

    def get_ota_update(self, ctx: CallContext, p: Params) -> Result:
        ota = self.ota.get(p["otaUpdateId"])
        presigned = ota.config.presigned_url
        return {"otaUpdateInfo": without_none({
            "otaUpdateId": ota.ota_update_id, "otaUpdateArn": self.arns.ota_update(ota.ota_update_id),
            "creationDate": ota.created_at, "lastModifiedDate": ota.updated_at, "description": ota.description,
            "targets": list(ota.targets), "protocols": list(ota.protocols),
            "awsJobExecutionsRolloutConfig": rollout_to_wire(ota.config.rollout),
            "awsJobPresignedUrlConfig": {"expiresInSec": presigned.expires_in_sec}
            if presigned and presigned.expires_in_sec else None,
            "targetSelection": ota.target_selection, "otaUpdateFiles": [_file_to_wire(f) for f in ota.files],
            "otaUpdateStatus": ota.status.value, "awsIotJobId": ota.job_id,
            "awsIotJobArn": self.arns.job(ota.job_id) if ota.job_id else None,
            "errorInfo": {"code": ota.error.code, "message": ota.error.message} if ota.error else None,
            "additionalParameters": dict(ota.additional_parameters) or None,
        })}

    def list_ota_updates(self, ctx: CallContext, p: Params) -> Result:
        page = self.ota.list(p.get("otaUpdateStatus"), p.get("nextToken"), p.get("maxResults"))
        return {"otaUpdates": [
            {"otaUpdateId": o.ota_update_id, "otaUpdateArn": self.arns.ota_update(o.ota_update_id),
             "creationDate": o.created_at} for o in page.items
        ], "nextToken": page.next_token}

    def delete_ota_update(self, ctx: CallContext, p: Params) -> Result:
        self.ota.delete(p["otaUpdateId"], bool(p.get("deleteStream")), bool(p.get("forceDeleteAWSJob")))
        return {}
