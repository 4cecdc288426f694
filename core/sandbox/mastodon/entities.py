"""Mastodon's JSON shapes: Account/CredentialAccount, Profile, Instance v1/v2, metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from avatar_studio.core.sandbox.mastodon import scopes as scope_rules
from avatar_studio.core.sandbox.mastodon.config import MastodonSandboxConfig
from avatar_studio.core.sandbox.mastodon.state import Account, App, Avatar

MISSING_AVATAR = "/avatars/original/missing.png"
MISSING_HEADER = "/headers/original/missing.png"


def iso(ts: float) -> str:
    """Mastodon's timestamps: ISO 8601, milliseconds, Z."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def id_path(account_id: str) -> str:
    """The account id in 3-digit groups, as Paperclip stores files (110/357/...)."""
    padded = account_id.zfill((len(account_id) + 2) // 3 * 3)
    return "/".join(padded[i:i + 3] for i in range(0, len(padded), 3))


def avatar_url(base: str, account: Account, avatar: Avatar, static: bool = False) -> str:
    style = "static" if static else "original"
    ext = avatar.static_ext if static else avatar.ext
    return (f"{base}/system/accounts/avatars/{id_path(account.id)}/{style}/"
            f"{avatar.key}.{ext}")


def avatar_urls(base: str, account: Account) -> tuple[str, str]:
    if account.avatar is None:
        return base + MISSING_AVATAR, base + MISSING_AVATAR
    original = avatar_url(base, account, account.avatar)
    static = (avatar_url(base, account, account.avatar, static=True)
              if account.avatar.animated else original)
    return original, static


def account_json(base: str, domain: str, account: Account, config: MastodonSandboxConfig,
                 *, credential: bool) -> dict[str, Any]:
    avatar, avatar_static = avatar_urls(base, account)
    created = datetime.fromtimestamp(account.created_at, tz=UTC)
    obj: dict[str, Any] = {
        "id": account.id, "username": account.username, "acct": account.username,
        "display_name": account.display_name, "locked": False, "bot": False,
        "discoverable": True, "indexable": False, "group": False,
        "created_at": created.strftime("%Y-%m-%dT00:00:00.000Z"),
        "note": f"<p>{account.note}</p>" if account.note else "",
        "url": f"{base}/@{account.username}", "uri": f"{base}/users/{account.username}",
        "avatar": avatar, "avatar_static": avatar_static,
        "header": base + MISSING_HEADER, "header_static": base + MISSING_HEADER,
        "followers_count": 0, "following_count": 0, "statuses_count": 0,
        "last_status_at": None, "hide_collections": False, "noindex": False,
        "emojis": [], "roles": [], "fields": [],
    }
    if config.has_avatar_description:
        obj["avatar_description"] = account.avatar_description
        obj["header_description"] = ""
    if credential:
        obj["source"] = {"privacy": "public", "sensitive": False, "language": None,
                         "note": account.note, "fields": [], "follow_requests_count": 0,
                         "hide_collections": False, "discoverable": True, "indexable": False,
                         "attribution_domains": []}
        obj["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "",
                       "highlighted": False}
    return obj


def profile_json(base: str, account: Account) -> dict[str, Any]:
    """The 4.6 Profile entity: avatar fields are null when unset."""
    avatar = avatar_static = None
    if account.avatar is not None:
        avatar, avatar_static = avatar_urls(base, account)
    return {"id": account.id, "display_name": account.display_name, "note": account.note,
            "fields": [], "avatar": avatar, "avatar_static": avatar_static,
            "avatar_description": account.avatar_description, "header": None,
            "header_static": None, "header_description": "", "locked": False, "bot": False,
            "hide_collections": False, "discoverable": True, "indexable": False,
            "show_media": True, "show_media_replies": True, "show_featured": True,
            "attribution_domains": [], "featured_tags": []}


def application_json(app: App, *, credential: bool, config: MastodonSandboxConfig
                     ) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": app.id, "name": app.name, "website": app.website,
                           "scopes": list(app.scopes),
                           "redirect_uri": "\n".join(app.redirect_uris),
                           "redirect_uris": list(app.redirect_uris)}
    if credential:
        obj["client_id"] = app.client_id
        obj["client_secret"] = app.client_secret
        if config.version_tuple >= (4, 4, 0):
            obj["client_secret_expires_at"] = 0
    if config.version_tuple < (4, 3, 0):
        obj["vapid_key"] = ("BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5"
                            "mMlI4UkkDTpaZwozy0TzdZ2M=")
    return obj


