#!/usr/bin/env bash
# Installs everything TaskChat needs to run and be tested on Debian/Ubuntu (idempotent).
#   scripts/setup.sh            Python env + web UI build
#   scripts/setup.sh --window   also the system libraries the desktop window needs, where it
#                               can (root, or sudo); otherwise says which to install (make run)
#   scripts/setup.sh --build    --window plus PyInstaller (the `build` extra) and the packaging
#                               tools (make build, make package)
#   scripts/setup.sh --test     all of the above plus the system packages the tests use
#                               (keyring, browser, X, package validators)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_window=0
want_build=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1; want_window=1; want_build=1 ;;
    --window) want_window=1 ;;
    --build) want_build=1; want_window=1 ;;  # the build reads the system's WebKitGTK
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)

have_apt() {
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1
}

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || echo "$pkg"
  done
}

apt_install() {
  local missing
  mapfile -t missing < <(missing_packages "$@")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# Ubuntu 24.04 renamed libasound2 (the 64-bit time_t transition).
asound=libasound2
if have_apt && apt-cache show libasound2t64 >/dev/null 2>&1; then
  asound=libasound2t64
fi
# What the window needs from the system on Linux: WebKitGTK and GTK through GObject
# introspection, the tray's AppIndicator (packaging's Depends: names the same).
WINDOW_PACKAGES=(gir1.2-webkit2-4.1 gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1)
# What pip needs to build PyGObject and pycairo (no wheels on PyPI for Linux).
GI_BUILD_PACKAGES=(libgirepository1.0-dev libcairo2-dev pkg-config gcc)
# What Qt WebEngine's window needs (TASKCHAT_WEBVIEW=qt, the `qt` extra; the tests run it).
QT_WINDOW_PACKAGES=(libegl1 libgl1 libgbm1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0
  libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-image0
  libxcb-render-util0 libnss3 libxcomposite1 libxdamage1 libxrandr2 libxtst6 "$asound"
  libxkbfile1 libxshmfence1 libfontconfig1 libfreetype6 libxi6 libxrender1 libdbus-1-3
  libx11-6 libx11-xcb1)

if [ $want_window -eq 1 ] && [ $want_test -eq 0 ]; then
  if ! have_apt; then
    echo "==> not Debian/Ubuntu: install WebKitGTK 4.1 and its GObject introspection data yourself"
  else
    mapfile -t window_missing < <(missing_packages "${WINDOW_PACKAGES[@]}")
    if [ ${#window_missing[@]} -gt 0 ]; then
      if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
        apt_install "${window_missing[@]}" || echo "==> could not install ${window_missing[*]}:" \
          "the window may not open (TaskChat then serves in the browser; see \`taskchat doctor\`)"
      else
        echo "==> the window needs: ${window_missing[*]} (apt-get install them as root);" \
          "until then TaskChat serves in the browser"
      fi
    fi
  fi
fi

# PyGObject (a base dependency on Linux) is built by pip: its build packages come first,
# for every setup. Without root or sudo, say which to install.
if [ $want_test -eq 0 ] && have_apt && [ "$(uname -s)" = Linux ]; then
  mapfile -t gi_missing < <(missing_packages "${GI_BUILD_PACKAGES[@]}")
  if [ ${#gi_missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
      apt_install "${gi_missing[@]}" || echo "==> could not install ${gi_missing[*]}:" \
        "pip cannot build PyGObject (the window's GTK binding)"
    else
      echo "==> pip needs ${gi_missing[*]} to build PyGObject (apt-get install them as root)"
    fi
  fi
fi

if [ $want_build -eq 1 ] && [ $want_test -eq 0 ] && have_apt; then
  # PyInstaller reads binaries with objdump (binutils); dpkg-deb (dpkg) builds the .deb.
  if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; then
    apt_install binutils || echo "==> could not install binutils (PyInstaller needs objdump)"
  fi
fi

if [ $want_test -eq 1 ]; then
  # Real Secret Service (gnome-keyring over D-Bus), headless Chromium with a font for the
  # e2e screenshots (driven by the `playwright` pip package; never `playwright install`),
  # a virtual X display and a headless Wayland compositor (weston), the libraries Qt
  # WebEngine needs for the desktop window tests (the binary takes X11, fonts and sound
  # from the system: build.spec's _SYSTEM_LIBRARIES),
  # and what tests/test_packaging_deb.py uses to check the .deb (objdump for PyInstaller,
  # desktop-file-validate, appstreamcli).
  apt_install dbus dbus-x11 gnome-keyring libsecret-tools chromium fonts-dejavu-core xvfb xauth \
    postgresql pgbouncer icu-devtools "${WINDOW_PACKAGES[@]}" "${GI_BUILD_PACKAGES[@]}" \
    "${QT_WINDOW_PACKAGES[@]}" \
    binutils desktop-file-utils appstream dunst trayer faketime weston
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
extras="dev"
# make build / make package / the test command build the desktop binary (PyInstaller, the
# `build` extra).
[ $want_build -eq 1 ] && extras="dev,build"
# The tests also run the Qt WebEngine window (TASKCHAT_WEBVIEW=qt).
[ $want_test -eq 1 ] && extras="dev,build,qt"
.venv/bin/python -m pip install -q --upgrade pip
echo "==> pip install -e .[$extras]"
.venv/bin/python -m pip install -q -e ".[$extras]"

if [ -f webui/package.json ]; then
  echo "==> building the web UI"
  (cd webui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi
