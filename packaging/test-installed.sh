#!/usr/bin/env bash
# Install the .deb with apt, prove the INSTALLED files work, then purge it.
#
#   packaging/test-installed.sh [--allow-missing] dist/avatar-studio_<version>_<arch>.deb
#
# Runs as root (or with password-less sudo) inside a private D-Bus session with an unlocked
# gnome-keyring (tests/harness/with-keyring.sh) and a fresh HOME. Checks, from /usr/bin and
# /opt only: desktop integration, --version, `avatar-studio --smoke` offscreen and under
# Xvfb, `avatar-studio-cli render` on JPEG / PNG with alpha / AVIF / HEIC and on a portrait
# (the first crop must frame the face: the detector works from the bundle), the sandbox plus
# `upload --json` through to the new URL, a keyring round trip (login --tokens, whoami,
# logout), then `apt-get purge` and that nothing is left behind. The venv's Python (Pillow,
# pillow_heif, keyring) only makes the inputs and checks the outputs.
#
# --allow-missing: report CLI subcommands that do not exist yet as SKIPPED instead of failing.
# PACKAGING_PYTHON: the Python that makes inputs and checks outputs (default .venv/bin/python).
# Exits non-zero on the first failure; the sandbox is stopped and the package purged anyway.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

allow_missing=0
if [ "${1:-}" = --allow-missing ]; then allow_missing=1; shift; fi
[ $# -eq 1 ] || { echo "usage: $0 [--allow-missing] DEB" >&2; exit 2; }
deb=$(realpath "$1")
[ -f "$deb" ] || { echo "test-installed: no such file: $1" >&2; exit 2; }

SUDO=
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "test-installed: needs root (it installs the package with apt-get)" >&2; exit 1; fi
fi

# A fresh HOME and a real Secret Service for everything below.
if [ -z "${AVATAR_STUDIO_IN_KEYRING_SESSION:-}" ]; then
  exec tests/harness/with-keyring.sh "$0" $([ $allow_missing = 1 ] && echo --allow-missing) "$deb"
fi

# One run at a time on a machine: the package is system-wide (taken here, after the
# re-exec, so the lock is not inherited and waited for by the same run).
exec 9>"${TMPDIR:-/tmp}/avatar-studio-test-installed.lock"
flock -w 900 9 || { echo "test-installed: another run holds the lock" >&2; exit 1; }

PY=${PACKAGING_PYTHON:-$ROOT/.venv/bin/python}
PKG=$(dpkg-deb -f "$deb" Package)
VERSION=$(dpkg-deb -f "$deb" Version)
APP=/usr/bin/$PKG
CLI=/usr/bin/$PKG-cli
XVFB=(xvfb-run -a -s "-screen 0 1280x1024x24 -nolisten tcp")
work=$(mktemp -d)
export AVATAR_STUDIO_CONFIG_DIR=$work/config AVATAR_STUDIO_STATE_DIR=$work/state \
  AVATAR_STUDIO_CACHE_DIR=$work/cache LANG=C.UTF-8
unset DISPLAY WAYLAND_DISPLAY QT_QPA_PLATFORM AVATAR_STUDIO_API_BASE AVATAR_STUDIO_API_KEY \
  AVATAR_STUDIO_API_SECRET AVATAR_STUDIO_ACCESS_TOKEN AVATAR_STUDIO_ACCESS_SECRET
sandbox_pid=
skipped=()
passed=0

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
t_start=$(now)

cleanup() {
  local rc=$?
  set +e
  if [ -n "$sandbox_pid" ] && kill -0 "$sandbox_pid" 2>/dev/null; then
    kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null
  fi
  if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed; then
    echo "test-installed: cleaning up: purging $PKG"
    $SUDO apt-get -o DPkg::Lock::Timeout=300 purge -y -qq "$PKG" >/dev/null 2>&1
  fi
  rm -rf "$work"
  if [ $rc -ne 0 ]; then
    echo "test-installed: FAILED (exit $rc) after $(secs "$t_start") s" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "test-installed: FAILED: $*" >&2; exit 1; }
# step NAME CMD...: run a check, print its time; its output is shown only when it fails.
step() {
  local name=$1; shift
  local t; t=$(now)
  local log=$work/step.log
  # A subshell outside any `if`: errexit stays in force inside the check (bash ignores
  # set -e in a function called as a condition).
  local rc=0
  set +e
  ( set -e; "$@" ) >"$log" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    printf 'test-installed: %-56s ok  %5s s\n' "$name" "$(secs "$t")"
    passed=$((passed + 1))
  else
    printf 'test-installed: %-56s FAILED (exit %s)\n' "$name" "$rc" >&2
    sed 's/^/    | /' "$log" >&2
    exit 1
  fi
}
# has_command NAME: whether the installed CLI has the subcommand (else skip or fail).
has_command() {
  if "$CLI" "$1" --help >/dev/null 2>&1; then return 0; fi
  if [ $allow_missing = 1 ]; then
    echo "test-installed: avatar-studio-cli $1: SKIPPED (subcommand missing)"
    skipped+=("$1"); return 1
  fi
  fail "avatar-studio-cli has no '$1' subcommand"
}

if dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -qx installed; then
  echo "test-installed: note: $PKG was already installed; it is replaced now and purged at the end"
fi

# --- install ----------------------------------------------------------------------------
install_deb() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$deb"
}
step "apt-get install $(basename "$deb")" install_deb

