"""Run as a child process: refresh a session and die by SIGKILL around the write-back.

argv: secret file, identity JSON, "before" | "after". "before": killed when the rotated
secret arrives, before writing it; "after": killed right after writing it, before use.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from avatar_studio.core.services.base import Identity, Secret
from avatar_studio.core.services.bluesky.service import BlueskyService


def main() -> None:
    secret_file, identity_json, when = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    stored = json.loads(secret_file.read_text())
    secret = Secret(stored.pop("service"), {k: v for k, v in stored.items() if k != "v"},
                    stored["v"])
    identity = Identity(**json.loads(identity_json))

    def write_back(rotated: Secret) -> None:
        if when == "after":
            secret_file.write_text(rotated.to_json())
        os.kill(os.getpid(), signal.SIGKILL)

    session = BlueskyService().open_session(identity, secret, on_secret_changed=write_back)
    session.refresh()
    raise SystemExit("not killed")


if __name__ == "__main__":
    main()
