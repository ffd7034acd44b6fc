"""SigV4 verification (Authorization header and presigned query forms) with botocore's own
canonicalisation, so whatever botocore signs, this accepts, byte for byte."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from otahub.aws.messages import AwsRequest

ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600


class AuthError(Exception):
    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class SignatureScope:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    timestamp: str
    presigned: bool
    expires: int | None = None


def read_scope(request: AwsRequest) -> SignatureScope | None:
    """The SigV4 scope the request claims, or None when it carries no SigV4 signature at all."""
    header = request.headers.get("authorization")
    if header is not None:
        return _scope_from_header(header, request.headers.get("x-amz-date", ""))
    if "X-Amz-Credential" in request.query_string:
        return _scope_from_query(dict(parse_qsl(request.query_string, keep_blank_values=True)))
    return None


def _scope_from_header(header: str, amz_date: str) -> SignatureScope:
    algorithm, _, rest = header.partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError("IncompleteSignatureException", f"Unsupported Authorization algorithm '{algorithm}'", 400)
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    try:
        credential = fields["Credential"]
        signed = fields["SignedHeaders"]
        signature = fields["Signature"]
    except KeyError as exc:
        raise AuthError(
            "IncompleteSignatureException", f"Authorization header requires '{exc.args[0]}' parameter", 400
        ) from exc
    return _build_scope(credential, signed, signature, amz_date, presigned=False)


def _scope_from_query(query: dict[str, str]) -> SignatureScope:
    if query.get("X-Amz-Algorithm") != ALGORITHM:
        raise AuthError("IncompleteSignatureException", "X-Amz-Algorithm must be AWS4-HMAC-SHA256", 400)
    try:
        expires = int(query.get("X-Amz-Expires", "0"))
        return _build_scope(
            query["X-Amz-Credential"], query["X-Amz-SignedHeaders"], query["X-Amz-Signature"],
            query.get("X-Amz-Date", ""), presigned=True, expires=expires,
        )
    except (KeyError, ValueError) as exc:
        raise AuthError("IncompleteSignatureException", "Presigned URL is missing SigV4 parameters", 400) from exc


def _build_scope(
    credential: str, signed: str, signature: str, timestamp: str, *, presigned: bool, expires: int | None = None
) -> SignatureScope:
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise AuthError("IncompleteSignatureException", f"Credential '{credential}' is not a SigV4 scope", 400)
    return SignatureScope(
        parts[0], parts[1], parts[2], parts[3], tuple(signed.split(";")), signature, timestamp,
        presigned, expires,
    )


def verify_signature(
    request: AwsRequest, scope: SignatureScope, secret_for: Callable[[str], str | None], now: datetime,
    wall_now: datetime | None = None,
) -> None:
    """Raise AuthError unless the request is signed by a known key, in time, over what it carries.

    ``now`` is the service clock: presigned URLs expire by it (a virtual clock expires them too).
    ``wall_now`` is the time clients sign requests with, when it differs (a virtual clock): the
    15-minute skew of header-signed requests is measured against it.
    """
    secret = secret_for(scope.access_key)
    if secret is None:
        raise AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")
    signed_at = _signed_at(scope)
    _check_time(scope, signed_at, now, wall_now or now)
    expected = _expected_signature(request, scope, secret)
    if not hmac.compare_digest(expected, scope.signature):
        raise AuthError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
        )


def _signed_at(scope: SignatureScope) -> datetime:
    stamp = scope.timestamp
    try:
        if len(stamp) != 16 or stamp[8] != "T" or stamp[15] != "Z":
            raise ValueError(stamp)
        signed_at = datetime(
            int(stamp[0:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[9:11]), int(stamp[11:13]),
            int(stamp[13:15]), tzinfo=UTC,
        )
    except ValueError as exc:
        raise AuthError("IncompleteSignatureException", "X-Amz-Date is missing or malformed", 400) from exc
    if scope.timestamp[:8] != scope.date:
        raise AuthError("InvalidSignatureException", "Credential scope date does not match X-Amz-Date")
    return signed_at


def _check_time(scope: SignatureScope, signed_at: datetime, now: datetime, wall_now: datetime) -> None:
    if scope.presigned:
        expires = scope.expires or 0
        if expires <= 0 or expires > MAX_PRESIGN_EXPIRES:
            raise AuthError("AuthorizationQueryParametersError", "X-Amz-Expires must be 1..604800", 400)
        if now > signed_at + timedelta(seconds=expires):
            raise AuthError("AccessDeniedException", "Request has expired")
        if signed_at - max(now, wall_now) > MAX_SKEW:
            raise AuthError("InvalidSignatureException", "Request is not yet valid")
        return
    now = wall_now
    if abs(now - signed_at) > MAX_SKEW:
        raise AuthError(
            "InvalidSignatureException",
            f"Signature expired: {scope.timestamp} is now earlier or later than "
            f"{now.strftime(SIGV4_TIMESTAMP)} by more than 15 minutes.",
        )


@lru_cache(maxsize=256)
def _signer(access_key: str, secret: str, service: str, region: str, presigned: bool) -> SigV4Auth:
    """botocore's signers keep no per-request state, so one per key and scope serves every request."""
    return _SIGNERS[(service == "s3", presigned)](Credentials(access_key, secret), service, region)


def _expected_signature(request: AwsRequest, scope: SignatureScope, secret: str) -> str:
    signer = _signer(scope.access_key, secret, scope.service, scope.region, scope.presigned)
    query = request.query_string
    if scope.presigned:
        query = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Signature="))
    url = f"http://{request.headers.get('host', 'localhost')}{request.path}" + (f"?{query}" if query else "")
    headers = {name: request.headers.get(name, "") for name in scope.signed_headers}
    aws_request = AWSRequest(method=request.method, url=url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = scope.timestamp
    if scope.presigned and scope.service != "s3":
        aws_request.context["payload_signing_enabled"] = True
    canonical = signer.canonical_request(aws_request)
    return str(signer.signature(signer.string_to_sign(aws_request, canonical), aws_request))


_SIGNERS: dict[tuple[bool, bool], type[SigV4Auth]] = {
    (False, False): SigV4Auth,
    (False, True): SigV4QueryAuth,
    (True, False): S3SigV4Auth,
    (True, True): S3SigV4QueryAuth,
}


def presign_get(
    base_url: str, path: str, extra_query: list[tuple[str, str]], *, access_key: str, secret: str, region: str,
    service: str, now: datetime, expires: int,
) -> str:
    """A SigV4 query-signed GET URL for ``path`` (already percent-encoded) that verify_signature accepts."""
    host = urlsplit(base_url).netloc
    credential = f"{access_key}/{now:%Y%m%d}/{region}/{service}/aws4_request"
    params = [
        ("X-Amz-Algorithm", ALGORITHM), ("X-Amz-Credential", credential),
        ("X-Amz-Date", now.strftime(SIGV4_TIMESTAMP)), ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"), *extra_query,
    ]
    query = urlencode(params, quote_via=quote, safe="")
    request = AwsRequest("GET", path, f"{query}&X-Amz-Signature=", {"host": host})  # stripped when signing
    scope = read_scope(request)
    assert scope is not None
    signature = _expected_signature(request, scope, secret)
    return f"{base_url.rstrip('/')}{path}?{query}&X-Amz-Signature={signature}"
