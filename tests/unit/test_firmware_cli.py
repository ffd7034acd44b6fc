"""`otahub firmware put`: its help, and how it reads an s3:// destination."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from otahub.cli.firmware import parse_s3_url
from otahub.cli.main import main

names = st.text(alphabet="abc-./", min_size=1, max_size=12)


def test_help_names_every_option_and_its_variables() -> None:
    result = CliRunner().invoke(main, ["firmware", "put", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for needle in ("--endpoint-url", "--access-key-id", "--secret-access-key", "--region", "--create-bucket",
                   "OTAHUB_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID", "http://127.0.0.1:4680", "s3://BUCKET/KEY"):
        assert needle in text
    assert "firmware" in CliRunner().invoke(main, ["--help"]).output


@given(bucket=names.filter(lambda b: "/" not in b), key=names)
def test_an_s3_url_splits_at_the_first_slash(bucket: str, key: str) -> None:
    url = parse_s3_url(f"s3://{bucket}/{key}")
    assert (url.bucket, url.key, str(url)) == (bucket, key, f"s3://{bucket}/{key}")


@pytest.mark.parametrize("value", ["fw/key", "s3://fw", "s3://fw/", "s3:///key", "https://fw/key"])
def test_other_destinations_are_refused(value: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_s3_url(value)


def test_half_a_key_pair_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"")
    result = CliRunner().invoke(main, ["firmware", "put", str(tmp_path / "x.bin"), "s3://fw/x", "--access-key-id",
                                       "AKIA"], env={"OTAHUB_SECRET_ACCESS_KEY": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert result.exit_code == 2 and "go together" in result.output
