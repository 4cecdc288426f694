"""The HTML pages a browser sees: the authorization form, the oob code, errors."""

from __future__ import annotations

from html import escape

from werkzeug.wrappers import Response

_STYLE = """
body{font-family:system-ui,sans-serif;background:#191b22;color:#fff;margin:0}
main{max-width:420px;margin:48px auto;padding:24px;background:#282c37;border-radius:8px}
h1{font-size:20px}p,li{color:#d9e1e8}code{font-size:18px;background:#111;padding:8px;
display:block;word-break:break-all;user-select:all}
button{font-size:16px;padding:10px 18px;border-radius:4px;border:0;cursor:pointer;margin-right:8px}
.primary{background:#6364ff;color:#fff}.secondary{background:#444b5d;color:#fff}
"""


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'>"
            f"<title>{escape(title)} - Mastodon</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return Response(html, status=status, content_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store",
                             "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "frame-ancestors 'none'; "
                                                        "form-action 'self' http: https:"})


def authorize_page(*, app_name: str, website: str | None, username: str, domain: str,
                   scopes: list[str], fields: dict[str, str]) -> Response:
    hidden = "".join(f"<input type='hidden' name='{escape(k)}' value='{escape(v)}'>"
                     for k, v in fields.items())
    items = "".join(f"<li><code class='scope'>{escape(s)}</code></li>" for s in scopes)
    site = f" (<span>{escape(website)}</span>)" if website else ""
    body = (f"<h1>Authorization required</h1>"
            f"<p><strong id='app-name'>{escape(app_name)}</strong>{site} would like "
            f"permission to access your account <strong>@{escape(username)}@"
            f"{escape(domain)}</strong>. It is a third-party application. "
            f"If you do not trust it, then you should not authorize it.</p>"
            f"<p>Review permissions:</p><ul id='scopes'>{items}</ul>"
            f"<form method='post' action='/oauth/authorize' id='authorize-form'>{hidden}"
            f"<button type='submit' name='decision' value='approve' class='primary' "
            f"id='authorize'>Authorize</button>"
            f"<button type='submit' name='decision' value='deny' class='secondary' "
            f"id='deny'>Deny</button></form>")
    return _page("Authorization required", body)


def code_page(code: str) -> Response:
    body = ("<h1>Authorization code</h1><p>Copy this authorization code and paste it "
            "to the application.</p>"
            f"<code id='authorization-code'>{escape(code)}</code>")
    return _page("Authorization code", body)


def error_page(error: str, description: str, status: int = 400) -> Response:
    body = (f"<h1>An error has occurred</h1><p id='error'>{escape(error)}</p>"
            f"<p id='error-description'>{escape(description)}</p>")
    return _page("An error has occurred", body, status)


def server_error_page(status: int) -> Response:
    """What Mastodon's front (Rails' 500 page, nginx for 502/503) sends on failures."""
    if status == 500:
        body = ("<h1>We're sorry, but something went wrong on our end.</h1>")
        return _page("We're sorry, but something went wrong", body, 500)
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable",
              504: "Gateway Time-out"}.get(status, "Error")
    html = (f"<html><head><title>{status} {reason}</title></head><body>"
            f"<center><h1>{status} {reason}</h1></center><hr><center>nginx</center>"
            "</body></html>")
    return Response(html, status=status, content_type="text/html")
