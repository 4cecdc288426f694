"""Running ``avatar-studio-cli`` in-process, with the logging it sets up undone after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from avatar_studio.core import cli
from avatar_studio.core.cli.account import ENV_TEST_MIN_WAIT, ENV_TEST_POLL_INTERVAL, ENV_VARS
from avatar_studio.core.sandbox.server import SandboxServer

from tests.logstate import restored_root_logging


@dataclass
class Run:
    code: int
    out: str
    err: str


class CliRunner:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys
        self.runs: list[Run] = []

    def __call__(self, *argv: str) -> Run:
        self.capsys.readouterr()
        code = cli.main(list(argv))
        captured = self.capsys.readouterr()
        run = Run(code, captured.out, captured.err)
        self.runs.append(run)
        assert "Traceback" not in run.err
        return run


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    for name in (*ENV_VARS, "AVATAR_STUDIO_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_TEST_MIN_WAIT, "0.05")
    monkeypatch.setenv(ENV_TEST_POLL_INTERVAL, "0.05")
    with restored_root_logging():
        yield CliRunner(capsys)


def set_env_credentials(monkeypatch: pytest.MonkeyPatch, server: SandboxServer) -> None:
    demo = server.demo
    for name, value in zip(ENV_VARS, (demo.api_key, demo.api_secret, demo.access_token,
                                      demo.access_secret), strict=True):
        monkeypatch.setenv(name, value)
