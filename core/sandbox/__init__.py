"""A faithful local stand-in for the parts of the X API v1.1 this app uses.

``SandboxServer`` (server.py) runs it in-process; ``avatar-studio-cli sandbox`` runs it
standalone. Modules: config (settings), state (apps, users, tokens, images, --state
persistence), oauth (oauthlib endpoints + RequestValidator), app (routes and handlers),
uploads (where ``image`` hides in a request), images (Pillow processing), processing
(the asynchronous swap), users (the user object), ratelimit, faults, control
(``/_sandbox/``), responses (X's body shapes), pages (PIN flow HTML).

Behaviour chosen where X is undocumented (the reference notes mark these as inference):

* Size limit on the decoded image bytes whatever the encoding, 716 800 bytes (700 KiB)
  by default; too large -> 400 ``{"request","error":"Image validation failed with errors:
  Image size must be <= 700.0 KiB."}`` (X's 2021 wording and the legacy shape recorded
  for media checks); a request body over ``max_request_bytes`` -> 413 with an empty body
  (recorded for media/upload and the banner); a query string over ``max_query_bytes``
  -> 414.
* "media type unrecognized." (magic bytes not GIF/JPEG/PNG, empty, ``data:`` prefix,
  double base64) and undecodable images use the same legacy shape, status 400, checked
  synchronously; only the resize and the URL swap are asynchronous.
* users/show without user_id/screen_name -> 400 code 38; unknown path or method -> 404
  code 34; a bad/absent/reused PIN or an unknown request token at /oauth/access_token ->
  401 plain text "Error processing your OAuth request: Invalid oauth_verifier parameter".
* Incomplete OAuth parameters -> 400 code 215; complete but rejected (bad signature,
  unknown consumer, unsupported signature method, reused nonce) -> 401 code 32; timestamp
  more than ``timestamp_skew_s`` (300 s) off -> 401 code 135.
* Access level is fixed on the token when issued (``x_auth_access_type=read`` or a
  read-only app at that time) and also drops to read while the app is read-only.
* Variants are centre-cropped squares (X shows square avatars); the original keeps the
  aspect ratio, scaled to 400 px wide if wider, never scaled up. Old image URLs answer
  404 ``old_url_ttl_s`` (300 s) after the change.
* ``profile_image_url`` and ``profile_image_url_https`` are the same plain-http URL on
  the sandbox (it serves no TLS); the default image lives at X's path
  ``/sticky/default_profile_images/default_profile_normal.png`` on the sandbox.
* The authorize page acts for the demo user (or ``?screen_name=`` of a known user): the
  sandbox has no login. Request tokens do not expire.
"""
