#!/usr/bin/env bash
# Installs everything TaskChat needs to run and be tested on Debian/Ubuntu (idempotent).
#   scripts/setup.sh          Python env + web UI build
#   scripts/setup.sh --test   also the system packages the tests use (keyring, browser, X)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

if [ $want_test -eq 1 ]; then
  # Real Secret Service (gnome-keyring over D-Bus), headless Chromium with a font for the
  # e2e screenshots (driven by the `playwright` pip package; never `playwright install`),
  # a virtual X display, and the libraries Qt WebEngine needs for the desktop window tests
  # (the binary takes X11, fonts and sound from the system: build.spec's _SYSTEM_LIBRARIES).
  apt_install dbus dbus-x11 gnome-keyring libsecret-tools chromium fonts-dejavu-core xvfb xauth \
    libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 \
    libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-image0 libxcb-render-util0 \
    libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libasound2 libxkbfile1 \
    postgresql pgbouncer icu-devtools faketime \
    libgbm1 libxshmfence1 libxkbcommon0 libfontconfig1 libxi6 libxrender1 libdbus-1-3 \
    libx11-6 libx11-xcb1 libfreetype6
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
extras="dev"
# The test command also builds the desktop binary (PyInstaller, the `build` extra).
[ $want_test -eq 1 ] && extras="dev,build"
.venv/bin/python -m pip install -q --upgrade pip
echo "==> pip install -e .[$extras]"
.venv/bin/python -m pip install -q -e ".[$extras]"

if [ -f webui/package.json ]; then
  echo "==> building the web UI"
  (cd webui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi
