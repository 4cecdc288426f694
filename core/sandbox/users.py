"""The v1.1 user object as X sends it (field order and types of the real recordings)."""

from __future__ import annotations

import time
from typing import Any

from avatar_studio.core.sandbox.state import User

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DEFAULT_IMAGE_PATH = "/sticky/default_profile_images/default_profile"
TRUE_VALUES = frozenset({"true", "t", "1"})
FALSE_VALUES = frozenset({"false", "f", "0"})


def x_time(epoch: float) -> str:
    """X's created_at format, e.g. ``Mon Dec 10 22:03:43 +0000 2018`` (locale-free)."""
    t = time.gmtime(epoch)
    return (f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000 {t.tm_year}")


def flag(value: str | None, *, default: bool) -> bool:
    """X's boolean parameters: true/t/1 and false/f/0, any case (tweepy sends "True")."""
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    return default


def profile_image_url(user: User, base_url: str) -> str:
    if user.image is None:
        return f"{base_url}{DEFAULT_IMAGE_PATH}_normal.png"
    return f"{base_url}{user.image.base_path()}_normal.{user.image.ext}"


def _entities(user: User) -> dict[str, Any]:
    entities: dict[str, Any] = {}
    if user.url:
        display = user.url.split("://", 1)[-1]
        entities["url"] = {"urls": [{"url": user.url, "expanded_url": user.url,
                                     "display_url": display,
                                     "indices": [0, len(user.url)]}]}
    entities["description"] = {"urls": []}
    return entities


def _status(user: User) -> dict[str, Any]:
    """The user's "latest Tweet", as users/show and verify_credentials inline it."""
    status_id = user.user_id + 1
    return {
        "created_at": x_time(user.created_at),
        "id": status_id,
        "id_str": str(status_id),
        "text": "Hello from the Avatar Studio sandbox",
        "truncated": False,
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
        "source": '<a href="https://github.com/avatar-studio" rel="nofollow">Avatar Studio</a>',
        "in_reply_to_status_id": None,
        "in_reply_to_status_id_str": None,
        "in_reply_to_user_id": None,
        "in_reply_to_user_id_str": None,
        "in_reply_to_screen_name": None,
        "geo": None,
        "coordinates": None,
        "place": None,
        "contributors": None,
        "is_quote_status": False,
        "retweet_count": 0,
        "favorite_count": 0,
        "favorited": False,
        "retweeted": False,
        "lang": "en",
    }


def user_json(user: User, base_url: str, *, include_entities: bool = True,
              skip_status: bool = False, include_email: bool = False,
              own_account: bool = False) -> dict[str, Any]:
    """One user object. ``own_account`` adds the fields only verify_credentials shows."""
    image_url = profile_image_url(user, base_url)
    theme = f"{base_url}/images/themes/theme1/bg.png"
    obj: dict[str, Any] = {
        "id": user.user_id,
        "id_str": user.id_str,
        "name": user.name,
        "screen_name": user.screen_name,
        "location": user.location,
    }
    if not own_account:
        obj["profile_location"] = None  # recorded on users/show, not on verify_credentials
    obj.update({
        "description": user.description,
        "url": user.url,
    })
    if include_entities:
        obj["entities"] = _entities(user)
    obj.update({
        "protected": False,
        "followers_count": user.followers_count,
        "friends_count": user.friends_count,
        "listed_count": 0,
        "created_at": x_time(user.created_at),
        "favourites_count": 0,
        "utc_offset": None,
        "time_zone": None,
        "geo_enabled": False,
        "verified": False,
        "statuses_count": user.statuses_count,
        "lang": None,
    })
    if include_email:
        obj["email"] = user.email
    if not skip_status:
        obj["status"] = _status(user)
    obj.update({
        "contributors_enabled": False,
        "is_translator": False,
        "is_translation_enabled": False,
        "profile_background_color": "F5F8FA",
        "profile_background_image_url": theme,
        "profile_background_image_url_https": theme,
        "profile_background_tile": False,
        # The sandbox serves plain HTTP, so both URLs point at it (X's "https" one is
        # the one clients should use; here it is simply the same reachable URL).
        "profile_image_url": image_url,
        "profile_image_url_https": image_url,
        "profile_link_color": "1DA1F2",
        "profile_sidebar_border_color": "C0DEED",
        "profile_sidebar_fill_color": "DDEEF6",
        "profile_text_color": "333333",
        "profile_use_background_image": True,
        "has_extended_profile": False,
        "default_profile": True,
        "default_profile_image": user.image is None,
        "following": False,
        "follow_request_sent": False,
        "notifications": False,
        "show_all_inline_media": False,
        "translator_type": "none",
    })
    if own_account:
        obj["suspended"] = False
        obj["needs_phone_verification"] = False
    return obj
