#!/usr/bin/env bash
# Build (or reuse) a Debian trixie root holding GIMP 3.0.4 and a venv with this project installed, so the
# real-GIMP tests (tests/test_gimp_*.py) can run GIMP headless on a Debian 12 host that only ships GIMP 2.10.
#
# Idempotent: the slow parts (debootstrap, apt, pip dependencies) are cached in the root and redone only when
# the package list changes; the project itself is re-copied and reinstalled on every call (a few seconds).
# Fails loudly (non-zero exit) on any error. Needs root (debootstrap, chroot, mount).
set -euo pipefail

ROOT=${GIMP_GPTIMAGE_ROOT:-/var/cache/gimp-gptimage-ci/trixie-root}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# GIMP itself, plus the worker's dependencies from trixie (the venv below sees them through
# --system-site-packages), so the root needs no index of its own. PyQt6 is left out: the tests run batch
# jobs, which never open the dialog. starlette/uvicorn run the embedded offline server. OpenCV comes as a
# wheel fetched by the host's pip (trixie's 4.10 lacks PNG encoder flags the pipeline uses). Xvfb and
# xdotool let one test press Ctrl+Z in GIMP's real window (undo has no PDB procedure).
PACKAGES="gimp gir1.2-gimp-3.0 python3-gi python3-gi-cairo python3-venv python3-setuptools python3-numpy \
python3-pil python3-httpx python3-platformdirs python3-keyring python3-starlette python3-uvicorn \
python3-python-multipart xvfb xdotool"
WHEELS=/opt/gptimage-wheels
HOST_PIP=${HOST_PIP:-}
VENV=/opt/gptimage-venv
SRC=/opt/gptimage-src
PROJECT=$(cd "$(dirname "$0")/.." && pwd)
STAMP="$ROOT/.gimp-gptimage-packages"

# Commands inside the root get a clean environment: nothing of the host's (XDG_*, PIP_*, locale) leaks in.
IN_ROOT=(chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)

log() { echo "gimp-root: $*" >&2; }
die() { echo "gimp-root: ERROR: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap/chroot/mount)"

if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
fi

# A half-finished debootstrap leaves ROOT/debootstrap behind: start again from scratch.
if [ -d "$ROOT/debootstrap" ] || [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    if mountpoint -q "$ROOT/proc" 2>/dev/null; then umount "$ROOT/proc"; fi
    rm -rf "$ROOT" "$STAMP"
    mkdir -p "$(dirname "$ROOT")"
    log "debootstrap trixie into $ROOT (about a minute)"
    debootstrap --variant=minbase trixie "$ROOT" "$MIRROR"
fi

mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"

if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$PACKAGES" ] || [ ! -x "$ROOT/usr/bin/gimp-console-3.0" ]; then
    log "apt-get install $PACKAGES"
    "${IN_ROOT[@]}" apt-get update -q
    # shellcheck disable=SC2086
    "${IN_ROOT[@]}" apt-get install -y -q --no-install-recommends $PACKAGES
    "${IN_ROOT[@]}" apt-get clean
    rm -rf "${ROOT:?}$VENV"
    echo "$PACKAGES" >"$STAMP"
fi

version=$("${IN_ROOT[@]}" gimp-console-3.0 --version)
case "$version" in
    *" 3.0."*) log "$version" ;;
    *) die "unexpected GIMP version: $version" ;;
esac

if [ ! -x "$ROOT$VENV/bin/python" ]; then
    log "creating $VENV with the root's python3"
    "${IN_ROOT[@]}" python3 -m venv --system-site-packages "$VENV"
fi

# Wheels the root's Python cannot get from trixie, downloaded by the host's pip (whatever index it is set up
# with) for the root's Python 3.13, once.
if ! ls "$ROOT$WHEELS"/opencv_python_headless-*.whl >/dev/null 2>&1; then
    if [ -z "$HOST_PIP" ]; then
        if [ -x "$PROJECT/.venv/bin/pip" ]; then HOST_PIP="$PROJECT/.venv/bin/pip"; else HOST_PIP="python3 -m pip"; fi
    fi
    opencv=$(grep -o '"opencv-python-headless[^"]*"' "$PROJECT/pyproject.toml" | tr -d '"')
    log "downloading $opencv for the root's Python with $HOST_PIP"
    mkdir -p "$ROOT$WHEELS"
    $HOST_PIP download -q --no-deps --only-binary=:all: --python-version 3.13 --platform manylinux2014_x86_64 \
        --platform manylinux_2_17_x86_64 -d "$ROOT$WHEELS" "$opencv"
fi
"${IN_ROOT[@]}" "$VENV/bin/pip" --disable-pip-version-check --no-cache-dir -q \
    install --no-index --find-links "$WHEELS" opencv-python-headless

# Install the project as a user would (pip install, here without dependencies: apt provided them), from a
# fresh copy of this tree so every run tests the current code.
rm -rf "${ROOT:?}$SRC"
mkdir -p "$ROOT$SRC"
tar -C "$PROJECT" --exclude=./.venv --exclude=./.git --exclude='*.egg-info' --exclude=__pycache__ \
    --exclude=./build --exclude=./dist --exclude=./.ci --exclude=./bench --exclude=./tests -cf - . |
    tar -C "$ROOT$SRC" -xf -
"${IN_ROOT[@]}" "$VENV/bin/pip" --disable-pip-version-check --no-cache-dir -q \
    install --no-deps --no-build-isolation --no-index "$SRC"
"${IN_ROOT[@]}" "$VENV/bin/python" -c "import gimp_gptimage, numpy, PIL, httpx, cv2"
log "ready: $ROOT (worker python $VENV/bin/python)"
