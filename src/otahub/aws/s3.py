"""The S3 subset on otahub's endpoint: wire params <-> ObjectStore, S3's own error codes, payload checks.

Path-style addressing only (``/{Bucket}/{Key+}``). Bodies of PutObject and UploadPart arrive
already spooled to disk by the ASGI layer, with their digests; this module checks them against
Content-MD5, x-amz-content-sha256 and the x-amz-checksum-* headers before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.errors import WireError
from otahub.domain import errors as domain
from otahub.domain.objects import (
    BadDigest,
    Conditions,
    NotModified,
    ObjectVersion,
    PreconditionFailed,
    RangeNotSatisfiable,
    parse_range,
)
from otahub.services.objects import EntityTooSmall, InvalidPart, NewObject, ObjectStore
from otahub.services.ports import SpooledBlob

OWNER = {"DisplayName": "otahub", "ID": "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"}
UNSIGNED = "UNSIGNED-PAYLOAD"
CHECKSUMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")

# The protocol layer's codes, as S3 spells them.
CODE_ALIASES = {
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidAccessKeyId",
    "MissingAuthenticationTokenException": "AccessDenied",
    "AccessDeniedException": "AccessDenied",
    "IncompleteSignatureException": "AuthorizationHeaderMalformed",
    "AuthorizationQueryParametersError": "AuthorizationQueryParametersError",
    "NotImplementedException": "NotImplemented",
    "UnknownOperationException": "MethodNotAllowed",
    "InternalFailureException": "InternalError",
    "SerializationException": "MalformedXML",
    "RequestEntityTooLargeException": "EntityTooLarge",
}

_NOT_FOUND = {"Bucket": "NoSuchBucket", "Key": "NoSuchKey", "Version": "NoSuchVersion", "Upload": "NoSuchUpload"}


def map_error(error: domain.DomainError) -> WireError | None:
    """S3's errors are mostly not in its model, so they are mapped here, not by the shared table."""
    if isinstance(error, domain.NotFound):
        code = _NOT_FOUND.get(error.resource_type, "NoSuchKey")
        return WireError(code, 404, _not_found_message(code), {_resource_field(code): error.name})
    table: list[tuple[type[domain.DomainError], str, int]] = [
        (RangeNotSatisfiable, "InvalidRange", 416), (PreconditionFailed, "PreconditionFailed", 412),
        (NotModified, "NotModified", 304), (BadDigest, "BadDigest", 400),
        (EntityTooSmall, "EntityTooSmall", 400), (InvalidPart, "InvalidPart", 400),
        (domain.AlreadyExists, "BucketAlreadyOwnedByYou", 409), (domain.InvalidState, "BucketNotEmpty", 409),
    ]
    for kind, code, status in table:
        if isinstance(error, kind):
            return WireError(code, status, error.message)
    if isinstance(error, domain.InvalidInput):
        return WireError("InvalidBucketName" if error.field == "Bucket" else "InvalidArgument", 400, error.message)
    return None


def _not_found_message(code: str) -> str:
    return {
        "NoSuchBucket": "The specified bucket does not exist",
        "NoSuchKey": "The specified key does not exist.",
        "NoSuchVersion": "The specified version does not exist.",
        "NoSuchUpload": "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed.",
    }[code]


def _resource_field(code: str) -> str:
    return {"NoSuchBucket": "BucketName", "NoSuchKey": "Key", "NoSuchVersion": "VersionId"}.get(code, "UploadId")


def check_payload(headers: dict[str, str], blob: SpooledBlob) -> dict[str, str]:
    """Compare the body with every digest the client sent; returns the checksums to keep."""
    declared = headers.get("x-amz-content-sha256", UNSIGNED)
    hashed = declared != UNSIGNED and not declared.startswith("STREAMING-")  # aws-chunked is checked per chunk
    if hashed and declared.lower() != blob.sha256:
        raise WireError("XAmzContentSHA256Mismatch", 400,
                        "The provided 'x-amz-content-sha256' header does not match what was computed.")
    content_md5 = headers.get("content-md5")
    if content_md5 is not None:
        try:
            expected = base64.b64decode(content_md5, validate=True).hex()
        except binascii.Error as exc:
            raise WireError("InvalidDigest", 400, "The Content-MD5 you specified was invalid.") from exc
        if expected != blob.md5:
            raise WireError("BadDigest", 400, "The Content-MD5 you specified did not match what we received.")
    return _checked_checksums(headers, blob)


