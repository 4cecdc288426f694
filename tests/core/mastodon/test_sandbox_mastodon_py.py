"""An unmodified third-party client, Mastodon.py (PyPI), pointed at the sandbox's URL."""

from __future__ import annotations

import io

import pytest
import requests
from mastodon import Mastodon, MastodonUnauthorizedError
from PIL import Image, ImageSequence

from tests.core.mastodon.helpers import CODE, animated_gif, approve, png

SCOPES = ["read", "write"]


def test_mastodon_py_registers_signs_in_uploads_and_revokes(sandbox, http):
    base = sandbox.base_url
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py test", scopes=SCOPES, redirect_uris="urn:ietf:wg:oauth:2.0:oob",
        api_base_url=base)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base,
                   version_check_mode="created")
    assert api.verify_minimum_version("4.6.0", cached=True)
    url = api.auth_request_url(scopes=SCOPES, allow_http=True)
    # Mastodon.py sends force_login=False&state=None&lang=None literally.
    assert "state=None" in url
    shown = http.get(approve(http, url).headers["Location"])
    code = CODE.search(shown.text)
    assert code is not None
    token = api.log_in(code=code[1], scopes=SCOPES, allow_http=True)
    assert token
    me = api.account_verify_credentials()
    assert me.username == "demo"
    updated = api.account_update_credentials(avatar=png((640, 480)),
                                             avatar_mime_type="image/png",
                                             avatar_description="Red")
    assert updated.avatar != me.avatar
    assert updated.avatar_description == "Red"
    with Image.open(io.BytesIO(requests.get(updated.avatar, timeout=10).content)) as im:
        assert im.size == (400, 400)
    api.revoke_access_token(allow_http=True)
    after = Mastodon(access_token=token, api_base_url=base)
    with pytest.raises(MastodonUnauthorizedError, match="The access token is invalid"):
        after.account_verify_credentials()


def test_mastodon_py_animated_gif_with_the_demo_token(sandbox):
    api = Mastodon(access_token=sandbox.demo.access_token, api_base_url=sandbox.base_url)
    gif = animated_gif((300, 300), 3, (90, 90, 300))
    result = api.account_update_credentials(avatar=gif, avatar_mime_type="image/gif")
    assert result.avatar.endswith(".gif")
    assert result.avatar_static.endswith(".png")
    with Image.open(io.BytesIO(requests.get(result.avatar, timeout=10).content)) as im:
        assert [f.info["duration"] for f in ImageSequence.Iterator(im)] == [90, 90, 300]
