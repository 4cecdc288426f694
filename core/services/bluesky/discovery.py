"""Handle -> DID -> DID document -> PDS, as atproto's identity specs say.

- handle -> DID: DNS TXT ``_atproto.<handle>`` (``did=...``; several valid ones fail) with
  dnspython, then HTTPS ``/.well-known/atproto-did``; DNS wins (it is asked first).
- DID -> document: ``did:plc`` from the PLC directory, ``did:web`` from
  ``https://<host>/.well-known/did.json``.
- document -> PDS: the ``#atproto_pds`` service of type ``AtprotoPersonalDataServer``; the
  handle must be the document's first ``at://`` alias (checked both ways).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver
import requests
from avatar_studio.core import http as core_http
from avatar_studio.core.net import is_loopback_host
from avatar_studio.core.services.bluesky.errors import HandleNotResolved
from avatar_studio.core.services.bluesky.spec import DEFAULT_PLC_URL, HELP_URL, KEY
from avatar_studio.core.services.bluesky.xrpc import network_error, validate_base

log = logging.getLogger(__name__)

MAX_DOC_BYTES = 64 * 1024


@dataclass(frozen=True)
class Discovered:
    handle: str
    did: str
    pds: str


def normalize_handle(text: str) -> str:
    handle = text.strip().lower()
    if handle.startswith("@"):
        handle = handle[1:]
    if handle.startswith("at://"):
        handle = handle[5:]
    return handle


def pds_from_doc(doc: Any) -> str | None:
    """The PDS endpoint a DID document names, or None."""
    if not isinstance(doc, dict):
        return None
    for service in doc.get("service") or []:
        if not isinstance(service, dict):
            continue
        ident = str(service.get("id", ""))
        if ident.endswith("#atproto_pds") and service.get("type") == \
                "AtprotoPersonalDataServer":
            endpoint = service.get("serviceEndpoint")
            if isinstance(endpoint, str) and endpoint:
                return endpoint.rstrip("/")
    return None


def handle_from_doc(doc: Any) -> str | None:
    if not isinstance(doc, dict):
        return None
    for alias in doc.get("alsoKnownAs") or []:
        if isinstance(alias, str) and alias.startswith("at://"):
            return alias[5:].lower()
    return None


class Resolver:
    """Finds a handle's PDS. Every outside address is injectable, for tests on loopback."""

    def __init__(self, *, http: requests.Session | None = None,
                 nameservers: Sequence[tuple[str, int]] | None = None,
                 https_base: Callable[[str], str] | None = None,
                 plc_url: str = DEFAULT_PLC_URL, timeout_s: float = 5.0) -> None:
        self.http = http or core_http.BoundedSession()  # bounded: core/http.py
        self.nameservers = list(nameservers) if nameservers is not None else None
        #: handle -> the origin to ask for /.well-known/atproto-did.
        self.https_base = https_base or (lambda handle: f"https://{handle}")
        self.plc_url = validate_base(plc_url, "PLC directory")
        self.timeout_s = timeout_s

    def _dns(self) -> dns.resolver.Resolver:
        if self.nameservers is None:
            resolver = dns.resolver.Resolver()
        else:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [host for host, _ in self.nameservers]
            resolver.port = self.nameservers[0][1] if self.nameservers else 53
        resolver.lifetime = self.timeout_s
        return resolver

    def did_from_dns(self, handle: str) -> str | None:
        if self.nameservers == []:
            return None  # no DNS asked (nameservers=[]): HTTPS only
        try:
            answer = self._dns().resolve(f"_atproto.{handle}", "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.NoNameservers,
                dns.exception.Timeout, dns.resolver.LifetimeTimeout):
            return None
        except dns.exception.DNSException as exc:
            log.info("DNS lookup for a handle failed: %s", type(exc).__name__)
            return None
        found = []
        for record in answer:
            text = b"".join(record.strings).decode("utf-8", errors="replace")
            if text.startswith("did="):
                found.append(text[4:].strip())
        if len(found) > 1:
            raise HandleNotResolved(f"@{handle} has more than one DID in DNS.",
                                    hint="The handle's owner must fix its _atproto TXT "
                                    "records.", service=KEY, help_url=HELP_URL)
        return found[0] if found else None

    def did_from_https(self, handle: str) -> str | None:
        url = f"{self.https_base(handle).rstrip('/')}/.well-known/atproto-did"
        try:
            response = self.http.get(url, timeout=self.timeout_s, allow_redirects=False,
                                     stream=True)
        except requests.RequestException as exc:
            log.info("well-known lookup for a handle failed: %s", type(exc).__name__)
            return None
        with response:
            if not 200 <= response.status_code < 300:
                return None
            text = core_http.body_prefix(response, 2048).decode("utf-8", "replace")
        did = text.strip().splitlines()[0].strip() if text.strip() else ""
        return did if did.startswith("did:") else None

    def did_document(self, did: str) -> Any:
        if did.startswith("did:plc:"):
            url = f"{self.plc_url}/{urllib.parse.quote(did, safe=':')}"
        elif did.startswith("did:web:"):
            host = urllib.parse.unquote(did[len("did:web:"):])
            if ":" in host.split("]")[-1] and not is_loopback_host(host.rsplit(":", 1)[0]):
                raise HandleNotResolved(f"{did} is not a valid did:web (no ports).",
                                        service=KEY, help_url=HELP_URL)
            scheme = "http" if is_loopback_host(host.rsplit(":", 1)[0]) else "https"
            url = f"{scheme}://{host}/.well-known/did.json"
        else:
            raise HandleNotResolved(f"{did} is a kind of DID Bluesky does not use.",
                                    service=KEY, help_url=HELP_URL)
        try:
            response = self.http.get(url, timeout=self.timeout_s, allow_redirects=False,
                                     stream=True)
        except requests.RequestException as exc:
            raise network_error(exc, url) from None
        with response:
            body = core_http.body_prefix(response, MAX_DOC_BYTES)
            if response.status_code != 200:
                raise HandleNotResolved(f"No DID document for {did} "
                                        f"(HTTP {response.status_code}).", service=KEY,
                                        help_url=HELP_URL)
        try:
            return core_http.parse_json(body)
        except ValueError:
            raise HandleNotResolved(f"The DID document of {did} is not JSON.", service=KEY,
                                    help_url=HELP_URL) from None

    def resolve(self, handle_text: str) -> Discovered:
        handle = normalize_handle(handle_text)
        if not handle or "." not in handle or "/" in handle or " " in handle:
            raise HandleNotResolved(f"{handle_text!r} is not a Bluesky handle.",
                                    hint="A handle looks like alice.bsky.social.",
                                    service=KEY, help_url=HELP_URL)
        did = self.did_from_dns(handle) or self.did_from_https(handle)
        if did is None:
            raise HandleNotResolved(f"No Bluesky account found for @{handle}.",
                                    hint="Check the spelling, or enter the server under "
                                    "Advanced (e.g. https://bsky.social).", service=KEY,
                                    help_url=HELP_URL)
        doc = self.did_document(did)
        pds = pds_from_doc(doc)
        if pds is None:
            raise HandleNotResolved(f"The account @{handle} names no Bluesky server (PDS).",
                                    service=KEY, help_url=HELP_URL)
        if handle_from_doc(doc) != handle:
            raise HandleNotResolved(f"@{handle} and its DID document do not agree.",
                                    hint="The handle may have changed; try the new one.",
                                    service=KEY, help_url=HELP_URL)
        return Discovered(handle, did, validate_base(pds, "The account's PDS"))

    def close(self) -> None:
        self.http.close()
