"""iotwireless FUOTA tasks: wire parameters in, FuotaService calls, wire results out.

Kept apart from aws/iot_wireless.py (devices, groups, tags) so each handler class stays small; both
register under the `iotwireless` service in app.py.
"""

from __future__ import annotations

from typing import Any

from otahub.aws.dispatch import CallContext, Handler, Params, Result
from otahub.aws.iot import tags_from_wire
from otahub.aws.iot_jobs import without_none
from otahub.domain.fuota import FuotaSettings, FuotaTask
from otahub.domain.ids import Arns
from otahub.domain.lorawan.regions import RfRegion
from otahub.services.fuota import FuotaService, FuotaTaskRequest


def settings_from_wire(p: Params) -> FuotaSettings:
    region: Any = (p.get("LoRaWAN") or {}).get("RfRegion")
    return FuotaSettings(
        name=p.get("Name"), description=p.get("Description"), rf_region=RfRegion(region) if region else None,
        role=p.get("FirmwareUpdateRole"), redundancy_percent=p.get("RedundancyPercent"),
        fragment_size=p.get("FragmentSizeBytes"), fragment_interval_ms=p.get("FragmentIntervalMS"),
        descriptor=p.get("Descriptor"),
    )


class IotFuotaApi:
    def __init__(self, tasks: FuotaService, arns: Arns) -> None:
        self.tasks = tasks
        self.arns = arns

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateFuotaTask": self.create_task, "GetFuotaTask": self.get_task, "ListFuotaTasks": self.list_tasks,
            "UpdateFuotaTask": self.update_task, "DeleteFuotaTask": self.delete_task,
            "StartFuotaTask": self.start_task,
            "AssociateWirelessDeviceWithFuotaTask": self.associate_device,
            "DisassociateWirelessDeviceFromFuotaTask": self.disassociate_device,
            "AssociateMulticastGroupWithFuotaTask": self.associate_group,
            "DisassociateMulticastGroupFromFuotaTask": self.disassociate_group,
            "ListMulticastGroupsByFuotaTask": self.list_groups,
        }

    def _summary(self, task: FuotaTask) -> Result:
        return without_none({"Id": task.task_id, "Arn": self.arns.fuota_task(task.task_id),
                             "Name": task.settings.name})

    def create_task(self, ctx: CallContext, p: Params) -> Result:
        task = self.tasks.create(FuotaTaskRequest(p["FirmwareUpdateImage"], settings_from_wire(p),
                                                  tags_from_wire(p.get("Tags")), p.get("ClientRequestToken")))
        return {"Arn": self.arns.fuota_task(task.task_id), "Id": task.task_id}

    def get_task(self, ctx: CallContext, p: Params) -> Result:
        task = self.tasks.get(p["Id"])
        s = task.settings
        lorawan = without_none({"RfRegion": s.rf_region.value if s.rf_region else None, "StartTime": task.start_time})
        return without_none({
            **self._summary(task), "Status": task.status.value, "Description": s.description,
            "LoRaWAN": lorawan or None, "FirmwareUpdateImage": task.image.uri, "FirmwareUpdateRole": s.role,
            "CreatedAt": task.created_at, "RedundancyPercent": s.redundancy_percent,
            "FragmentSizeBytes": s.fragment_size, "FragmentIntervalMS": s.fragment_interval_ms,
            "Descriptor": s.descriptor,
        })

    def list_tasks(self, ctx: CallContext, p: Params) -> Result:
        page = self.tasks.list_tasks(p.get("NextToken"), p.get("MaxResults"))
        return {"FuotaTaskList": [self._summary(t) for t in page.items], "NextToken": page.next_token}

    def update_task(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.update(p["Id"], p.get("FirmwareUpdateImage"), settings_from_wire(p))
        return {}

    def delete_task(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.delete(p["Id"])
        return {}

    def start_task(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.start(p["Id"], (p.get("LoRaWAN") or {}).get("StartTime"))
        return {}

    def associate_device(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.associate_device(p["Id"], p["WirelessDeviceId"])
        return {}

    def disassociate_device(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.disassociate_device(p["Id"], p["WirelessDeviceId"])
        return {}

    def associate_group(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.associate_group(p["Id"], p["MulticastGroupId"])
        return {}

    def disassociate_group(self, ctx: CallContext, p: Params) -> Result:
        self.tasks.disassociate_group(p["Id"], p["MulticastGroupId"])
        return {}

    def list_groups(self, ctx: CallContext, p: Params) -> Result:
        page = self.tasks.list_groups(p["Id"], p.get("NextToken"), p.get("MaxResults"))
        return {"MulticastGroupList": [{"Id": g} for g in page.items], "NextToken": page.next_token}
