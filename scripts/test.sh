#!/usr/bin/env bash
# Sets everything up, then runs the whole test suite: lint (ruff, mypy, REST types), web UI unit tests, pytest.
# pytest runs inside its own D-Bus session with an unlocked gnome-keyring, so the keyring
# tests talk to a real Secret Service.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

echo "==> make lint (ruff, mypy, generated REST types)"
make lint

if [ -f webui/package.json ]; then
  echo "==> web UI unit tests"
  (cd webui && npm run typecheck && npm test)
fi

# The Linux one-dir desktop binary; tests/test_packaging_binary.py runs its `serve` smoke
# test and its --self-test (real window under Xvfb, screenshot in artifacts/).
echo "==> desktop binary (PyInstaller one-dir)"
packaging/build.sh onedir --skip-webui
export TASKCHAT_REQUIRE_BINARY=1

echo "==> pytest"
# The keyring lives in a throwaway XDG_DATA_HOME: a login keyring left by an earlier run
# (with another password) would otherwise stay locked, and the person's own is never touched.
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
XDG_DATA_HOME="$keyring_home" dbus-run-session -- sh -c '
  echo -n taskchat-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec .venv/bin/python -m pytest "$@"
' sh "$@"
