"""The HTML pages of the PIN flow (built here with escaping; no template engine needed).

They follow X's old pages where clients looked: the PIN sits inside ``id="oauth_pin"``
(``<kbd><code>1234567</code></kbd>``), the form has the "Authorize app" button
(``id="allow"``) and a Cancel (``id="cancel"``).
"""

from __future__ import annotations

from html import escape

from avatar_studio.core.sandbox.state import User
from werkzeug.wrappers import Response

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f5f8fa;color:#14171a;margin:0}
main{max-width:32rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem}.note{color:#657786;font-size:.9rem}
button{font-size:1rem;padding:.6rem 1.2rem;border-radius:999px;border:1px solid #1da1f2;
margin-right:.5rem;cursor:pointer}
#allow{background:#1da1f2;color:#fff}#cancel{background:#fff;color:#1da1f2}
kbd code{font-size:2rem;letter-spacing:.3rem}
"""


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>\n")


def html(text: str, status: int = 200) -> Response:
    return Response(text, status=status, content_type="text/html;charset=utf-8",
                    headers={"X-Frame-Options": "DENY", "Cache-Control": "no-store"})


def authorize_page(*, app_name: str, user: User, oauth_token: str) -> str:
    app = escape(app_name)
    body = (
        f"<h1>Authorize {app} to access your account?</h1>"
        f"<p>Signed in as <strong>{escape(user.name)}</strong> "
        f"(@<span class=\"screen-name\">{escape(user.screen_name)}</span>) "
        "on the local X API sandbox.</p>"
        "<p>This application will be able to see your profile and update your profile "
        "picture.</p>"
        "<form action=\"/oauth/authorize\" method=\"post\" id=\"oauth_form\">"
        f"<input type=\"hidden\" name=\"oauth_token\" value=\"{escape(oauth_token)}\">"
        f"<input type=\"hidden\" name=\"user_id\" value=\"{escape(user.id_str)}\">"
        "<button type=\"submit\" name=\"allow\" value=\"Authorize app\" id=\"allow\">"
        "Authorize app</button>"
        "<button type=\"submit\" name=\"cancel\" value=\"Cancel\" id=\"cancel\">Cancel</button>"
        "</form>"
        "<p class=\"note\">Nothing leaves this computer: this is a sandbox.</p>"
    )
    return _page(f"Authorize {app_name}", body)


def pin_page(*, app_name: str, pin: str) -> str:
    body = (
        f"<h1>You've granted access to {escape(app_name)}!</h1>"
        "<div id=\"oauth_pin\"><p><span id=\"code-desc\">Next, return to "
        f"{escape(app_name)} and enter this PIN to complete the authorization process:"
        f"</span> <kbd aria-labelledby=\"code-desc\"><code>{escape(pin)}</code></kbd>"
        "</p></div>"
    )
    return _page("Authorized", body)


def denied_page(*, app_name: str) -> str:
    body = (f"<h1>You have not signed in to {escape(app_name)}.</h1>"
            "<p>No access was granted. You can close this page.</p>")
    return _page("Not authorized", body)


def invalid_token_page() -> str:
    body = ("<h1>Whoa there!</h1><p>The request token for this page is invalid. It may "
            "have already been used, or expired because it is too old. Please go back to "
            "the site or application that sent you here and try again; it was probably "
            "just a mistake.</p>")
    return _page("Invalid request token", body)
