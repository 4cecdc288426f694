"""X's facts that are not code: limits for imaging, API host, processing wait."""

from __future__ import annotations

from avatar_studio.core.imaging.spec import RenderSpec

KEY = "x"
DISPLAY_NAME = "X"
DEFAULT_API_BASE = "https://api.x.com"
#: Minimum wait after an upload before asking users/show for the new image (the docs
#: say X processes the picture asynchronously, at least 5 s).
PROCESSING_MIN_WAIT_S = 5.0

X_SPEC = RenderSpec(
    key=KEY,
    display_name=DISPLAY_NAME,
    # The docs say "less than 700 kilobytes"; we read it as the strictest plausible value.
    max_bytes_exclusive=700_000,
    formats=("JPEG", "PNG", "GIF"),
    output_side=400,
    keeps_animation=False,
    alt_text_max=0,
    # 400x400 profile page, 200x200, 73 (bigger), 48 (normal), 24 (mini).
    display_sizes=(400, 200, 73, 48, 24),
    round_display=True,
)
