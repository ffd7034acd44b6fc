"""The single facade over botocore's service models: every other module asks here."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

__all__ = ["OperationModel", "ServiceModel", "Shape", "service_for_signing_name", "service_model"]

# SigV4 signing name (credential scope) -> botocore service model name.
SIGNING_NAMES: dict[str, str] = {
    "iot": "iot",
    "iot-jobs-data": "iot-jobs-data",
    "iotmanagedintegrations": "iot-managed-integrations",
    "iotwireless": "iotwireless",
    "signer": "signer",
    "s3": "s3",
}
REST_JSON_SERVICES = ("iot", "iot-jobs-data", "iot-managed-integrations", "iotwireless", "signer")


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(name: str) -> ServiceModel:
    return _session().get_service_model(name)


def service_for_signing_name(signing_name: str) -> ServiceModel | None:
    name = SIGNING_NAMES.get(signing_name)
    return service_model(name) if name else None


def error_status(shape: Shape) -> int:
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))


def error_code(shape: Shape) -> str:
    return str(shape.metadata.get("error", {}).get("code", shape.name))
