#!/usr/bin/env bash
# Install the Debian/Ubuntu packages the app and its tests need, only when missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# Usage: packaging/sysdeps.sh run|test|package|bench
set -euo pipefail
what=${1:-run}

qt_runtime="libglib2.0-0 libegl1 libgl1 libx11-6 libfontconfig1 libfreetype6 libxkbcommon0
 libdbus-1-3 libbrotli1 libxkbcommon-x11-0 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4
 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0
 libxcb-shm0 libxcb-sync1 libxcb-util1 libxcb-xfixes0 libxcb-xkb1"
test_tools="xvfb xauth dbus-daemon dbus-bin gnome-keyring"
# A real browser for the sign-in tests (the Mastodon authorize page), with its driver.
test_tools="$test_tools chromium chromium-driver"
package_tools="binutils desktop-file-utils appstream"
# `make bench` compares against these peers (vipsthumbnail, ImageMagick's convert).
bench_tools="libvips-tools imagemagick"

pkgs="$qt_runtime"
case "$what" in
  run) ;;
  test) pkgs="$pkgs $test_tools $package_tools" ;;
  package) pkgs="$pkgs $package_tools" ;;
  bench) pkgs="$pkgs $bench_tools" ;;
  *) echo "usage: $0 run|test|package|bench" >&2; exit 2 ;;
esac
# Debian's own python3 needs these to make a venv; a pyenv or other build has them.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  pkgs="$pkgs python3-venv"
fi
# PyInstaller bundles libpython: Debian's python3 is linked statically, the shared library
# comes from libpython3.X (a pyenv or python.org build made with --enable-shared has its own).
if [ "$what" != run ] && python3 -c 'import sys
sys.exit(0 if sys.prefix == "/usr" else 1)' \
    2>/dev/null; then
  pkgs="$pkgs $(python3 -c 'import sys; print("libpython%d.%d" % sys.version_info[:2])')"
fi

missing=()
for p in $pkgs; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages. Install them with:" >&2
  echo "  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
