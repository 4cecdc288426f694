"""A faithful local stand-in for the parts of the Mastodon API this app uses.

``MastodonSandbox`` (server.py) runs it in-process; ``avatar-studio-cli sandbox --service
mastodon`` runs it standalone. Modules: config (the release played and limits), state
(apps, accounts, codes, tokens, avatars; memory only), oauth (oauthlib's endpoints +
Doorkeeper's rules and words), scopes (the hierarchy), app (routes and handlers), avatars
(Paperclip's validation and processing), entities (JSON shapes), pages (HTML), faults,
ratelimit.

Behaviour chosen where Mastodon's is unconfirmed (the reference notes mark these ?):

* The authorize page acts for the demo account (the sandbox has no login) and has no
  CSRF token; tests may post its form directly.
* Avatar limit: 8 MB from 4.6.0 (what the 4.6 web UI states), 2 MB before, unless set.
* ``avatar_description`` is stored by update_credentials and /api/v1/profile from API
  version 9 (4.6.0) and ignored before, as an unpermitted parameter is;
  ``max_avatar_description_length`` defaults to 1500.
* A declared type that the bytes contradict is Paperclip's spoof error; a corrupt image
  is "Avatar could not be processed" (wording ?).
* The password grant is not offered by any version.
* ``X-RateLimit-*`` headers on every /api/ response (per token, 300 per 5 minutes);
  unlike the real server, loopback is not exempt.
"""
