"""IoT Wireless rules: activations' keys, FPorts, session timeouts and start windows, tags, replays."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from otahub.domain.errors import Conflict, InvalidInput
from otahub.domain.lorawan.regions import RfRegion
from otahub.domain.wireless import (
    Activation,
    DeviceKeys,
    DlClass,
    FPorts,
    MulticastGroup,
    MulticastGroupStatus,
    MulticastSession,
    SessionDefaults,
    check_keys,
    check_session,
    check_tags,
    fingerprint,
    replayed,
    session_timeout,
    simulated_loss,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(("given", "kept"), [
    (None, None), (60, 64), (64, 64), (65, 128), (3600, 4096), (131072, 131072), (172800, 131072)])
def test_session_timeout_rounds_up_to_a_power_of_two(given: int | None, kept: int | None) -> None:
    assert session_timeout(given) == kept


def group() -> MulticastGroup:
    return MulticastGroup("g", None, None, RfRegion.EU868, DlClass.CLASS_B, None, SessionDefaults(3, 869525000),
                          MulticastGroupStatus.PENDING, NOW, NOW)


def test_a_session_takes_the_groups_defaults() -> None:
    kept = check_session(group(), MulticastSession(NOW + timedelta(hours=1), timeout=100), NOW)
    assert (kept.dl_dr, kept.dl_freq, kept.timeout) == (3, 869525000, 128)
    own = check_session(group(), MulticastSession(NOW + timedelta(hours=1), dl_dr=5), NOW)
    assert own.dl_dr == 5


@pytest.mark.parametrize("ahead", [timedelta(minutes=29), timedelta(hours=48, seconds=1), timedelta(0)])
def test_a_session_starts_30_minutes_to_48_hours_ahead(ahead: timedelta) -> None:
    with pytest.raises(InvalidInput):
        check_session(group(), MulticastSession(NOW + ahead), NOW)


def test_ping_slot_period_is_a_power_of_two() -> None:
    check_session(group(), MulticastSession(NOW + timedelta(hours=1), ping_slot_period=4096), NOW)
    with pytest.raises(InvalidInput):
        check_session(group(), MulticastSession(NOW + timedelta(hours=1), ping_slot_period=96), NOW)


@pytest.mark.parametrize(("keys", "missing"), [
    (DeviceKeys(Activation.OTAA_V1_1, app_key="1", nwk_key="2"), "LoRaWAN.OtaaV1_1.JoinEui"),
    (DeviceKeys(Activation.OTAA_V1_0_X, app_key="1"), "LoRaWAN.OtaaV1_0_x.AppEui"),
    (DeviceKeys(Activation.ABP_V1_1, dev_addr="1", f_nwk_s_int_key="1", s_nwk_s_int_key="1", nwk_s_enc_key="1"),
     "LoRaWAN.AbpV1_1.SessionKeys.AppSKey"),
    (DeviceKeys(Activation.ABP_V1_0_X, dev_addr="1", app_s_key="1"), "LoRaWAN.AbpV1_0_x.SessionKeys.NwkSKey"),
])
def test_each_activation_needs_its_keys(keys: DeviceKeys, missing: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        check_keys(keys)
    assert excinfo.value.field == missing


def test_join_eui_stands_for_app_eui_on_1_0_x() -> None:
    check_keys(DeviceKeys(Activation.OTAA_V1_0_X, app_key="1", join_eui="2"))


def test_fports_default_to_the_packages_ports_and_must_differ() -> None:
    assert FPorts().effective == (201, 200, 202)
    assert FPorts(fuota=10).effective == (10, 200, 202)
    with pytest.raises(InvalidInput):
        FPorts(clock_sync=201).check()


def test_tags() -> None:
    check_tags({"otahub:simulated-loss": "0.25", "otahub:simulated-fault": "corrupt"})
    assert simulated_loss({"otahub:simulated-loss": "0.25"}) == 0.25
    assert simulated_loss({}) == 0.0
    for bad in ({"otahub:simulated-loss": "-0.1"}, {"otahub:simulated-loss": "x"}, {"aws:k": "v"},
                {f"k{i}": "v" for i in range(201)}):
        with pytest.raises(InvalidInput):
            check_tags(bad)


def test_fingerprints_ignore_map_order_and_replays_compare_them() -> None:
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    made = replace(group(), client_token="t", request_hash=fingerprint("x"))
    assert replayed(made, fingerprint("x"), "CreateMulticastGroup") is made
    assert replayed(None, fingerprint("x"), "CreateMulticastGroup") is None
    with pytest.raises(Conflict):
        replayed(made, fingerprint("y"), "CreateMulticastGroup")
