"""Settings: flags over environment over file over defaults; one line per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler_ext.config import SettingsError, load_settings


def test_defaults() -> None:
    settings = load_settings()
    assert (settings.server.port, settings.mode, settings.planning.start_method) == (
        8888,
        "dry-run",
        "forkserver",
    )


def test_precedence_flags_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(
        "server: {port: 9000, host: 127.0.0.2}\nplanning: {debounce_seconds: 3, history: 7}\n"
    )
    monkeypatch.setenv("SCHEDULER_EXT_PLANNING__DEBOUNCE_SECONDS", "2")
    monkeypatch.setenv("SCHEDULER_EXT_SERVER__PORT", "9100")
    settings = load_settings({"server": {"port": 9200, "host": None}}, config_file=config)
    assert settings.server.port == 9200  # flag
    assert settings.server.host == "127.0.0.2"  # file (the flag was not given)
    assert settings.planning.debounce_seconds == 2  # environment over file
    assert settings.planning.history == 7  # file


def test_every_bad_value_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("planing: {}\nplanning: {start_method: fork}\n")
    monkeypatch.setenv("SCHEDULER_EXT_SERVER__PORT", "http")
    with pytest.raises(SettingsError) as failure:
        load_settings({"planning": {"time_limit_seconds": -1}}, config_file=config)
    lines = failure.value.lines
    assert len(lines) == 4, lines
    assert any(line.startswith("server.port (SCHEDULER_EXT_SERVER__PORT):") for line in lines)
    assert any("planning.start_method" in line and "'fork'" in line for line in lines)
    assert any(line.startswith("planning.time_limit_seconds") for line in lines)
    assert any(line.startswith("planing ") for line in lines)


@pytest.mark.parametrize(
    ("content", "message"),
    [("server: [1", "invalid YAML"), ("- 1\n", "expected a mapping")],
)
def test_bad_files(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text(content)
    with pytest.raises(SettingsError, match=message):
        load_settings(config_file=config)
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(config_file=tmp_path / "missing.yaml")


def test_tls_needs_both_files(tmp_path: Path) -> None:
    cert = tmp_path / "tls.crt"
    cert.write_text("x")
    with pytest.raises(SettingsError, match="given together"):
        load_settings({"server": {"tls_cert_file": str(cert)}})


def test_lease_times_must_be_ordered_as_client_go_requires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCHEDULER_EXT_LEADER_ELECTION__RENEW_DEADLINE_SECONDS", "20")
    with pytest.raises(SettingsError, match=r"^leader_election \(.*need lease duration >"):
        load_settings()
    monkeypatch.setenv("SCHEDULER_EXT_LEADER_ELECTION__RENEW_DEADLINE_SECONDS", "12")
    settings = load_settings({"planning": {"journal": "memory"}, "cluster": {"namespace": "ops"}})
    assert settings.leader_election.renew_deadline_seconds == 12
    assert (settings.planning.journal, settings.cluster.namespace) == ("memory", "ops")