check_files() {
  local f
  for f in "$APP" "$CLI" "/opt/$PKG/$PKG" "/opt/$PKG/$PKG-cli" \
      /usr/share/applications/io.github.avatarstudio.AvatarStudio.desktop \
      /usr/share/metainfo/io.github.avatarstudio.AvatarStudio.metainfo.xml \
      /usr/share/icons/hicolor/scalable/apps/avatar-studio.svg; do
    [ -e "$f" ] || { echo "missing: $f"; return 1; }
  done
  for s in 16 22 24 32 48 64 128 256 512; do
    "$PY" - "/usr/share/icons/hicolor/${s}x${s}/apps/avatar-studio.png" "$s" <<'EOF'
import sys
from PIL import Image
with Image.open(sys.argv[1]) as im:
    assert im.format == "PNG" and im.size == (int(sys.argv[2]),) * 2, (im.format, im.size)
    assert im.getextrema()[3][0] == 0, "expected transparent corners"
EOF
  done
  desktop-file-validate /usr/share/applications/io.github.avatarstudio.AvatarStudio.desktop
  # The desktop-file-utils trigger registered us for the image types ("Open with").
  grep -q '^image/heic=.*io.github.avatarstudio.AvatarStudio.desktop' \
    /usr/share/applications/mimeinfo.cache
  # Our code, frozen under its installed names.
  [ -f "/opt/$PKG/_internal/avatar_studio/resources/avatar-studio.svg" ]
}
step "installed files, icons, desktop entry, MIME types" check_files

check_versions() {
  "$APP" --version | tee /dev/stderr | grep -qx "$PKG $VERSION"
  "$CLI" --version | tee /dev/stderr | grep -qx "$PKG-cli $VERSION"
}
step "--version of both executables is $VERSION" check_versions

# --- the window -------------------------------------------------------------------------
smoke_offscreen() { QT_QPA_PLATFORM=offscreen "$APP" --smoke | grep -qx 'smoke: ok (platform offscreen)'; }
smoke_xvfb() { QT_QPA_PLATFORM=xcb "${XVFB[@]}" "$APP" --smoke | grep -qx 'smoke: ok (platform xcb)'; }
step "avatar-studio --smoke (offscreen)" smoke_offscreen
step "avatar-studio --smoke (xcb under Xvfb)" smoke_xvfb

# --- render -----------------------------------------------------------------------------
make_inputs() {
  "$PY" - "$work" <<'EOF'
import sys
from pathlib import Path

import pillow_heif
from PIL import Image, ImageDraw

d = Path(sys.argv[1])
# A blue field with a yellow disc in the middle: the centre of any square crop is yellow.
photo = Image.new("RGB", (1200, 800), (30, 90, 160))
ImageDraw.Draw(photo).ellipse((400, 200, 800, 600), fill=(240, 200, 40))
exif = Image.Exif()
exif[0x0112] = 6  # "rotate 90° clockwise to view", as phones write it
photo.save(d / "photo.jpg", quality=90, exif=exif)
photo.save(d / "photo.avif", quality=70)
pillow_heif.from_pillow(photo).save(d / "photo.heic", quality=70)
# Transparent corners around an opaque disc.
alpha = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
ImageDraw.Draw(alpha).ellipse((120, 40, 520, 440), fill=(200, 40, 90, 255))
alpha.save(d / "alpha.png")
EOF
}
step "make inputs: JPEG (EXIF-rotated), PNG with alpha, AVIF, HEIC" make_inputs

