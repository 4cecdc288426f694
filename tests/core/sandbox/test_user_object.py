"""The user object against the fields and types of X's real recorded responses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.core.sandbox.helpers import SHOW, VERIFY

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "x_user_object.json").read_text())
#: X omits profile_banner_url for users without a banner; the sandbox has no banners.
NO_BANNER = {"profile_banner_url"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return {int: "int", str: "str", list: "array", dict: "object", float: "float"}[type(value)]


def check_fields(obj: dict[str, Any], recorded: dict[str, Any], *, user: bool = True) -> None:
    fields: dict[str, list[str]] = recorded["fields"]
    docs: dict[str, str] = FIXTURE["docs_example"]["fields"] if user else {}
    missing = set(recorded["always_present"]) - set(obj) - NO_BANNER
    assert not missing, f"fields of the recordings missing: {sorted(missing)}"
    missing_docs = set(docs) - set(obj)
    assert not missing_docs, f"fields of the docs example missing: {sorted(missing_docs)}"
    for key, value in obj.items():
        allowed = fields.get(key) or ([docs[key]] if key in docs else None)
        assert allowed is not None, f"{key} appears in no recording and not in the docs"
        assert json_type(value) in allowed, f"{key}: {json_type(value)} not in {allowed}"


def get(sandbox, auth, path: str, **params: str) -> dict[str, Any]:
    response = requests.get(f"{sandbox.base_url}{path}", auth=auth, params=params, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == FIXTURE["headers"]["content-type"]
    for header in FIXTURE["headers"]["rate_limit_headers"]:
        assert response.headers[header].isdigit()
    assert "://" not in response.text  # X escapes "/" as "\/" in its JSON
    body: dict[str, Any] = response.json()
    return body


def test_verify_credentials_matches_recorded_fields(sandbox, auth):
    me = get(sandbox, auth, VERIFY)
    check_fields(me, FIXTURE["verify_credentials"])
    check_fields(me["status"], FIXTURE["status"], user=False)
    assert set(me["entities"]) <= set(FIXTURE["entities"]["fields"])
    assert me["id_str"] == str(me["id"]) == sandbox.demo.user_id
    assert me["default_profile_image"] is True
    assert me["profile_image_url"].endswith(
        "/sticky/default_profile_images/default_profile_normal.png")


def test_users_show_matches_recorded_fields(sandbox, auth):
    user = get(sandbox, auth, SHOW, screen_name="SANDBOX_USER")  # case-insensitive, as X
    check_fields(user, FIXTURE["users_show"])
    check_fields(user["status"], FIXTURE["status"], user=False)
    by_id = get(sandbox, auth, SHOW, user_id=sandbox.demo.user_id)
    legacy = get(sandbox, auth, SHOW, id=sandbox.demo.user_id)
    assert user["id"] == by_id["id"] == legacy["id"]


@pytest.mark.parametrize("value", ["true", "True", "t", "1"])
def test_skip_status_drops_status(sandbox, auth, value):
    me = get(sandbox, auth, VERIFY, skip_status=value)
    assert "status" not in me
    assert FIXTURE["verify_credentials"]["skip_status_absent"] == ["status"]
    check_fields(me, {**FIXTURE["verify_credentials"], "always_present": [
        f for f in FIXTURE["verify_credentials"]["always_present"] if f != "status"]})


@pytest.mark.parametrize("value", ["false", "False", "f", "0"])
def test_include_entities_false_drops_entities(sandbox, auth, value):
    user = get(sandbox, auth, SHOW, screen_name="sandbox_user", include_entities=value)
    assert "entities" not in user
    assert "status" in user
    assert "entities" in get(sandbox, auth, SHOW, screen_name="sandbox_user",
                             include_entities="true")


def test_include_email_only_on_verify_credentials(sandbox, auth):
    me = get(sandbox, auth, VERIFY, include_email="true")
    assert me["email"] == "sandbox_user@example.invalid"
    assert "email" not in get(sandbox, auth, VERIFY)
    assert "email" not in get(sandbox, auth, SHOW, screen_name="sandbox_user",
                              include_email="true")


def test_created_at_uses_xs_format(sandbox, auth):
    import re

    me = get(sandbox, auth, VERIFY)
    assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} "
                        r"\d{2}:\d{2}:\d{2} \+0000 \d{4}", me["created_at"])
