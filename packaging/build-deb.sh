#!/usr/bin/env bash
# Build the PyInstaller bundle and wrap it as dist/avatar-studio_<version>_<arch>.deb.
#
#   /opt/avatar-studio/                the one-folder bundle (two executables)
#   /usr/bin/avatar-studio{,-cli}      symlinks into it (the bootloader follows them)
#   /usr/share/applications/           the .desktop file (validated)
#   /usr/share/icons/hicolor/          SVG + PNG 16..512 rendered from resources/avatar-studio.svg
#   /usr/share/metainfo/               AppStream metainfo (validated where appstreamcli exists)
#
# Usage: packaging/build-deb.sh            (run by `make package`; needs .venv with pyinstaller)
# Environment:
#   AVATAR_STUDIO_DEB_COMPRESSION  xz (default: release) | zstd | gzip | none;
#                                  zstd when CI=true and this is unset (10x faster, ~30% bigger)
#   PACKAGING_PYTHON               the Python with PyInstaller and PySide6 (default .venv/bin/python)
#   AVATAR_STUDIO_NO_SLIM=1        keep every Qt plugin and translation (to measure slimming)
#   --print-path                   only print the path of the .deb it builds
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PACKAGING_PYTHON:-$ROOT/.venv/bin/python}
t_start=$(date +%s.%N)
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}'; }
say() { echo "build-deb: $*"; }
die() { echo "build-deb: ERROR: $*" >&2; exit 1; }

VERSION=$("$PY" -c 'from avatar_studio.core.version import __version__; print(__version__)')
APP_ID=$("$PY" -c 'from avatar_studio.core.version import APP_ID; print(APP_ID)')
NAME=$("$PY" -c 'from avatar_studio.core.version import DIST_NAME; print(DIST_NAME)')
ARCH=$(dpkg --print-architecture)
compression=${AVATAR_STUDIO_DEB_COMPRESSION:-}
if [ -z "$compression" ]; then
  if [ "${CI:-}" = true ]; then compression=zstd; else compression=xz; fi
fi
case "$compression" in xz|zstd|gzip|none) ;; *) die "unknown compression '$compression'";; esac
DEB=dist/${NAME}_${VERSION}_${ARCH}.deb
if [ "${1:-}" = --print-path ]; then echo "$DEB"; exit 0; fi
for tool in objdump dpkg-deb dpkg-query desktop-file-validate; do
  command -v "$tool" >/dev/null || die "$tool is missing (packaging/sysdeps.sh package installs it)"
done
"$PY" -c 'import PyInstaller' 2>/dev/null \
  || die "PyInstaller is not installed in $PY (make package installs the 'package' extra)"

say "$NAME $VERSION ($ARCH), compression $compression"

# --- 1. the bundle --------------------------------------------------------------------
# The spec analyses a tree with the installed names (avatar_studio/core, .../gui,
# .../resources), hard-linked like the Makefile's typecheck tree: the frozen app imports
# avatar_studio.core and avatar_studio.gui exactly as a pip install does.
t=$(date +%s.%N)
SRC=build/pyi-src
rm -rf "$SRC" && mkdir -p "$SRC/avatar_studio"
for d in core gui resources; do cp -al "$d" "$SRC/avatar_studio/$d"; done
find "$SRC" -name __pycache__ -prune -exec rm -rf {} +
AVATAR_STUDIO_PYI_SRC=$ROOT/$SRC "$PY" -m PyInstaller --noconfirm --log-level WARN \
  --distpath build/pyi-dist --workpath build/pyi-work packaging/avatar-studio.spec
BUNDLE=build/pyi-dist/$NAME
say "bundle built in $(elapsed "$t") s: $(du -sh "$BUNDLE" | cut -f1)"

