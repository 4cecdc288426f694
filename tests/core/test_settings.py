from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from avatar_studio.core import settings as st
from avatar_studio.core.services import registry
from avatar_studio.core.services.x.spec import X_SPEC


def test_defaults_when_missing(isolated_dirs: dict[str, Path]) -> None:
    s = st.load_settings()
    assert s == st.Settings()
    assert st.settings_path().parent == isolated_dirs["config"]


def test_round_trip_and_accounts() -> None:
    s = st.Settings(mask_shape="square", fill_color="#102030")
    acc = st.AccountRecord("x", "http://127.0.0.1:1", "42", "@alice", "Alice")
    s.upsert_account(acc)
    s.upsert_account(st.AccountRecord("x", "http://127.0.0.1:1", "42", "@alice2", "Alice"))
    s.last_account = acc.key
    st.save_settings(s)
    loaded = st.load_settings()
    assert loaded.mask_shape == "square"
    assert loaded.fill_color == "#102030"
    assert [a.handle for a in loaded.accounts] == ["@alice2"]
    assert loaded.find_account("@ALICE2") is not None
    loaded.remove_account(acc.key)
    assert loaded.accounts == []
    assert loaded.last_account == ""


def test_recent_files_are_unique_and_bounded() -> None:
    s = st.Settings()
    for i in range(15):
        s.add_recent(f"/img/{i}.jpg")
    s.add_recent("/img/3.jpg")
    assert s.recent_files[0] == "/img/3.jpg"
    assert len(s.recent_files) == st.MAX_RECENT_FILES
    assert s.recent_files.count("/img/3.jpg") == 1


def test_damaged_file_gives_defaults_and_wrong_types_are_ignored(expect_log) -> None:
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with expect_log("WARNING", "unreadable", logger="avatar_studio.core.settings"):
        assert st.load_settings() == st.Settings()
    path.write_text(json.dumps({"mask_shape": 5, "fill_color": "#000000", "bogus": 1}),
                    encoding="utf-8")
    s = st.load_settings()
    assert s.mask_shape == "circle"
    assert s.fill_color == "#000000"


@pytest.mark.parametrize("accounts", [["@alice"], [None, 3], {"screen_name": "alice"}, 7])
def test_damaged_account_list_is_skipped_not_a_crash(accounts: object, expect_log) -> None:
    good = {"service": "x", "base_url": "http://127.0.0.1:1", "user_id": "42",
            "screen_name": "bob"}
    path = st.settings_path()
    path.parent.mkdir(parents=True)
    listed = [*accounts, good] if isinstance(accounts, list) else accounts
    path.write_text(json.dumps({"accounts": listed, "theme": "dark"}), encoding="utf-8")
    with expect_log("WARNING", "malformed account entry"):
        s = st.load_settings()
    assert s.theme == "dark"
    expected = ["@bob"] if isinstance(accounts, list) else []
    assert [a.handle for a in s.accounts] == expected


def test_service_facts_live_in_one_place() -> None:
    assert registry.get("x").default_spec is X_SPEC
    assert X_SPEC.max_bytes_exclusive == 700_000
    assert X_SPEC.output_side == 400
    assert X_SPEC.display_sizes == (400, 200, 73, 48, 24)
    assert X_SPEC.round_display
    assert X_SPEC.accepts("jpeg")
    assert not X_SPEC.accepts("WEBP")


def test_update_settings_keeps_what_others_wrote() -> None:
    acc = st.AccountRecord("x", "http://127.0.0.1:1", "42", "alice", "Alice")
    other = st.Settings()
    other.upsert_account(acc)
    st.save_settings(other)  # e.g. core.accounts after a sign-in
    st.update_settings(lambda s: setattr(s, "theme", "dark"))
    loaded = st.load_settings()
    assert loaded.theme == "dark"
    assert [a.key for a in loaded.accounts] == [acc.key]


