#!/usr/bin/env bash
# Builds the TaskChat desktop binary: the web UI first, then PyInstaller (build.spec).
#
#   packaging/build.sh [onedir|onefile|both] [--archive] [--skip-webui] [--dist DIR]
#
#   onedir     dist/onedir/taskchat/taskchat   (default; fast start)
#   onefile    dist/onefile/taskchat           (one file; unpacks itself on every start)
#   --archive  also writes dist/TaskChat-<version>-<os>-<arch>-<mode>.{tar.gz|zip} and a
#              .sha256 file next to it (what CI uploads)
#   --skip-webui  reuse an existing webui/dist (scripts/setup.sh has just built it)
#   --dist DIR    build into DIR/<mode> (work files in DIR/work-<mode>) instead of dist/
#
# TASKCHAT_WEBVIEW=qt|gtk picks the Linux window's web view the build carries (build.spec;
# the default is app/desktop/backend.py's).
#
# Uses .venv/bin/python when present (PYTHON overrides); that Python needs the project
# installed with the `build` extra: pip install -e ".[build]".
set -euo pipefail
cd "$(dirname "$0")/.."

modes=()
archive=0
dist_root=""
skip_webui=${TASKCHAT_SKIP_WEBUI:-0}
while [ $# -gt 0 ]; do
  arg=$1
  shift
  case "$arg" in
    onedir|onefile) modes+=("$arg") ;;
    --dist) dist_root=${1:?--dist needs a folder}; shift ;;
    both) modes+=(onedir onefile) ;;
    --archive) archive=1 ;;
    --skip-webui) skip_webui=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
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
  if [ -n "$dist_root" ]; then
    distpath=$dist_root/$mode workpath=$dist_root/work-$mode
  else
    distpath=dist/$mode workpath=build/pyinstaller-$mode
  fi
  TASKCHAT_BUILD_MODE=$mode "$py" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$distpath" --workpath "$workpath" build.spec
  echo "==> $mode built in $(( $(date +%s) - start )) s"
  if [ "$archive" = 1 ] && [ -z "$dist_root" ]; then
    "$py" packaging/archive.py "$mode"
  fi
done
