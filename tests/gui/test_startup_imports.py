"""What the window imports before its first paint (issue 15): not the network, keyring,
OAuth or sandbox code, which sign-in and upload load later. Not a timing test: it checks
the import graph of a real ``avatar-studio`` process at its first paint event."""

from __future__ import annotations

from tests.bench.startup import modules_at_first_paint

LATE = ("keyring", "werkzeug", "requests", "requests_oauthlib", "oauthlib", "urllib3")
LATE_OURS = ("avatar_studio.core.services.x.client", "avatar_studio.core.sandbox",
             "avatar_studio.core.keyring_memory")


def test_the_window_paints_before_loading_network_keyring_or_sandbox_code() -> None:
    modules = modules_at_first_paint()
    assert "avatar_studio.gui.mainwindow" in modules  # the probe saw the real window
    late = [m for m in modules
            if m.split(".")[0] in LATE or any(m == p or m.startswith(p + ".")
                                               for p in LATE_OURS)]
    assert late == []