# Every ELF file must find its libraries in the bundle or in a package we depend on.
t=$(date +%s.%N)
mapfile -t elves < <(find "$BUNDLE" -type f \( -name '*.so*' -o -perm -u+x \) \
  -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
missing=$(for f in "${elves[@]}"; do
  LD_LIBRARY_PATH=$ROOT/$BUNDLE/_internal ldd "$f" 2>/dev/null | grep 'not found' \
    | sed "s#^#$f: #" || true
done)
[ -z "$missing" ] || die "libraries not found:"$'\n'"$missing"
mapfile -t outside < <(for f in "${elves[@]}"; do
  LD_LIBRARY_PATH=$ROOT/$BUNDLE/_internal ldd "$f" 2>/dev/null | awk '/=> \//{print $3}'
done | sort -u | grep -v "^$ROOT/$BUNDLE/" | xargs -r realpath | sort -u)

# The frozen executables run and import our code by its installed names.
"$BUNDLE/$NAME-cli" --version | grep -qx "$NAME-cli $VERSION" || die "frozen CLI --version"
QT_QPA_PLATFORM=offscreen "$BUNDLE/$NAME" --version | grep -qx "$NAME $VERSION" \
  || die "frozen GUI --version"
[ -d "$BUNDLE/_internal/avatar_studio/resources" ] || die "resources missing from the bundle"
# What each executable's archive holds: our modules by their installed names only, every
# module of avatar_studio.core (subcommands are imported by name), and no Qt in the CLI.
"$PY" - "$BUNDLE/$NAME" "$BUNDLE/$NAME-cli" <<'EOF' || die "frozen module check failed"
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import avatar_studio.core
import avatar_studio.gui

viewer = Path(sys.executable).with_name("pyi-archive_viewer")


def modules(exe: str) -> set[str]:
    out = subprocess.run([str(viewer), "--list", "--recursive", exe], check=True,
                         capture_output=True, text=True).stdout
    return set(re.findall(r"^ *\d+, \d+, \d+, '([\w.]+)'$", out, re.MULTILINE))


def ours(package) -> set[str]:
    return {package.__name__} | {m.name for m in pkgutil.walk_packages(
        package.__path__, package.__name__ + ".")}


gui, cli = modules(sys.argv[1]), modules(sys.argv[2])
problems = []
for name, found, wanted in (("gui", gui, ours(avatar_studio.core) | ours(avatar_studio.gui)),
                            ("cli", cli, ours(avatar_studio.core))):
    wanted = {m for m in wanted if not m.endswith("__main__")}
    if missing := wanted - found:
        problems.append(f"{name} lacks {sorted(missing)}")
    if stray := {m for m in found if m.split(".")[0] in ("core", "gui", "resources")}:
        problems.append(f"{name} has modules outside avatar_studio: {sorted(stray)}")
if qt := {m for m in cli if m.split(".")[0] in ("PySide6", "shiboken6")
          or m.startswith("avatar_studio.gui")}:
    problems.append(f"cli holds Qt or gui modules: {sorted(qt)[:5]}")
print("\n".join(problems) or f"frozen modules ok: gui {len(gui)}, cli {len(cli)}")
sys.exit(1 if problems else 0)
EOF
say "bundle checked in $(elapsed "$t") s (${#elves[@]} ELF files)"

# --- 2. the package tree --------------------------------------------------------------
t=$(date +%s.%N)
PKG=build/deb-root
rm -rf "$PKG" && mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin"
cp -al "$BUNDLE" "$PKG/opt/$NAME"
ln -s "/opt/$NAME/$NAME" "$PKG/usr/bin/$NAME"
ln -s "/opt/$NAME/$NAME-cli" "$PKG/usr/bin/$NAME-cli"

install -Dm644 "resources/$APP_ID.desktop" "$PKG/usr/share/applications/$APP_ID.desktop"
desktop-file-validate "$PKG/usr/share/applications/$APP_ID.desktop" \
  || die "desktop-file-validate rejected resources/$APP_ID.desktop"

icons=$PKG/usr/share/icons/hicolor
icon=$(sed -n 's/^Icon=//p' "resources/$APP_ID.desktop")
install -Dm644 resources/avatar-studio.svg "$icons/scalable/apps/$icon.svg"
"$PY" packaging/render_icons.py resources/avatar-studio.svg "$icons" \
  16 22 24 32 48 64 128 256 512 >/dev/null
[ "$icon" = avatar-studio ] || for f in "$icons"/*/apps/avatar-studio.png; do
  mv "$f" "${f%/*}/$icon.png"; done

install -Dm644 "resources/$APP_ID.metainfo.xml" "$PKG/usr/share/metainfo/$APP_ID.metainfo.xml"
grep -q "<release version=\"$VERSION\"" "resources/$APP_ID.metainfo.xml" \
  || die "resources/$APP_ID.metainfo.xml has no <release version=\"$VERSION\">"
if command -v appstreamcli >/dev/null; then
  appstreamcli validate --no-net --explain "$PKG/usr/share/metainfo/$APP_ID.metainfo.xml" \
    >/dev/null || die "appstreamcli rejected the metainfo"
else
  say "appstreamcli not installed: metainfo not validated"
fi

# Depends: what the bundle cannot carry. PyInstaller never bundles libGL/libEGL, libc or
# libxcb; fontconfig and xkbcommon need their data packages (fonts, keymaps); dbus for the
# Secret Service and input methods. Checked below against what ldd actually resolved.
glibc=$(getconf GNU_LIBC_VERSION | awk '{print $2}')
depends=("libc6 (>= $glibc)" libgl1 libegl1 libxcb1 libfontconfig1 libxkbcommon0 libdbus-1-3)
declared=$(printf '%s\n' "${depends[@]}" | awk '{print $1}')
covered=$(for p in $declared; do echo "$p"
  dpkg-query -W -f='${Depends}\n${Pre-Depends}\n' "$p" 2>/dev/null | tr ',|' '\n\n' \
    | awk 'NF{print $1}' | sed 's/:any$//'; done | sort -u)
unmet=()
for lib in "${outside[@]}"; do
  owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null || true)
  pkg=${owner%%:*}
  [ -n "$pkg" ] || die "no package owns $lib, which the bundle needs"
  grep -qx "$pkg" <<<"$covered" || unmet+=("$pkg ($lib)")
done
[ ${#unmet[@]} -eq 0 ] || die "the bundle needs packages missing from Depends: ${unmet[*]}"

install -d "$PKG/usr/share/doc/$NAME"
cat >"$PKG/usr/share/doc/$NAME/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: $NAME
Source: https://github.com/avatar-studio/avatar-studio

Files: *
Copyright: Avatar Studio developers
License: MIT

Files: opt/$NAME/_internal/*
Comment: The bundle carries CPython, Qt 6 / PySide6 (LGPL-3.0), Pillow, pillow-heif
 (libheif LGPL-3.0, x265 GPL-2.0), requests, oauthlib, keyring, werkzeug and the system
 libraries they load, each under its own licence.
EOF

installed_size=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
depends_line=$(IFS=,; echo "${depends[*]}" | sed 's/,/, /g')
cat >"$PKG/DEBIAN/control" <<EOF
Package: $NAME
Version: $VERSION
Architecture: $ARCH
Maintainer: ${DEB_MAINTAINER:-Avatar Studio developers <avatar-studio@users.noreply.github.com>}
Installed-Size: $installed_size
Depends: $depends_line
Recommends: gnome-keyring | kwalletmanager | keepassxc
Section: graphics
Priority: optional
Homepage: https://github.com/avatar-studio/avatar-studio
Description: crop a picture and set it as your profile picture on X, Mastodon and Bluesky
 Avatar Studio crops an image live in a square frame with a round guide, shows
 the exact 400x400 pixels that will be uploaded, and sets them as the X
 (Twitter) profile picture. Secrets stay in the system keyring (Secret
 Service). A local sandbox of the X API lets you try it without an account.
 .
 Includes avatar-studio-cli, a command line that renders, uploads and runs
 the sandbox without a display.
EOF
# Modes as dpkg expects them, whatever the umask of the build.
chmod -R u+rwX,go+rX,go-w "$PKG"
say "package tree laid out in $(elapsed "$t") s"

# --- 3. the .deb ----------------------------------------------------------------------
t=$(date +%s.%N)
mkdir -p dist
rm -f "$DEB"
dpkg-deb --root-owner-group -Z"$compression" --threads-max="$(nproc)" --build "$PKG" "$DEB" \
  >/dev/null
say "wrapped in $(elapsed "$t") s: $DEB ($(du -h "$DEB" | cut -f1), $compression)"
say "total $(elapsed "$t_start") s"
