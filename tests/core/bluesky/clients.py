"""Building the Bluesky client against the sandbox (and a loopback DNS server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from avatar_studio.core.sandbox.bluesky import BlueskySandbox
from avatar_studio.core.services.base import SignedInAccount, SignInKind, SignInRequest
from avatar_studio.core.services.bluesky.discovery import Resolver
from avatar_studio.core.services.bluesky.service import (
    BlueskyService,
    BlueskySession,
    ConfirmPolicy,
)

FAST_CONFIRM = ConfirmPolicy(timeout_s=2.0, first_interval_s=0.05, max_interval_s=0.2)
#: No DNS server: handles resolve over HTTPS only (TinyDns tests the DNS way).
NO_DNS: list[tuple[str, int]] = []


def service_for(pds: BlueskySandbox, *, nameservers: Any = None,
                https_base: Callable[[str], str] | None = None, **kwargs: Any
                ) -> BlueskyService:
    base = pds.base_url

    def resolver() -> Resolver:
        return Resolver(nameservers=nameservers if nameservers is not None else NO_DNS,
                        https_base=https_base or (lambda handle: base), plc_url=base,
                        timeout_s=1.0)

    kwargs.setdefault("confirm_policy", FAST_CONFIRM)
    return BlueskyService(resolver=resolver, **kwargs)


def sign_in(service: BlueskyService, pds: BlueskySandbox, *, api_base: str | None = None,
            identifier: str | None = None, code: str = "") -> SignedInAccount:
    demo = pds.demo
    attempt = service.sign_in(SignInRequest(SignInKind.PASSWORD, api_base=api_base))
    try:
        return attempt.with_password(identifier or demo.handle, demo.app_password,
                                     second_factor=code)
    finally:
        attempt.close()


def open_session(pds: BlueskySandbox, service: BlueskyService | None = None,
                 on_secret_changed: Any = None) -> BlueskySession:
    service = service or service_for(pds)
    account = sign_in(service, pds, api_base=pds.base_url)
    return service.open_session(account.identity, account.secret,
                                on_secret_changed=on_secret_changed)
