#!/usr/bin/env bash
# Run a command inside a private D-Bus session with a fresh, unlocked gnome-keyring:
# a real Secret Service that lives and dies with the command.
# Usage: tests/harness/with-keyring.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${AVATAR_STUDIO_IN_KEYRING_SESSION:-}" ]; then
  keyring_home=$(mktemp -d)
  trap 'rm -rf "$keyring_home"' EXIT
  mkdir -m 700 "$keyring_home/run"
  # A fresh HOME per run: an old login keyring with another password would stay locked.
  # XDG_* go with it so gnome-keyring and the tests never touch the real user's folders.
  HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/.local/share" \
    XDG_CONFIG_HOME="$keyring_home/.config" XDG_RUNTIME_DIR="$keyring_home/run" \
    AVATAR_STUDIO_IN_KEYRING_SESSION=1 \
    dbus-run-session -- "$0" "$@"
  exit $?
fi
printf '%s' "avatar-studio-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
exec "$@"
