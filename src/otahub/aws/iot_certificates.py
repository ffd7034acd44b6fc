"""The iot device-identity API: certificates, thing principals and DescribeEndpoint."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.domain.certificates import Certificate, CertificateStatus
from otahub.domain.errors import InvalidInput
from otahub.domain.ids import Arns
from otahub.services.certificates import CertificateService

ENDPOINT_TYPES = ("iot:Data", "iot:Data-ATS", "iot:CredentialProvider", "iot:Jobs")


def _marker_out(token: str | None) -> str | None:
    """ListCertificates' marker is plain base64 (its pattern allows no '-' or '_')."""
    return base64.b64encode(token.encode()).decode() if token else None


def _marker_in(marker: str | None) -> str | None:
    if not marker:
        return None
    try:
        return base64.b64decode(marker, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The marker '{marker}' is not valid for this request", field="marker") from exc


class IotCertificatesApi:
    def __init__(self, certificates: CertificateService, arns: Arns, mqtt_endpoint: str | None = None) -> None:
        self.certificates = certificates
        self.arns = arns
        self.mqtt_endpoint = mqtt_endpoint  # host[:port] devices connect to; None: the host the caller used

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateKeysAndCertificate": self.create_keys_and_certificate,
            "RegisterCertificate": self.register_certificate,
            "RegisterCertificateWithoutCA": self.register_certificate_without_ca,
            "DescribeCertificate": self.describe_certificate,
            "ListCertificates": self.list_certificates,
            "UpdateCertificate": self.update_certificate,
            "DeleteCertificate": self.delete_certificate,
            "AttachThingPrincipal": self.attach_thing_principal,
            "DetachThingPrincipal": self.detach_thing_principal,
            "ListThingPrincipals": self.list_thing_principals,
            "ListPrincipalThings": self.list_principal_things,
            "DescribeEndpoint": self.describe_endpoint,
        }

    def _ref(self, cert: Certificate) -> Result:
        return {"certificateArn": self.arns.certificate(cert.certificate_id), "certificateId": cert.certificate_id}

    def create_keys_and_certificate(self, ctx: CallContext, p: Params) -> Result:
        made = self.certificates.create_keys_and_certificate(bool(p.get("setAsActive")))
        return {**self._ref(made.certificate), "certificatePem": made.certificate.pem,
                "keyPair": {"PublicKey": made.public_key_pem, "PrivateKey": made.private_key_pem}}

    def register_certificate(self, ctx: CallContext, p: Params) -> Result:
        status = _status(p.get("status"), bool(p.get("setAsActive")))
        return self._ref(self.certificates.register(p["certificatePem"], p.get("caCertificatePem"), status))

    def register_certificate_without_ca(self, ctx: CallContext, p: Params) -> Result:
        return self._ref(self.certificates.register(p["certificatePem"], None, _status(p.get("status"), False)))

    def describe_certificate(self, ctx: CallContext, p: Params) -> Result:
        cert = self.certificates.describe(p["certificateId"])
        description: Result = {
            **self._ref(cert), "status": cert.status.value, "certificatePem": cert.pem, "ownedBy": ctx.account_id,
            "creationDate": cert.created_at, "lastModifiedDate": cert.updated_at,
            "customerVersion": cert.customer_version, "generationId": cert.generation_id,
            "validity": {"notBefore": cert.not_before, "notAfter": cert.not_after}, "certificateMode": "DEFAULT",
        }
        if cert.ca_certificate_id:
            description["caCertificateId"] = cert.ca_certificate_id
        return {"certificateDescription": description}

    def list_certificates(self, ctx: CallContext, p: Params) -> Result:
        page = self.certificates.list_certificates(
            bool(p.get("ascendingOrder")), _marker_in(p.get("marker")), p.get("pageSize"))
        certificates = [{**self._ref(c), "status": c.status.value, "certificateMode": "DEFAULT",
                         "creationDate": c.created_at} for c in page.items]
        result: Result = {"certificates": certificates}
        if page.next_token:
            result["nextMarker"] = _marker_out(page.next_token)
        return result

    def update_certificate(self, ctx: CallContext, p: Params) -> Result:
        self.certificates.update_status(p["certificateId"], CertificateStatus(p["newStatus"]))
        return {}

    def delete_certificate(self, ctx: CallContext, p: Params) -> Result:
        self.certificates.delete(p["certificateId"])
        return {}

    def attach_thing_principal(self, ctx: CallContext, p: Params) -> Result:
        exclusive = p.get("thingPrincipalType") == "EXCLUSIVE_THING"
        self.certificates.attach(p["thingName"], p["principal"], exclusive)
        return {}

    def detach_thing_principal(self, ctx: CallContext, p: Params) -> Result:
        self.certificates.detach(p["thingName"], p["principal"])
        return {}

    def list_thing_principals(self, ctx: CallContext, p: Params) -> Result:
        page = self.certificates.principals_of(p["thingName"], p.get("nextToken"), p.get("maxResults"))
        return {"principals": page.items, "nextToken": page.next_token}

    def list_principal_things(self, ctx: CallContext, p: Params) -> Result:
        page = self.certificates.things_of(p["principal"], p.get("nextToken"), p.get("maxResults"))
        return {"things": page.items, "nextToken": page.next_token}

    def describe_endpoint(self, ctx: CallContext, p: Params) -> Result:
        endpoint_type = p.get("endpointType") or "iot:Data-ATS"
        if endpoint_type not in ENDPOINT_TYPES:
            raise InvalidInput(f"endpointType must be one of {', '.join(ENDPOINT_TYPES)}, not {endpoint_type!r}",
                               field="endpointType")
        http_host = ctx.request.headers.get("host", "localhost")
        if endpoint_type in ("iot:Jobs", "iot:CredentialProvider"):
            return {"endpointAddress": http_host}  # the HTTP APIs live on this very endpoint
        return {"endpointAddress": self.mqtt_endpoint or urlsplit(f"//{http_host}").hostname or http_host}


def _status(given: str | None, set_as_active: bool) -> CertificateStatus:
    if given is not None:
        return CertificateStatus(given)
    return CertificateStatus.ACTIVE if set_as_active else CertificateStatus.INACTIVE