# check_render INPUT: render from the installed CLI, then decode and look at the pixels.
check_render() {
  local input=$work/$1 out=$work/rendered-$1
  "$CLI" render --json "$input" -o "$out" >"$out.json"
  "$PY" - "$out" "$out.json" "$1" <<'EOF'
import json
import sys

from PIL import Image

out, meta, name = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
with Image.open(out) as im:
    im.load()
    print(name, "->", im.format, im.mode, im.size, meta)
    assert (im.format, im.size) == (meta["format"], (meta["width"], meta["height"])), meta
    assert meta["width"] == meta["height"] >= 1
    centre = im.convert("RGBA").getpixel((im.width // 2, im.height // 2))
    if name == "alpha.png":
        assert im.mode in ("RGBA", "LA", "PA", "P"), "transparency was lost"
        assert im.convert("RGBA").getpixel((0, 0))[3] == 0, "corner should stay transparent"
        want = (200, 40, 90)
    else:
        want = (240, 200, 40)
    assert all(abs(c - w) <= 24 for c, w in zip(centre[:3], want)), (centre, want)
EOF
}
if has_command render; then
  for f in photo.jpg alpha.png photo.avif photo.heic; do
    step "avatar-studio-cli render ${f##*.} ($f)" check_render "$f"
  done
fi

# --- the first crop frames the face (the detector is in the bundle, no model fetched) ----
check_portrait() {
  "$PY" - "$work" "$ROOT/tests/data/faces/astronaut.jpg" <<'EOF'
import sys
from pathlib import Path

from PIL import Image

work, astronaut = Path(sys.argv[1]), sys.argv[2]
# A public-domain portrait (the face at 178,63 89x112 in it) pasted off-centre into a
# grey backdrop, stored turned with EXIF orientation 6, as a phone writes it.
canvas = Image.new("RGB", (1600, 1000), (120, 130, 140))
with Image.open(astronaut) as im:
    canvas.paste(im.convert("RGB"), (1000, 150))
exif = Image.Exif()
exif[0x0112] = 6
canvas.transpose(Image.Transpose.ROTATE_90).save(work / "portrait.jpg", quality=90,
                                                  exif=exif)
EOF
  "$CLI" render --json "$work/portrait.jpg" -o "$work/rendered-portrait.jpg" \
    >"$work/portrait.json"
  "$PY" - "$work/portrait.json" <<'EOF'
import json
import sys

meta = json.load(open(sys.argv[1]))
print(meta)
assert meta["crop_source"] == "face", meta
crop = meta["crop"]
fx, fy, fw, fh = 1000 + 178, 150 + 63, 89, 112  # in upright pixels
assert crop["x"] < fx and fx + fw < crop["x"] + crop["size"], crop
assert crop["y"] <= fy and fy + fh < crop["y"] + crop["size"], crop
EOF
}
if has_command render; then
  case "$(uname -m)" in
    x86_64) step "avatar-studio-cli render frames the face (crop_source face)" check_portrait ;;
    *) echo "test-installed: face framing: SKIPPED (no detector for $(uname -m))" ;;
  esac
fi

# --- sandbox + upload -------------------------------------------------------------------
start_sandbox() {
  "$CLI" sandbox --json --port 0 --processing-delay 1 >"$work/sandbox.json" 2>"$work/sandbox.log" &
  sandbox_pid=$!
}
wait_sandbox() {
  local deadline=$((SECONDS + 30))
  until grep -q '}' "$work/sandbox.json"; do
    kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.log"; return 1; }
    [ $SECONDS -lt $deadline ] || { echo "no JSON line within 30 s"; return 1; }
    sleep 0.1
  done
  head -1 "$work/sandbox.json"
  # The command line must not load Qt: look at what the running process mapped.
  if grep -q 'libQt6\|libpyside6' "/proc/$sandbox_pid/maps"; then
    echo "avatar-studio-cli loaded Qt:"; grep 'libQt6\|libpyside6' "/proc/$sandbox_pid/maps"
    return 1
  fi
}
# Shell variables, not exported: only the commands given them explicitly see the secrets.
sandbox_env() {
  "$PY" - "$work/sandbox.json" <<'EOF'
import json
import shlex
import sys

demo = json.loads(open(sys.argv[1]).readline())
print(f"AVATAR_STUDIO_API_BASE={shlex.quote(demo['base_url'])}")
for key in ("api_key", "api_secret", "access_token", "access_secret"):
    print(f"AVATAR_STUDIO_{key.upper()}={shlex.quote(demo[key])}")
EOF
}

