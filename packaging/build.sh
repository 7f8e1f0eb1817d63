#!/usr/bin/env bash
# Builds the TaskChat desktop binary: the web UI first, then PyInstaller (build.spec).
#
#   packaging/build.sh [onedir|onefile|both] [--archive] [--skip-webui]
#
#   onedir     dist/onedir/taskchat/taskchat   (default; fast start)
#   onefile    dist/onefile/taskchat           (one file; unpacks itself on every start)
#   --archive  also writes dist/TaskChat-<version>-<os>-<arch>-<mode>.{tar.gz|zip} and a
#              .sha256 file next to it (what CI uploads)
#   --skip-webui  reuse an existing webui/dist (scripts/setup.sh has just built it)
#
# Uses .venv/bin/python when present (PYTHON overrides); that Python needs the project
# installed with the `build` extra: pip install -e ".[build]".
set -euo pipefail
cd "$(dirname "$0")/.."

modes=()
archive=0
skip_webui=${TASKCHAT_SKIP_WEBUI:-0}
for arg in "$@"; do
  case "$arg" in
    onedir|onefile) modes+=("$arg") ;;
    both) modes+=(onedir onefile) ;;
    --archive) archive=1 ;;
    --skip-webui) skip_webui=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done
[ ${#modes[@]} -eq 0 ] && modes=(onedir)

if [ -n "${PYTHON:-}" ]; then
  py=$PYTHON
elif [ -x .venv/bin/python ]; then
  py=.venv/bin/python
elif [ -x .venv/Scripts/python.exe ]; then
  py=.venv/Scripts/python.exe
else
  py=python
fi

if [ "$skip_webui" != 1 ] || [ ! -f webui/dist/index.html ]; then
  echo "==> building the web UI"
  (cd webui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
fi

# Freeze a consistent copy of the web UI for the binary (build.spec checks it).
snapshot=build/webui-dist
rm -rf "$snapshot" && mkdir -p build && cp -R webui/dist "$snapshot"
export TASKCHAT_WEBUI_DIST="$PWD/$snapshot"

for mode in "${modes[@]}"; do
  echo "==> PyInstaller ($mode)"
  start=$(date +%s)
  TASKCHAT_BUILD_MODE=$mode "$py" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "dist/$mode" --workpath "build/pyinstaller-$mode" build.spec
  echo "==> $mode built in $(( $(date +%s) - start )) s"
  if [ "$archive" = 1 ]; then
    "$py" packaging/archive.py "$mode"
  fi
done
