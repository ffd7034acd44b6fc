"""SigV4 on the wire: header and presigned forms, tampering, unknown keys, expiry, body limits."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.e2e.test_things import error_of
from tests.harness import OtahubServer


def send(request: AWSRequest) -> tuple[int, dict[str, str], dict[str, Any]]:
    prepared = request.prepare()
    raw = urllib.request.Request(prepared.url, data=prepared.body or None, method=prepared.method,
                                 headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(raw) as response:
            return response.status, _lower(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), json.loads(error.read() or b"{}")


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def signed(server: OtahubServer, method: str, path: str, body: bytes = b"", secret: str | None = None) -> AWSRequest:
    request = AWSRequest(method=method, url=f"{server.endpoint}{path}", data=body,
                         headers={"Content-Type": "application/json"})
    creds = Credentials(server.access_key_id, secret or server.secret_access_key)
    SigV4Auth(creds, "iot", "us-east-1").add_auth(request)
    return request


def test_wrong_secret_is_rejected(server: OtahubServer) -> None:
    with pytest.raises(ClientError) as excinfo:
        server.client("iot", secret="not-the-secret").list_things()
    assert error_of(excinfo) == ("InvalidSignatureException", 403)


def test_unknown_access_key_is_rejected(server: OtahubServer) -> None:
    with pytest.raises(ClientError) as excinfo:
        server.client("iot", key_id="AKIAUNKNOWNUNKNOWN00").list_things()
    assert error_of(excinfo) == ("UnrecognizedClientException", 403)


def test_unsigned_request_is_rejected(server: OtahubServer) -> None:
    status, headers, _ = send(AWSRequest(method="GET", url=f"{server.endpoint}/things"))
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_signed_request_by_hand_passes_and_tampered_body_fails(server: OtahubServer, unique: str) -> None:
    body = json.dumps({"attributePayload": {"attributes": {"a": "1"}}}).encode()
    status, _, reply = send(signed(server, "POST", f"/things/t-{unique}", body))
    assert status == 200 and reply["thingName"] == f"t-{unique}"
    request = signed(server, "POST", f"/things/u-{unique}", body)
    request.data = body.replace(b'"1"', b'"2"')
    status, headers, _ = send(request)
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    request = signed(server, "POST", f"/things/v-{unique}", body)
    request.url = request.url.replace(f"v-{unique}", f"w-{unique}")
    assert send(request)[0] == 403


def test_presigned_query_form(server: OtahubServer, unique: str) -> None:
    server.client("iot").create_thing(thingName=f"t-{unique}")
    request = AWSRequest(method="GET", url=f"{server.endpoint}/things/t-{unique}")
    SigV4QueryAuth(Credentials(server.access_key_id, server.secret_access_key), "iot", "us-east-1",
                   expires=60).add_auth(request)
    status, _, reply = send(request)
    assert status == 200 and reply["thingName"] == f"t-{unique}"
    tampered = AWSRequest(method="GET", url=request.url.replace(f"t-{unique}", f"x-{unique}"))
    assert send(tampered)[0] == 403


def test_expired_signature_and_presigned_url(fresh_server: OtahubServer, unique: str) -> None:
    request = AWSRequest(method="GET", url=f"{fresh_server.endpoint}/things")
    SigV4QueryAuth(Credentials(fresh_server.access_key_id, fresh_server.secret_access_key), "iot", "us-east-1",
                   expires=60).add_auth(request)
    assert send(request)[0] == 200
    fresh_server.advance_clock(16 * 60)
    status, headers, _ = send(request)
    assert (status, headers["x-amzn-errortype"]) == (403, "AccessDeniedException")
    with pytest.raises(ClientError) as excinfo:
        fresh_server.client("iot").list_things()
    assert error_of(excinfo) == ("InvalidSignatureException", 403)
    assert "Signature expired" in excinfo.value.response["Error"]["Message"]


def test_oversized_body_gets_413(server: OtahubServer) -> None:
    body = b'{"pad": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    status, headers, reply = send(signed(server, "POST", "/things/big", body))
    assert status == 413
    assert headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
    assert "limit" in reply["message"]


def test_unknown_path_is_404_not_500(server: OtahubServer) -> None:
    status, headers, _ = send(signed(server, "GET", "/no/such/route"))
    assert status == 404 and headers["x-amzn-errortype"] == "UnknownOperationException"


def test_malformed_json_body_is_a_serialization_error(server: OtahubServer) -> None:
    status, headers, _ = send(signed(server, "POST", "/things/j", b"{not json"))
    assert status == 400 and headers["x-amzn-errortype"] == "SerializationException"
