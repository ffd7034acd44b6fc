"""Id and ARN formatting in one place."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_hex_id() -> str:
    """A random id of 32 hex digits (managed-integrations ids allow no dashes)."""
    return uuid.uuid4().hex


def new_access_key_pair() -> tuple[str, str]:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    return key_id, secrets.token_urlsafe(30)[:40]


@dataclass(frozen=True, slots=True)
class Arns:
    """Builds and reads ARNs for one region and account: arn:aws:{service}:{region}:{account}:{resource}."""

    region: str
    account_id: str

    def iot(self, resource_type: str, name: str) -> str:
        return f"arn:aws:iot:{self.region}:{self.account_id}:{resource_type}/{name}"

    def thing(self, name: str) -> str:
        return self.iot("thing", name)

    def thing_type(self, name: str) -> str:
        return self.iot("thingtype", name)

    def thing_group(self, name: str) -> str:
        return self.iot("thinggroup", name)

    def stream(self, stream_id: str) -> str:
        return self.iot("stream", stream_id)

    def job(self, job_id: str) -> str:
        return self.iot("job", job_id)

    def job_template(self, template_id: str) -> str:
        return self.iot("jobtemplate", template_id)

    def ota_update(self, ota_update_id: str) -> str:
        return self.iot("otaupdate", ota_update_id)

    def certificate(self, certificate_id: str) -> str:
        return self.iot("cert", certificate_id)

    def managed(self, resource_type: str, resource_id: str) -> str:
        """An iot-managed-integrations ARN (managed-thing, ota-task)."""
        return f"arn:aws:iotmanagedintegrations:{self.region}:{self.account_id}:{resource_type}/{resource_id}"

    def managed_thing(self, managed_thing_id: str) -> str:
        return self.managed("managed-thing", managed_thing_id)

    def ota_task(self, task_id: str) -> str:
        return self.managed("ota-task", task_id)

    def parse_managed(self, arn: str) -> tuple[str, str] | None:
        """(resource type, id) of an iot-managed-integrations ARN in this region and account, else None."""
        return self._parse(arn, "iotmanagedintegrations")

    def wireless(self, resource_type: str, key: str) -> str:
        """An iotwireless ARN: WirelessDevice/{id}, MulticastGroup/{id}, FuotaTask/{id}, Destination/{name}."""
        return f"arn:aws:iotwireless:{self.region}:{self.account_id}:{resource_type}/{key}"

    def wireless_device(self, device_id: str) -> str:
        return self.wireless("WirelessDevice", device_id)

    def multicast_group(self, group_id: str) -> str:
        return self.wireless("MulticastGroup", group_id)

    def fuota_task(self, task_id: str) -> str:
        return self.wireless("FuotaTask", task_id)

    def destination(self, name: str) -> str:
        return self.wireless("Destination", name)

    def parse_wireless(self, arn: str) -> tuple[str, str] | None:
        """(resource type, id or name) of an iotwireless ARN in this region and account, else None."""
        return self._parse(arn, "iotwireless")

    def parse_iot(self, arn: str) -> tuple[str, str] | None:
        """(resource type, name) of an iot ARN in this region and account, else None."""
        return self._parse(arn, "iot")

    def _parse(self, arn: str, service: str) -> tuple[str, str] | None:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[:3] != ["arn", "aws", service]:
            return None
        if parts[3] != self.region or parts[4] != self.account_id:
            return None
        resource_type, sep, name = parts[5].partition("/")
        return (resource_type, name) if sep and name else None