check_upload() {
  env AVATAR_STUDIO_API_BASE="$AVATAR_STUDIO_API_BASE" AVATAR_STUDIO_API_KEY="$AVATAR_STUDIO_API_KEY" \
    AVATAR_STUDIO_API_SECRET="$AVATAR_STUDIO_API_SECRET" \
    AVATAR_STUDIO_ACCESS_TOKEN="$AVATAR_STUDIO_ACCESS_TOKEN" \
    AVATAR_STUDIO_ACCESS_SECRET="$AVATAR_STUDIO_ACCESS_SECRET" \
    "$CLI" upload --json "$work/alpha.png" >"$work/upload.json"
  "$PY" - "$work/upload.json" "$AVATAR_STUDIO_API_BASE" <<'EOF'
import io
import json
import sys
import urllib.request

from PIL import Image

result, base = json.loads(open(sys.argv[1]).readline()), sys.argv[2]
print(result)
assert result["new_url"] != result["old_url"], result
assert result["new_url"].startswith(base + "/profile_images/"), result
with urllib.request.urlopen(result["new_url"], timeout=10) as response:  # the new picture
    assert response.status == 200
    with Image.open(io.BytesIO(response.read())) as im:
        im.load()
        print("new picture:", im.format, im.size)
EOF
}

if has_command sandbox; then
  start_sandbox
  step "avatar-studio-cli sandbox --json (no Qt loaded)" wait_sandbox
  eval "$(sandbox_env)"
  if has_command upload; then
    step "avatar-studio-cli upload --json, through to the new URL" check_upload
  fi
fi

# --- keyring round trip ------------------------------------------------------------------
# The frozen app's keyring (SecretService backend over jeepney) against gnome-keyring:
# login --tokens stores the secrets, whoami reads them back (without the env vars) and
# talks to the sandbox, logout deletes them. The venv's keyring looks from outside.
keyring_item() {
  "$PY" -c 'import keyring, sys
k = keyring.get_keyring()
assert "SecretService" in type(k).__module__, k
print("present" if k.get_credential("avatar-studio", None) else "absent")'
}
check_keyring() {
  [ "$(keyring_item)" = absent ]
  env AVATAR_STUDIO_API_KEY="$AVATAR_STUDIO_API_KEY" AVATAR_STUDIO_API_SECRET="$AVATAR_STUDIO_API_SECRET" \
    AVATAR_STUDIO_ACCESS_TOKEN="$AVATAR_STUDIO_ACCESS_TOKEN" \
    AVATAR_STUDIO_ACCESS_SECRET="$AVATAR_STUDIO_ACCESS_SECRET" \
    "$CLI" login --tokens --api-base "$AVATAR_STUDIO_API_BASE"
  [ "$(keyring_item)" = present ] || { echo "login did not store a secret in the keyring"; return 1; }
  if grep -rq "$AVATAR_STUDIO_ACCESS_SECRET" "$AVATAR_STUDIO_CONFIG_DIR" "$AVATAR_STUDIO_STATE_DIR"; then
    echo "a secret was written to a file"; return 1
  fi
  "$CLI" whoami --json --api-base "$AVATAR_STUDIO_API_BASE" | tee "$work/whoami.json"
  grep -q '"screen_name": *"sandbox_user"' "$work/whoami.json"
  "$CLI" logout
  [ "$(keyring_item)" = absent ] || { echo "logout left the secret in the keyring"; return 1; }
  if "$CLI" whoami --api-base "$AVATAR_STUDIO_API_BASE"; then
    echo "whoami still works after logout"; return 1
  fi
}
if [ -n "$sandbox_pid" ] && has_command login && has_command whoami && has_command logout; then
  step "keyring round trip: login --tokens, whoami, logout" check_keyring
fi

if [ -n "$sandbox_pid" ]; then
  kill "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null || true; sandbox_pid=
fi

# --- purge ------------------------------------------------------------------------------
purge() {
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 purge -y -q "$PKG"
  local left=()
  for f in "/opt/$PKG" "$APP" "$CLI" \
      /usr/share/applications/io.github.avatarstudio.AvatarStudio.desktop \
      /usr/share/metainfo/io.github.avatarstudio.AvatarStudio.metainfo.xml; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || left+=("$f")
  done
  mapfile -t -O ${#left[@]} left < <(find /usr/share/icons/hicolor -name 'avatar-studio.*')
  [ ${#left[@]} -eq 0 ] || { echo "left behind after purge: ${left[*]}"; return 1; }
  ! dpkg-query -W -f='${db:Status-Status}' "$PKG" 2>/dev/null | grep -q .
}
step "apt-get purge; nothing left in /opt, /usr/bin, /usr/share" purge

if [ ${#skipped[@]} -eq 0 ]; then
  echo "test-installed: all $passed checks passed in $(secs "$t_start") s"
else
  echo "test-installed: $passed checks passed, SKIPPED: ${skipped[*]} ($(secs "$t_start") s)"
fi