def _checked_checksums(headers: dict[str, str], blob: SpooledBlob) -> dict[str, str]:
    kept: dict[str, str] = {}
    for algorithm in CHECKSUMS:
        sent = headers.get(f"x-amz-checksum-{algorithm.lower()}")
        if sent is None:
            continue
        computed = blob.checksum(algorithm)
        if computed is None:
            raise WireError("InvalidRequest", 400, f"The {algorithm} checksum was not computed for this body")
        if computed != sent:
            raise WireError("BadDigest", 400, f"The {algorithm} you specified did not match the calculated checksum.")
        kept[algorithm] = computed
    return kept


def _conditions(p: Params, prefix: str = "") -> Conditions:
    return Conditions(p.get(f"{prefix}IfMatch"), p.get(f"{prefix}IfNoneMatch"), p.get(f"{prefix}IfModifiedSince"),
                      p.get(f"{prefix}IfUnmodifiedSince"))


def _checksum_fields(version: ObjectVersion) -> Result:
    return {f"Checksum{name}": value for name, value in version.checksums.items()}


def _version_id(version: ObjectVersion) -> str | None:
    return None if version.version_id == "null" else version.version_id


class S3Api:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateBucket": self.create_bucket, "HeadBucket": self.head_bucket, "ListBuckets": self.list_buckets,
            "DeleteBucket": self.delete_bucket, "PutBucketVersioning": self.put_bucket_versioning,
            "GetBucketVersioning": self.get_bucket_versioning, "PutObject": self.put_object,
            "GetObject": self.get_object, "HeadObject": self.head_object, "DeleteObject": self.delete_object,
            "ListObjectsV2": self.list_objects_v2, "ListObjectVersions": self.list_object_versions,
            "CopyObject": self.copy_object, "CreateMultipartUpload": self.create_multipart_upload,
            "UploadPart": self.upload_part, "CompleteMultipartUpload": self.complete_multipart_upload,
            "AbortMultipartUpload": self.abort_multipart_upload, "ListParts": self.list_parts,
        }

    # --- buckets ------------------------------------------------------------------------------

    def create_bucket(self, ctx: CallContext, p: Params) -> Result:
        bucket = self.store.create_bucket(p["Bucket"])
        return {"Location": f"/{bucket.name}", "BucketArn": f"arn:aws:s3:::{bucket.name}"}

    def head_bucket(self, ctx: CallContext, p: Params) -> Result:
        bucket = self.store.bucket(p["Bucket"])
        return {"BucketRegion": ctx.region, "BucketArn": f"arn:aws:s3:::{bucket.name}"}

    def list_buckets(self, ctx: CallContext, p: Params) -> Result:
        prefix = p.get("Prefix") or ""
        buckets = [b for b in self.store.list_buckets() if b.name.startswith(prefix)]
        return {"Buckets": [{"Name": b.name, "CreationDate": b.created_at, "BucketRegion": ctx.region}
                            for b in buckets], "Owner": OWNER, "Prefix": p.get("Prefix")}

    def delete_bucket(self, ctx: CallContext, p: Params) -> Result:
        self.store.delete_bucket(p["Bucket"])
        return {}

    def put_bucket_versioning(self, ctx: CallContext, p: Params) -> Result:
        status = (p.get("VersioningConfiguration") or {}).get("Status")
        if status is None:
            raise WireError("MalformedXML", 400, "VersioningConfiguration needs a Status of Enabled or Suspended")
        self.store.set_versioning(p["Bucket"], status)
        return {}

    def get_bucket_versioning(self, ctx: CallContext, p: Params) -> Result:
        status = self.store.bucket(p["Bucket"]).versioning.value
        return {"Status": status or None}

    # --- objects ------------------------------------------------------------------------------

    def put_object(self, ctx: CallContext, p: Params) -> Result:
        spooled = _spooled(p.get("Body"))
        checksums = check_payload(ctx.request.headers, spooled)
        new = NewObject(p.get("ContentType"), dict(p.get("Metadata") or {}), checksums, _conditions(p))
        version = self.store.put_object(p["Bucket"], p["Key"], spooled, new)
        return {"ETag": version.etag, "VersionId": _version_id(version), "Size": version.size,
                **_checksum_fields(version)}

    def _describe(self, version: ObjectVersion) -> Result:
        return {
            "ETag": version.etag, "LastModified": version.last_modified, "ContentLength": version.size,
            "ContentType": version.content_type or "binary/octet-stream", "Metadata": version.metadata or None,
            "VersionId": _version_id(version), "AcceptRanges": "bytes",
        }

    def head_object(self, ctx: CallContext, p: Params) -> Result:
        version = self.store.head_object(p["Bucket"], p["Key"], p.get("VersionId"), _conditions(p))
        result = self._describe(version)
        selected = parse_range(p.get("Range"), version.size)
        if selected is not None:
            result |= {"ContentLength": selected[1] - selected[0] + 1,
                       "ContentRange": f"bytes {selected[0]}-{selected[1]}/{version.size}"}
            ctx.hints["status"] = 206
        if p.get("ChecksumMode") == "ENABLED":
            result |= _checksum_fields(version)
        return result

    def get_object(self, ctx: CallContext, p: Params) -> Result:
        version = self.store.head_object(p["Bucket"], p["Key"], p.get("VersionId"), _conditions(p))
        result = self._describe(version)
        selected = parse_range(p.get("Range"), version.size)
        if selected is None:
            result["Body"] = self.store.read(version)
        else:
            start, end = selected
            result |= {"Body": self.store.read(version, start, end), "ContentLength": end - start + 1,
                       "ContentRange": f"bytes {start}-{end}/{version.size}"}
            ctx.hints["status"] = 206
        if p.get("ChecksumMode") == "ENABLED" and selected is None:
            result |= _checksum_fields(version)
        for member in ("ContentType", "ContentDisposition", "ContentEncoding", "ContentLanguage", "CacheControl",
                       "Expires"):
            override = p.get(f"Response{member}")
            if override is not None:
                result[member] = override
        return result

    def delete_object(self, ctx: CallContext, p: Params) -> Result:
        removed = self.store.delete_object(p["Bucket"], p["Key"], p.get("VersionId"))
        if removed is None:
            return {}
        return {"DeleteMarker": removed.is_delete_marker or None, "VersionId": _version_id(removed)}

    def copy_object(self, ctx: CallContext, p: Params) -> Result:
        source = _copy_source(p["CopySource"])
        replace = p.get("MetadataDirective") == "REPLACE"
        new = NewObject(p.get("ContentType"), dict(p.get("Metadata") or {})) if replace else None
        version, original = self.store.copy_object(source, p["Bucket"], p["Key"], new, _conditions(p, "CopySource"))
        return {"CopyObjectResult": {"ETag": version.etag, "LastModified": version.last_modified},
                "VersionId": _version_id(version), "CopySourceVersionId": _version_id(original)}

    def list_objects_v2(self, ctx: CallContext, p: Params) -> Result:
        token = p.get("ContinuationToken")
        after = _decode_marker(token) if token else (p.get("StartAfter") or "")
        prefix, delimiter, max_keys = p.get("Prefix") or "", p.get("Delimiter"), p.get("MaxKeys")
        listing = self.store.list_latest(p["Bucket"], prefix, delimiter, after, max_keys)
        encode = _key_encoder(p.get("EncodingType"))
        contents = [{"Key": encode(v.key), "LastModified": v.last_modified, "ETag": v.etag, "Size": v.size,
                     "StorageClass": "STANDARD", **({"Owner": OWNER} if p.get("FetchOwner") else {})}
                    for v in listing.objects]
        return {
            "IsTruncated": listing.truncated, "Contents": contents or None, "Name": p["Bucket"],
            "Prefix": encode(prefix), "Delimiter": delimiter, "MaxKeys": 1000 if max_keys is None else max_keys,
            "CommonPrefixes": [{"Prefix": encode(c)} for c in listing.common_prefixes] or None,
            "EncodingType": p.get("EncodingType"), "KeyCount": len(contents) + len(listing.common_prefixes),
            "ContinuationToken": token, "StartAfter": p.get("StartAfter"),
            "NextContinuationToken": _encode_marker(listing.next_marker) if listing.next_marker else None,
        }

    def list_object_versions(self, ctx: CallContext, p: Params) -> Result:
        bucket, prefix = p["Bucket"], p.get("Prefix") or ""
        key_marker, version_marker = p.get("KeyMarker") or "", p.get("VersionIdMarker")
        after = (key_marker, 2**62) if not version_marker else (
            key_marker, self.store.find_version_seq(bucket, key_marker, version_marker))
        if key_marker and not version_marker:
            after = (key_marker + "\U0010ffff", 2**62)
        rows, truncated = self.store.list_versions(bucket, prefix, after, p.get("MaxKeys"))
        versions = [v for _, v in rows]
        last = versions[-1] if truncated and versions else None
        encode = _key_encoder(p.get("EncodingType"))
        return {
            "Versions": [{"ETag": v.etag, "Size": v.size, "StorageClass": "STANDARD", "Key": encode(v.key),
                          "VersionId": v.version_id, "IsLatest": v.is_latest, "LastModified": v.last_modified,
                          "Owner": OWNER} for v in versions if not v.is_delete_marker] or None,
            "DeleteMarkers": [{"Owner": OWNER, "Key": encode(v.key), "VersionId": v.version_id,
                               "IsLatest": v.is_latest, "LastModified": v.last_modified}
                              for v in versions if v.is_delete_marker] or None,
            "IsTruncated": truncated, "Name": bucket, "Prefix": encode(prefix), "MaxKeys": p.get("MaxKeys") or 1000,
            "KeyMarker": encode(key_marker), "VersionIdMarker": version_marker, "EncodingType": p.get("EncodingType"),
            "NextKeyMarker": encode(last.key) if last else None,
            "NextVersionIdMarker": last.version_id if last else None,
        }

    # --- multipart ----------------------------------------------------------------------------

    def create_multipart_upload(self, ctx: CallContext, p: Params) -> Result:
        upload = self.store.create_upload(p["Bucket"], p["Key"], NewObject(p.get("ContentType"),
                                                                            dict(p.get("Metadata") or {})))
        return {"Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id}

    def upload_part(self, ctx: CallContext, p: Params) -> Result:
        spooled = _spooled(p.get("Body"))
        checksums = check_payload(ctx.request.headers, spooled)
        part = self.store.upload_part(p["Bucket"], p["Key"], p["UploadId"], p["PartNumber"], spooled)
        return {"ETag": part.etag, **{f"Checksum{k}": v for k, v in checksums.items()}}

    def complete_multipart_upload(self, ctx: CallContext, p: Params) -> Result:
        parts = (p.get("MultipartUpload") or {}).get("Parts") or []
        requested = [(int(part["PartNumber"]), str(part.get("ETag", ""))) for part in parts]
        version = self.store.complete_upload(p["Bucket"], p["Key"], p["UploadId"], requested, _conditions(p))
        return {"Location": f"/{p['Bucket']}/{quote(p['Key'])}", "Bucket": p["Bucket"], "Key": p["Key"],
                "ETag": version.etag, "VersionId": _version_id(version)}

    def abort_multipart_upload(self, ctx: CallContext, p: Params) -> Result:
        self.store.abort_upload(p["Bucket"], p["Key"], p["UploadId"])
        return {}

    def list_parts(self, ctx: CallContext, p: Params) -> Result:
        upload, parts = self.store.list_parts(p["Bucket"], p["Key"], p["UploadId"])
        marker = p.get("PartNumberMarker") or 0
        max_parts = p.get("MaxParts") or 1000
        after = [part for part in parts if part.number > int(marker)]
        page = after[:max_parts]
        truncated = len(after) > max_parts
        return {
            "Bucket": upload.bucket, "Key": upload.key, "UploadId": upload.upload_id,
            "PartNumberMarker": str(marker), "MaxParts": max_parts, "IsTruncated": truncated,
            "NextPartNumberMarker": str(page[-1].number) if truncated and page else None,
            "Parts": [{"PartNumber": part.number, "LastModified": part.last_modified, "ETag": part.etag,
                       "Size": part.blob.size} for part in page] or None,
            "Initiator": OWNER, "Owner": OWNER, "StorageClass": "STANDARD",
        }


def _spooled(body: Any) -> SpooledBlob:
    if body is None or isinstance(body, bytes | bytearray):
        raise WireError("InternalFailureException", 500, "S3 upload body was not spooled")
    return body  # type: ignore[no-any-return]


def _copy_source(raw: str) -> tuple[str, str, str | None]:
    path, _, query = raw.lstrip("/").partition("?")
    bucket, _, key = unquote(path).partition("/")
    if not bucket or not key:
        raise WireError("InvalidArgument", 400, "Copy Source must mention the source bucket and key: bucket/key")
    version = dict(parse_qsl(query)).get("versionId")
    return bucket, key, version


def _encode_marker(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode_marker(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise WireError("InvalidArgument", 400, "The continuation token provided is incorrect") from exc


def _key_encoder(encoding: str | None) -> Any:
    if encoding == "url":
        return lambda key: quote(key, safe="/") if key else key
    return lambda key: key
