"""``/_sandbox/``: switch faults from another process (tests, demos). Loopback only."""

from __future__ import annotations

from avatar_studio.core.net import is_loopback_ip
from avatar_studio.core.sandbox.basicfaults import basic_action
from avatar_studio.core.sandbox.faults import Faults
from avatar_studio.core.sandbox.processing import ImageProcessor
from avatar_studio.core.sandbox.ratelimit import RateLimiter
from avatar_studio.core.sandbox.responses import json_response, not_found
from avatar_studio.core.sandbox.users import flag
from werkzeug.wrappers import Request, Response


def is_loopback(address: str | None) -> bool:
    """The client's address (an IP, never a name) is this computer's (core.net)."""
    return bool(address) and is_loopback_ip(address or "")


class Control:
    """``GET /_sandbox/status`` and ``POST /_sandbox/<action>`` (parameters in query or form):

    latency (seconds), fail_next (n, status=500|503), drop_next (n),
    stall_processing (on=true|false), revoke_token (access_token),
    read_only (api_key, on=true|false), reset.
    """

    def __init__(self, faults: Faults, limiter: RateLimiter, processor: ImageProcessor) -> None:
        self.faults = faults
        self.limiter = limiter
        self.processor = processor

    def status(self, request: Request) -> Response:
        return json_response({"faults": self.faults.snapshot().as_dict(),
                              "processing": {"pending": self.processor.pending,
                                             "completed": self.processor.completed}})

    def action(self, request: Request, action: str) -> Response:
        values = request.values
        ok = True
        try:
            if basic_action(self.faults, action, values):
                pass  # latency, fail_next, drop_next
            elif action == "stall_processing":
                self.faults.stall_processing(flag(values.get("on"), default=True))
            elif action == "revoke_token":
                ok = self.faults.revoke_token(values.get("access_token", ""))
            elif action == "read_only":
                ok = self.faults.set_read_only(values.get("api_key", ""),
                                               flag(values.get("on"), default=True))
            elif action == "reset":
                self.faults.reset()
                self.limiter.reset()
            else:
                return not_found()
        except ValueError as exc:
            return json_response({"ok": False, "error": str(exc)}, 400)
        if not ok:
            return json_response({"ok": False, "error": "unknown token or app"}, 404)
        return json_response({"ok": True, "faults": self.faults.snapshot().as_dict()})
