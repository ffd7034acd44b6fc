"""Device endpoint settings refused at start-up, before anything listens or connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from otahub.cli.main import main
from otahub.config import Settings, SettingsError


@pytest.mark.parametrize("url", ["http://broker:1883", "mqtt://", "mqtt:///path", "broker:1883"])
def test_a_broker_url_must_name_an_mqtt_host(tmp_path: Path, url: str) -> None:
    with pytest.raises(SettingsError, match="--mqtt-broker-url"):
        Settings(tmp_path, mqtt_broker_url=url)


def test_an_external_and_the_embedded_broker_exclude_each_other(tmp_path: Path) -> None:
    assert Settings(tmp_path, mqtt_broker_url="mqtt://user:pw@broker.local:1883").mqtt_broker_url
    with pytest.raises(SettingsError, match="exclude each other"):
        Settings(tmp_path, mqtt_broker_url="mqtt://broker.local", mqtt_plain_port=1883)
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path), "--mqtt-broker-url", "mqtt://",
                                       "--port", "0"])
    assert result.exit_code == 2 and "--mqtt-broker-url" in result.output