def test_concurrent_updates_lose_nothing() -> None:
    # The window's writer and the account list's workers write from several threads.
    import threading

    paths = [f"/img/{i}.jpg" for i in range(st.MAX_RECENT_FILES)]
    go = threading.Barrier(len(paths))

    def add(path: str) -> None:
        go.wait()
        st.update_settings(lambda s: s.add_recent(path))

    threads = [threading.Thread(target=add, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(st.load_settings().recent_files) == sorted(paths)


def test_the_writer_writes_in_order_off_the_calling_thread() -> None:
    import threading

    threads: list[str] = []

    def add(path: str) -> Callable[[st.Settings], None]:
        def change(s: st.Settings) -> None:
            threads.append(threading.current_thread().name)
            s.add_recent(path)
        return change

    writer = st.SettingsWriter()
    for i in range(5):
        writer.update(add(f"/img/{i}.jpg"))
    assert writer.flush(timeout=30)
    assert st.load_settings().recent_files == [f"/img/{i}.jpg" for i in (4, 3, 2, 1, 0)]
    assert threading.current_thread().name not in threads
    assert all(name.startswith("avatar-settings") for name in threads)


def test_the_writer_writes_to_the_file_named_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A change asked for under one environment is not written under the next one's
    # (a test's temporary folders are gone by the time a late write would run).
    import threading

    from avatar_studio.core import paths

    gate = threading.Event()

    def hold(_settings: st.Settings) -> None:
        gate.wait(30)  # the writer is busy until the test releases it

    writer = st.SettingsWriter()
    try:
        writer.update(hold)
        first = st.settings_path()
        writer.update(lambda s: setattr(s, "theme", "dark"))
        monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "elsewhere"))
        assert st.settings_path() != first
    finally:
        gate.set()
    assert writer.flush(timeout=30)
    assert st.load_settings(first).theme == "dark"
    assert not st.settings_path().exists()


def test_a_write_that_fails_is_reported_not_raised(expect_log) -> None:
    errors: list[BaseException] = []
    # A folder nobody can make, root included.
    writer = st.SettingsWriter(Path("/proc/avatar-studio-test/settings.json"),
                               on_error=errors.append)
    with expect_log("WARNING", "Settings not saved"):
        writer.update(lambda s: setattr(s, "theme", "dark"))
        assert writer.flush(timeout=30)
    assert len(errors) == 1
    assert isinstance(errors[0], st.SettingsNotSaved)
    assert writer.flush(timeout=0)  # nothing pending


def test_expect_log_needs_a_matching_record(expect_log) -> None:
    log = logging.getLogger("avatar_studio.core.settings")
    # The failed expectation leaves the record it did not match: still unexpected, so an
    # outer expectation has to take it.
    with expect_log("WARNING", "something else"), \
            pytest.raises(pytest.fail.Exception, match="expected a WARNING record"), \
            expect_log("WARNING", "never logged"):
        log.warning("something else")
    with expect_log("WARNING", "^exactly this$") as matched:
        log.warning("exactly this")
    assert [r.getMessage() for r in matched] == ["exactly this"]


def test_signing_in_again_keeps_the_entry_its_place_and_a_newer_release_keys() -> None:
    """A newer release's per-account keys survive a re-sign-in by this one, and the
    account keeps its place in the list (the window's account list does not reorder)."""
    s = st.Settings()
    first = st.AccountRecord("x", "http://127.0.0.1:1", "42", "@alice", "Alice",
                             unknown={"pinned": True, "colour": "#abcdef"})
    s.upsert_account(first)
    s.upsert_account(st.AccountRecord("mastodon", "https://m.example", "7", "@bob@m.example"))
    s.upsert_account(st.AccountRecord("x", "http://127.0.0.1:1", "42", "@alice", "Alice B."))
    assert [a.handle for a in s.accounts] == ["@alice", "@bob@m.example"]
    assert s.accounts[0].display_name == "Alice B."
    assert s.accounts[0].unknown == {"pinned": True, "colour": "#abcdef"}
    st.save_settings(s)
    raw = json.loads(st.settings_path().read_text(encoding="utf-8"))
    assert raw["accounts"][0]["pinned"] is True
    assert raw["accounts"][0]["colour"] == "#abcdef"
