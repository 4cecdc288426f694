"""What the window imports before its first paint (issue 15): only its frame. Not the
network, keyring, OAuth or sandbox code, which sign-in and upload load later, and not the
parts (Pillow, the publish use case, the editor…), which come on a worker thread after
that paint. Not a timing test: it checks the import graph of a real ``avatar-studio``
process at its first paint event."""

from __future__ import annotations

from tests.bench.startup import modules_at_first_paint

LATE = ("keyring", "werkzeug", "requests", "requests_oauthlib", "oauthlib", "urllib3",
        "PIL", "numpy")
LATE_OURS = ("avatar_studio.core.services", "avatar_studio.core.sandbox",
             "avatar_studio.core.keyring_memory", "avatar_studio.core.imaging",
             "avatar_studio.core.publish", "avatar_studio.core.credentials",
             "avatar_studio.core.logfile", "avatar_studio.gui.workspace",
             "avatar_studio.gui.context", "avatar_studio.gui.accounts",
             "avatar_studio.gui.cropeditor", "avatar_studio.gui.errors")


def test_the_window_paints_before_loading_network_keyring_or_sandbox_code() -> None:
    modules = modules_at_first_paint()
    assert "avatar_studio.gui.mainwindow" in modules  # the probe saw the real window
    late = [m for m in modules
            if m.split(".")[0] in LATE or any(m == p or m.startswith(p + ".")
                                               for p in LATE_OURS)]
    assert late == []
