"""One picture, several accounts: `upload --account @a --account @b --json` (and --all)
against two real sandbox accounts, through the publish use case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from avatar_studio.core.cli.account import ENV_VARS
from avatar_studio.core.cli.upload import EXIT_SOME_FAILED
from avatar_studio.core.credentials import MemoryBackend
from avatar_studio.core.sandbox.server import SandboxServer
from avatar_studio.core.services.errors import TokenRevoked

from tests.core.x.cli_helpers import CliRunner, run_cli
from tests.core.x.helpers import noise_png

__all__ = ["run_cli"]

KEYS = ["screen_name", "old_url", "new_url", "bytes", "format", "service", "account", "ok"]


@pytest.fixture
def two_accounts(sandbox: SandboxServer, run_cli: CliRunner, memory_keyring: MemoryBackend,
                 monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """@sandbox_user and @second_user signed in (login --tokens); their access tokens."""
    demo = sandbox.demo
    other = sandbox.state.add_user("second_user", "Second User")
    token = sandbox.state.issue_access_token(demo.api_key, other.user_id)
    tokens = {"@sandbox_user": demo.access_token, "@second_user": token.token}
    for access, secret in ((demo.access_token, demo.access_secret),
                           (token.token, token.secret)):
        for name, value in zip(ENV_VARS, (demo.api_key, demo.api_secret, access, secret),
                               strict=True):
            monkeypatch.setenv(name, value)
        run = run_cli("login", "--tokens", "--api-base", sandbox.base_url)
        assert run.code == 0, run.err
    for name in ENV_VARS:
        monkeypatch.delenv(name)
    return tokens


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    path.write_bytes(noise_png(180))
    return path


def _lines(out: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.splitlines()]


def test_two_accounts_two_lines_two_new_urls(sandbox: SandboxServer, run_cli: CliRunner,
                                             two_accounts: dict[str, str],
                                             photo: Path) -> None:
    run = run_cli("upload", str(photo), "--account", "@sandbox_user",
                  "--account", "x:@second_user", "--json")
    assert run.code == 0, run.err
    lines = _lines(run.out)
    assert [line["account"] for line in lines] == ["@sandbox_user", "@second_user"]
    for line in lines:
        assert list(line) == KEYS
        assert line["ok"] is True
        assert line["service"] == "x"
        assert isinstance(line["new_url"], str)
        assert line["new_url"].startswith(sandbox.base_url + "/profile_images/")
        assert line["new_url"] != line["old_url"]
    assert lines[0]["new_url"] != lines[1]["new_url"]
    # Rendered once for the one spec both accounts share: the same bytes went to both.
    assert lines[0]["bytes"] == lines[1]["bytes"]
    assert sandbox.processor.completed == 2


def test_one_failing_account_does_not_stop_the_other(sandbox: SandboxServer,
                                                     run_cli: CliRunner,
                                                     two_accounts: dict[str, str],
                                                     photo: Path) -> None:
    sandbox.faults.revoke_token(two_accounts["@second_user"])
    run = run_cli("upload", str(photo), "--all", "--json")
    assert run.code == EXIT_SOME_FAILED
    good, bad = _lines(run.out)
    assert good["ok"] is True
    assert isinstance(good["new_url"], str)
    assert bad["ok"] is False
    assert bad["account"] == "@second_user"
    assert bad["exit_code"] == TokenRevoked.exit_code
    assert "no longer valid" in str(bad["error"])
    assert list(bad)[-2:] == ["error", "exit_code"]
    assert "@second_user (x):" in run.err

    # With only the failing account, the exit code is its own, as it always was.
    run = run_cli("upload", str(photo), "--account", "@second_user", "--json")
    assert run.code == TokenRevoked.exit_code
    (line,) = _lines(run.out)
    assert line["exit_code"] == TokenRevoked.exit_code


def test_plain_output_and_no_wait_for_several(sandbox: SandboxServer, run_cli: CliRunner,
                                              two_accounts: dict[str, str],
                                              photo: Path) -> None:
    run = run_cli("upload", str(photo), "--all")
    assert run.code == 0, run.err
    rows = [line.split("\t") for line in run.out.splitlines()]
    assert [r[0] for r in rows] == ["x:@sandbox_user", "x:@second_user"]
    assert all(r[1].startswith(sandbox.base_url) for r in rows)
    run = run_cli("upload", str(photo), "--all", "--no-wait", "--json")
    assert run.code == 0, run.err
    assert [line["ok"] for line in _lines(run.out)] == [True, True]


def test_account_names_that_are_wrong_or_ambiguous(run_cli: CliRunner,
                                                   two_accounts: dict[str, str],
                                                   photo: Path) -> None:
    run = run_cli("upload", str(photo), "--account", "@nobody", "--account", "@second_user")
    assert run.code == 36
    assert "@nobody" in run.err
    assert run.out == ""
    run = run_cli("upload", str(photo), "--account", "mastodon:@second_user")
    assert run.code == 36
    with pytest.raises(SystemExit) as usage:  # argparse: one way to choose, not both
        run_cli("upload", str(photo), "--all", "--account", "@second_user")
    assert usage.value.code == 2
    listed = json.loads(run_cli("accounts", "--json").out)
    assert {a["service"] for a in listed} == {"x"}
    assert [a["handle"] for a in listed] == ["@sandbox_user", "@second_user"]


def test_environment_credentials_are_one_account(sandbox: SandboxServer, run_cli: CliRunner,
                                                 two_accounts: dict[str, str], photo: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    demo = sandbox.demo
    for name, value in zip(ENV_VARS, (demo.api_key, demo.api_secret, demo.access_token,
                                      demo.access_secret), strict=True):
        monkeypatch.setenv(name, value)
    run = run_cli("upload", str(photo), "--all")
    assert run.code == 38
    assert "environment" in run.err
