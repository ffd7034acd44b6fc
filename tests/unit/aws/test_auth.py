"""SigV4 verification accepts whatever botocore signs, and nothing it did not sign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from otahub.aws.auth import AuthError, read_scope, verify_signature
from otahub.aws.messages import AwsRequest

KEY, SECRET = "AKIAUNITTEST00000000", "unit-secret"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
segments = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
query_items = st.lists(st.tuples(st.text("abcXYZ-_", min_size=1, max_size=6), st.text(max_size=8)), max_size=4)


def secret_for(key: str) -> str | None:
    return SECRET if key == KEY else None


def as_server_sees_it(request: AWSRequest) -> AwsRequest:
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in prepared.headers.items()}
    return AwsRequest(prepared.method, url.path, url.query, headers | {"host": url.netloc}, prepared.body or b"")


def sign(method: str, path: str, query: list[tuple[str, str]], body: bytes, service: str = "iot") -> AWSRequest:
    qs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    request = AWSRequest(method=method, url=f"http://127.0.0.1:4680{path}" + (f"?{qs}" if qs else ""), data=body)
    auth = SigV4Auth(Credentials(KEY, SECRET), service, "us-east-1")
    request.context["timestamp"] = NOW.strftime("%Y%m%dT%H%M%SZ")
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    auth._inject_signature_to_request(request, auth.signature(auth.string_to_sign(request, canonical), request))
    return request


def check(request: AwsRequest, now: datetime = NOW) -> None:
    scope = read_scope(request)
    assert scope is not None
    verify_signature(request, scope, secret_for, now)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]), st.lists(segments, min_size=1, max_size=3),
       query_items, st.binary(max_size=64))
def test_accepts_what_botocore_signs(method: str, parts: list[str], query: list[tuple[str, str]], body: bytes) -> None:
    path = "/" + "/".join(quote(p, safe="") for p in parts)
    check(as_server_sees_it(sign(method, path, query, body)))


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.data())
def test_rejects_any_changed_body_byte(body: bytes, data: st.DataObject) -> None:
    request = as_server_sees_it(sign("POST", "/things/t", [], body))
    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1))
    flipped = bytearray(body)
    flipped[index] ^= 1 << data.draw(st.integers(min_value=0, max_value=7))
    request.body = bytes(flipped)
    with pytest.raises(AuthError) as excinfo:
        check(request)
    assert excinfo.value.code == "InvalidSignatureException"


def test_rejects_changed_path_query_and_signed_header() -> None:
    good = as_server_sees_it(sign("GET", "/things/a", [("maxResults", "5")], b""))
    check(good)
    for changed in (
        AwsRequest(good.method, "/things/b", good.query_string, good.headers, good.body),
        AwsRequest(good.method, good.path, "maxResults=6", good.headers, good.body),
        AwsRequest(good.method, good.path, good.query_string, good.headers | {"x-amz-date": "20261122T120001Z"}, b""),
        AwsRequest("DELETE", good.path, good.query_string, good.headers, good.body),
    ):
        with pytest.raises(AuthError):
            check(changed)


def test_clock_skew_and_unknown_keys() -> None:
    request = as_server_sees_it(sign("GET", "/things", [], b""))
    check(request, NOW + timedelta(minutes=14))
    with pytest.raises(AuthError, match="Signature expired"):
        check(request, NOW + timedelta(minutes=16))
    other = as_server_sees_it(sign("GET", "/things", [], b""))
    other.headers["authorization"] = other.headers["authorization"].replace(KEY, "AKIAOTHER")
    with pytest.raises(AuthError) as excinfo:
        check(other)
    assert excinfo.value.code == "UnrecognizedClientException"


def test_presigned_urls_expire() -> None:
    request = AWSRequest(method="GET", url="http://127.0.0.1:4680/things/t")
    SigV4QueryAuth(Credentials(KEY, SECRET), "iot", "us-east-1", expires=30).add_auth(request)
    seen = as_server_sees_it(request)
    scope = read_scope(seen)
    assert scope is not None and scope.presigned
    signed_at = datetime.strptime(scope.timestamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    verify_signature(seen, scope, secret_for, signed_at + timedelta(seconds=29))
    with pytest.raises(AuthError) as excinfo:
        verify_signature(seen, scope, secret_for, signed_at + timedelta(seconds=31))
    assert excinfo.value.code == "AccessDeniedException"


def test_malformed_authorization_header() -> None:
    request = as_server_sees_it(sign("GET", "/things", [], b""))
    request.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=broken"
    with pytest.raises(AuthError) as excinfo:
        read_scope(request)
    assert excinfo.value.status == 400
