"""A/B slots: installs go to the inactive slot, reboots switch, a failed test rolls back, crashes harm nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from otahub.device.slots import SlotError, SlotStore
from otahub.device.status import AppVersion

V1, V2 = AppVersion(1, 0, 0), AppVersion(1, 1, 0)


@pytest.fixture
def store(tmp_path: Path) -> SlotStore:
    opened = SlotStore.open(tmp_path / "slots", V1)
    opened.provision(b"factory image", V1)
    return opened


def new_image(tmp_path: Path, data: bytes = b"new image v2") -> Path:
    path = tmp_path / "download.bin"
    path.write_bytes(data)
    return path


def test_install_switch_commit(store: SlotStore, tmp_path: Path) -> None:
    assert (store.active, store.inactive, store.version()) == ("a", "b", V1)
    assert store.install(new_image(tmp_path)) == "b"
    assert store.active == "a" and store.state.pending == "b"  # written, not booted
    assert store.active_image().read_bytes() == b"factory image"
    assert store.switch() == "b"
    assert store.testing and store.active_image().read_bytes() == b"new image v2"
    store.commit(V2)
    assert (store.active, store.testing, store.version()) == ("b", False, V2)
    reopened = SlotStore.open(store.root, AppVersion(9, 9, 9))  # the state is on disk, not in memory
    assert (reopened.active, reopened.version(), reopened.version("a")) == ("b", V2, V1)
    assert reopened.install(new_image(tmp_path, b"v3")) == "a"  # the next update goes to the other slot


def test_rollback_boots_the_old_slot(store: SlotStore, tmp_path: Path) -> None:
    store.install(new_image(tmp_path))
    store.switch()
    assert store.rollback() == "a"
    assert not store.testing and store.active_image().read_bytes() == b"factory image"
    assert SlotStore.open(store.root, V1).active == "a"
    with pytest.raises(SlotError):
        store.rollback()
    with pytest.raises(SlotError):
        store.commit(V2)


def test_switch_needs_a_pending_image_and_install_waits_for_the_test(store: SlotStore, tmp_path: Path) -> None:
    with pytest.raises(SlotError, match="pending"):
        store.switch()
    store.install(new_image(tmp_path))
    store.switch()
    with pytest.raises(SlotError, match="under test"):
        store.install(new_image(tmp_path))


def test_a_crash_mid_write_leaves_the_active_slot_intact(store: SlotStore, tmp_path: Path) -> None:
    # A crash while the new image was being copied: a partial temporary file, nothing renamed.
    (store.root / "tmp" / "b-crashed.tmp").write_bytes(b"new im")
    (store.root / ".state.json.crashed.tmp").write_text('{"active": "b"')  # and half a state file
    reopened = SlotStore.open(store.root, V1)
    assert reopened.active == "a" and reopened.active_image().read_bytes() == b"factory image"
    assert list((store.root / "tmp").iterdir()) == [] and not list(store.root.glob(".state.json.*"))
    assert json.loads((store.root / "state.json").read_text())["active"] == "a"


def test_a_failing_rename_changes_nothing(store: SlotStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(_src: object, _dst: object) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power lost"):
        store.install(new_image(tmp_path))
    monkeypatch.undo()
    reopened = SlotStore.open(store.root, V1)
    assert reopened.state.pending is None and reopened.active == "a"
    assert reopened.active_image().read_bytes() == b"factory image" and not reopened.image("b").exists()
    assert list((store.root / "tmp").iterdir()) == []


def test_provision_only_once(store: SlotStore) -> None:
    with pytest.raises(SlotError):
        store.provision(b"again", V1)
