"""`otahub --help` and every subcommand's help read well and run."""

from __future__ import annotations

from click.testing import CliRunner

from otahub.cli.main import main


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "endpoint" in result.output


def test_serve_help_shows_every_option_and_its_variable() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--data-dir", "--region", "--account-id", "--access-key-id"):
        assert option in result.output
        assert "OTAHUB_" + option[2:].upper().replace("-", "_") in result.output.replace("\n", " ").replace("  ", "")


def test_mismatched_key_pair_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["serve", "--access-key-id", "AKIA"])
    assert result.exit_code == 2
    assert "go together" in result.output
