"""A $BROWSER for the CLI tests: open the address in headless chromium and press
Authorize, as a user would (``python -m tests.core.mastodon.open_in_chromium URL``)."""

from __future__ import annotations

import sys

from tests.core.mastodon.browser import chromium, press


def main() -> int:
    with chromium() as driver:
        page = press(driver, sys.argv[1])
    print(page, file=sys.stderr)
    return 0 if "You can close this tab" in page else 1


if __name__ == "__main__":
    sys.exit(main())
