#!/usr/bin/env bash
# Builds the installable package for the OS it runs on into dist/ (make package):
#   Linux    dist/taskchat_<version>_<arch>.deb            (packaging/linux/build_deb.py)
#   macOS    dist/TaskChat-<version>-macos-<arch>.dmg       (packaging/macos/build_dmg.py)
#   Windows  dist/TaskChat-<version>-windows-<arch>-setup.exe (Inno Setup, packaging/windows)
# each with a .sha256 file next to it.
#
#   packaging/package.sh [--reuse]   --reuse: package the existing one-dir build as it is
set -euo pipefail
cd "$(dirname "$0")/.."

reuse=0
for arg in "$@"; do
  case "$arg" in
    --reuse) reuse=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

if [ -n "${PYTHON:-}" ]; then
  py=$PYTHON
elif [ -x .venv/bin/python ]; then
  py=.venv/bin/python
elif [ -x .venv/Scripts/python.exe ]; then
  py=.venv/Scripts/python.exe
else
  py=python
fi

onedir_build() {
  local exe=$1
  if [ "$reuse" = 1 ] && [ -e "$exe" ]; then
    echo "==> reusing $exe"
  else
    packaging/build.sh onedir --skip-webui
  fi
}

case "$(uname -s)" in
  Linux)
    onedir_build dist/onedir/taskchat/taskchat
    "$py" packaging/linux/build_deb.py
    ;;
  Darwin)
    onedir_build dist/onedir/TaskChat.app
    "$py" packaging/macos/build_dmg.py
    ;;
  MINGW*|MSYS*|CYGWIN*|Windows_NT)
    onedir_build dist/onedir/taskchat/taskchat.exe
    "$py" packaging/windows/build_installer.py
    ;;
  *)
    echo "make package: no package format for $(uname -s)" >&2
    exit 2
    ;;
esac