def _accounts_config(config: MastodonSandboxConfig) -> dict[str, Any]:
    accounts: dict[str, Any] = {"max_featured_tags": 10, "max_pinned_statuses": 5,
                                "max_display_name_length": 30, "max_note_length": 500,
                                "max_profile_fields": 4, "profile_field_name_limit": 255,
                                "profile_field_value_limit": 255}
    if config.has_avatar_description:
        accounts["max_avatar_description_length"] = config.max_avatar_description_length
        accounts["max_header_description_length"] = config.max_avatar_description_length
    return accounts


_MEDIA = {"supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/heic",
                                   "image/heif", "image/webp", "image/avif", "video/webm",
                                   "video/mp4", "video/quicktime", "video/ogg", "audio/wave",
                                   "audio/wav", "audio/x-wav", "audio/x-pn-wave",
                                   "audio/vnd.wave", "audio/ogg", "audio/vorbis",
                                   "audio/mpeg", "audio/mp3", "audio/webm", "audio/flac",
                                   "audio/aac", "audio/m4a", "audio/x-m4a", "audio/mp4",
                                   "audio/3gpp", "video/x-ms-asf"],
          "image_size_limit": 16777216, "image_matrix_limit": 33177600,
          "video_size_limit": 103809024, "video_frame_rate_limit": 120,
          "video_matrix_limit": 8294400}


def instance_v2(base: str, domain: str, config: MastodonSandboxConfig,
                demo: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "domain": domain, "title": config.title, "version": config.version,
        "source_url": "https://github.com/mastodon/mastodon",
        "description": "A local stand-in for a Mastodon server (Avatar Studio's sandbox).",
        "usage": {"users": {"active_month": 1}},
        "thumbnail": {"url": f"{base}/packs/media/images/preview.png"},
        "icon": [], "languages": ["en"],
        "configuration": {
            "urls": {"streaming": base.replace("http", "ws", 1), "status": None},
            "vapid": {"public_key": ""},
            "accounts": _accounts_config(config),
            "statuses": {"max_characters": 500, "max_media_attachments": 4,
                         "characters_reserved_per_url": 23},
            "media_attachments": dict(_MEDIA),
            "polls": {"max_options": 4, "max_characters_per_option": 50,
                      "min_expiration": 300, "max_expiration": 2629746},
            "translation": {"enabled": False},
        },
        "registrations": {"enabled": False, "approval_required": False, "message": None},
        "contact": {"email": "admin@" + domain, "account": demo},
        "rules": [],
    }
    if config.api_version:
        obj["api_versions"] = {"mastodon": config.api_version}
    return obj


def instance_v1(base: str, domain: str, config: MastodonSandboxConfig,
                demo: dict[str, Any]) -> dict[str, Any]:
    return {
        "uri": domain, "title": config.title,
        "short_description": "Avatar Studio's Mastodon sandbox.",
        "description": "A local stand-in for a Mastodon server.",
        "email": "admin@" + domain, "version": config.version,
        "urls": {"streaming_api": base.replace("http", "ws", 1)},
        "stats": {"user_count": 1, "status_count": 0, "domain_count": 0},
        "thumbnail": f"{base}/packs/media/images/preview.png", "languages": ["en"],
        "registrations": False, "approval_required": False, "invites_enabled": False,
        "configuration": {"statuses": {"max_characters": 500, "max_media_attachments": 4,
                                       "characters_reserved_per_url": 23},
                          "media_attachments": dict(_MEDIA),
                          "polls": {"max_options": 4, "max_characters_per_option": 50,
                                    "min_expiration": 300, "max_expiration": 2629746}},
        "contact_account": demo, "rules": [],
    }


def oauth_metadata(base: str, config: MastodonSandboxConfig) -> dict[str, Any]:
    # The sandbox has no password grant (Mastodon removed it in 4.4; we never use it).
    grants = ["authorization_code", "client_credentials"]
    obj: dict[str, Any] = {
        "issuer": base + "/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": list(scope_rules.ALL_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": grants,
        "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                  "client_secret_post"],
    }
    if config.version_tuple >= (4, 4, 0):
        obj["userinfo_endpoint"] = f"{base}/oauth/userinfo"
    return obj
