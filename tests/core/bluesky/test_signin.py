"""Signing in to Bluesky: discovery (DNS TXT, HTTPS well-known, PLC), entryway, 2FA, errors."""

from __future__ import annotations

import pytest
import requests
from avatar_studio.core.sandbox.bluesky import BlueskySandboxConfig
from avatar_studio.core.services import errors as seam
from avatar_studio.core.services import registry
from avatar_studio.core.services.base import SignInKind, SignInRequest
from avatar_studio.core.services.bluesky.discovery import Resolver, pds_from_doc
from avatar_studio.core.services.bluesky.errors import AccountTakenDown, HandleNotResolved
from avatar_studio.core.services.bluesky.spec import app_password_warning

from tests.core.bluesky.clients import service_for, sign_in
from tests.core.bluesky.dns_server import TinyDns


def test_registry_lists_bluesky_as_a_password_service():
    service = registry.get("bluesky")
    assert service.sign_in_kinds == (SignInKind.PASSWORD,)
    assert service.default_api_base == "https://bsky.social"
    spec = service.default_spec
    assert (spec.max_bytes_exclusive, spec.output_side, spec.formats) == (
        1_000_000, 1000, ("JPEG", "PNG"))


def test_sign_in_by_handle_through_dns_txt_and_the_plc_document(pds):
    demo = pds.demo
    records = {f"_atproto.{demo.handle}": ["unrelated=1", f"did={demo.did}"]}
    with TinyDns(records) as dns_server:
        # The well-known address leads nowhere: only DNS can find the DID.
        service = service_for(pds, nameservers=[dns_server.address],
                              https_base=lambda handle: "http://127.0.0.1:9")
        account = sign_in(service, pds, identifier=f"@{demo.handle.upper()}")
    assert dns_server.queries == [f"_atproto.{demo.handle}"]
    identity = account.identity
    assert identity.account_id == demo.did
    assert identity.api_base == pds.base_url  # from the DID document's #atproto_pds
    assert identity.handle == f"@{demo.handle}"
    assert identity.display_name == "Alice Sandbox"
    assert account.secret["did"] == demo.did
    assert account.secret["pds"] == pds.base_url


def test_sign_in_by_handle_through_https_well_known(pds):
    with TinyDns({}) as dns_server:  # NXDOMAIN for everything
        service = service_for(pds, nameservers=[dns_server.address])
        account = sign_in(service, pds)
    assert account.identity.account_id == pds.demo.did


def test_two_dids_in_dns_is_a_failure(pds):
    demo = pds.demo
    with TinyDns({f"_atproto.{demo.handle}": [f"did={demo.did}", "did=did:plc:other"]}
                 ) as dns_server:
        service = service_for(pds, nameservers=[dns_server.address])
        with pytest.raises(HandleNotResolved, match="more than one DID"):
            sign_in(service, pds)


def test_unknown_handle(pds):
    service = service_for(pds, https_base=lambda handle: "http://127.0.0.1:9")
    with pytest.raises(HandleNotResolved) as info:
        sign_in(service, pds, identifier="nobody.test")
    assert info.value.exit_code == 52


def test_sign_in_through_an_entryway_follows_the_did_doc(pds):
    port = pds.base_url.rsplit(":", 1)[1]
    entryway = f"http://localhost:{port}"
    pds.config.pds_endpoint = pds.base_url  # the PDS is "elsewhere" than the entryway
    account = sign_in(service_for(pds), pds, api_base=entryway)
    assert account.identity.api_base == pds.base_url
    assert account.secret["pds"] == pds.base_url


def test_sign_in_by_email_goes_to_the_given_server(pds):
    account = sign_in(service_for(pds), pds, api_base=pds.base_url,
                      identifier=pds.demo.email)
    assert account.identity.account_id == pds.demo.did


@pytest.mark.parametrize("pds_config", [BlueskySandboxConfig(two_factor=True)])
def test_sign_in_with_the_emailed_code(pds):
    service = service_for(pds)
    with pytest.raises(seam.SecondFactorRequired) as info:
        sign_in(service, pds)
    assert info.value.category is seam.Category.CODE_REQUIRED
    assert info.value.exit_code == 50
    with pytest.raises(seam.CodeRejected):
        sign_in(service, pds, code="AAAAA-BBBBB")
    code = requests.get(f"{pds.base_url}/_sandbox/outbox", timeout=5).json()[
        "messages"][-1]["code"]
    account = sign_in(service, pds, code=code)
    assert account.identity.account_id == pds.demo.did


def test_wrong_password_and_takedown(pds):
    service = service_for(pds)
    attempt = service.sign_in(SignInRequest(SignInKind.PASSWORD, api_base=pds.base_url))
    with pytest.raises(seam.CredentialsRejected) as info:
        attempt.with_password(pds.demo.handle, "aaaa-bbbb-cccc-dddd")
    assert info.value.status == 401
    assert info.value.server_message == "AuthenticationRequired: Invalid identifier or password"
    assert "aaaa-bbbb" not in str(info.value)
    pds.control("takedown")
    with pytest.raises(AccountTakenDown) as taken:
        sign_in(service, pds, api_base=pds.base_url)
    assert taken.value.exit_code == 51


def test_http_api_base_must_be_loopback(pds):
    service = service_for(pds)
    with pytest.raises(seam.InvalidApiBase):
        sign_in(service, pds, api_base="http://bsky.example")


def test_app_password_warning():
    assert app_password_warning("abcd-efgh-ijkl-mnop") == ""
    assert "app password" in app_password_warning("hunter2")


def test_did_web_documents_are_read_from_the_host(pds):
    host = pds.base_url.removeprefix("http://").replace(":", "%3A")
    resolver = Resolver(nameservers=[], plc_url=pds.base_url)
    try:
        doc = resolver.did_document(f"did:web:{host}")
        assert pds_from_doc(doc) == pds.base_url
        with pytest.raises(HandleNotResolved):
            resolver.did_document("did:key:z6Mk")
    finally:
        resolver.close()
