#!/usr/bin/env bash
# Build (or reuse) a Debian root holding a real GIMP 3 and a venv with this project installed as the README
# says, so the real-GIMP tests (tests/test_gimp_*.py) can run GIMP on a Debian 12 host that only ships 2.10.
#
#   bash .ci/gimp-root.sh 3.0    Debian trixie, GIMP 3.0.x  -> /var/cache/gimp-gptimage-ci/trixie-root
#   bash .ci/gimp-root.sh 3.2    Debian forky,  GIMP 3.2.x  -> /var/cache/gimp-gptimage-ci/forky-root
#   bash .ci/gimp-root.sh        both
#
# Idempotent: the slow parts (debootstrap, apt, wheels) are cached in the root and redone only when the
# package or requirement list changes; the project itself is re-copied and reinstalled on every call (a few
# seconds). Fails loudly (non-zero exit) on any error. Needs root (debootstrap, chroot, mount).
# GIMP_GPTIMAGE_ROOT overrides the root's path (one version only); DEBIAN_MIRROR the mirror.
set -euo pipefail

PROJECT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=/var/cache/gimp-gptimage-ci
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HOST_PIP=${HOST_PIP:-}
# GIMP and the parts of the worker's dependencies Debian packages (the venv sees them through
# --system-site-packages); starlette/uvicorn run the embedded offline server. The Qt xcb libraries (PyQt6's
# wheels bundle Qt but not these), fonts, Xvfb, a window manager and xdotool let the tests open GIMP's GUI
# and the dialog, as on a desktop.
PACKAGES="gimp gir1.2-gimp-3.0 python3-gi python3-gi-cairo python3-venv python3-setuptools python3-numpy \
python3-pil python3-httpx python3-platformdirs python3-keyring python3-starlette python3-uvicorn \
python3-python-multipart xvfb xauth xdotool openbox fonts-dejavu-core \
libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xkb1 libxcb-image0 \
libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0 libfontconfig1 libdbus-1-3"
# The wheels are what pip still needs after apt: the project's own dependencies (read from pyproject.toml, so
# they are written once) plus onnxruntime for the offline engine until pyproject.toml names it. pip installs only those that the system
# packages do not already satisfy (opencv, PyQt6 with its Qt and sip, qasync, onnxruntime).
EXTRA_WHEELS="onnxruntime"
WHEELS=/opt/gptimage-wheels
VENV=/opt/gptimage-venv
SRC=/opt/gptimage-src

log() { echo "gimp-root: $*" >&2; }
die() { echo "gimp-root: ERROR: $*" >&2; exit 1; }
trap 'die "failed at line $LINENO: $BASH_COMMAND"' ERR

requirements() {
    # The project's dependencies, then each extra wheel pyproject.toml does not name already.
    python3 - "$PROJECT/pyproject.toml" $EXTRA_WHEELS <<'PY'
import re, sys, tomllib
with open(sys.argv[1], "rb") as f:
    deps = tomllib.load(f)["project"]["dependencies"]
names = {re.split(r"[^A-Za-z0-9._-]", d, maxsplit=1)[0].lower() for d in deps}
print("\n".join(deps + [extra for extra in sys.argv[2:] if extra.lower() not in names]))
PY
}

build_root() {
    local version=$1 suite script="" root
    case "$version" in
        3.0) suite=trixie ;;
        3.2) suite=forky script=/usr/share/debootstrap/scripts/sid ;;  # bookworm's debootstrap has no forky
        *) die "unknown GIMP version $version (3.0 or 3.2)" ;;
    esac
    root=${GIMP_GPTIMAGE_ROOT:-$CACHE/$suite-root}
    local stamp="$root/.gimp-gptimage-packages"
    # Commands inside the root get a clean environment: nothing of the host's (XDG_*, PIP_*, locale) leaks in.
    local in_root=(chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
    local started=$SECONDS

    # A half-finished debootstrap leaves ROOT/debootstrap behind: start again from scratch.
    if [ -d "$root/debootstrap" ] || [ ! -x "$root/usr/bin/apt-get" ]; then
        if mountpoint -q "$root/proc" 2>/dev/null; then umount "$root/proc"; fi
        rm -rf "$root"
        mkdir -p "$(dirname "$root")"
        log "debootstrap $suite into $root"
        # shellcheck disable=SC2086
        debootstrap --variant=minbase "$suite" "$root" "$MIRROR" $script
    fi
    # Debian testing's Release file may be past its Valid-Until date on the mirror.
    echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99gimp-gptimage"

    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    cp /etc/resolv.conf "$root/etc/resolv.conf"

    local want
    want="$PACKAGES
$(requirements)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x "$root/usr/bin/gimp-console" ]; then
        log "apt-get install $PACKAGES"
        "${in_root[@]}" apt-get update -q
        # shellcheck disable=SC2086
        "${in_root[@]}" apt-get install -y -q --no-install-recommends $PACKAGES
        "${in_root[@]}" apt-get clean
        rm -rf "${root:?}$VENV" "${root:?}$WHEELS"
    fi

    local found
    found=$("${in_root[@]}" gimp-console --version)
    case "$found" in
        *" $version."*) log "$found" ;;
        *) die "expected GIMP $version in $root, found: $found" ;;
    esac

    if [ ! -x "$root$VENV/bin/python" ]; then
        log "creating $VENV with the root's python3"
        "${in_root[@]}" python3 -m venv --system-site-packages "$VENV"
    fi

    # The wheels for the root's Python, downloaded once by the host's pip (whatever index it is set up with).
    if [ ! -f "$root$WHEELS/.complete" ]; then
        local pyver pip=$HOST_PIP platforms=() v
        pyver=$("${in_root[@]}" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        if [ -z "$pip" ]; then
            if [ -x "$PROJECT/.venv/bin/pip" ]; then pip="$PROJECT/.venv/bin/pip"; else pip="python3 -m pip"; fi
        fi
        for v in 17 24 27 28 31 34 35 36 38 39; do platforms+=(--platform "manylinux_2_${v}_x86_64"); done
        log "downloading wheels for the root's Python $pyver with $pip"
        rm -rf "${root:?}$WHEELS" && mkdir -p "$root$WHEELS"
        requirements >"$root$WHEELS/requirements.txt"
        $pip download -q --only-binary=:all: --python-version "$pyver" --implementation cp \
            --platform manylinux2014_x86_64 "${platforms[@]}" -d "$root$WHEELS" -r "$root$WHEELS/requirements.txt"
        touch "$root$WHEELS/.complete"
    fi
    echo "$want" >"$stamp"

    # Install the project as the README says (pip install: its dependencies come from the system packages
    # where Debian has them, else from the downloaded wheels), from a fresh copy of this tree so every run
    # tests the current code.
    rm -rf "${root:?}$SRC"
    mkdir -p "$root$SRC"
    tar -C "$PROJECT" --exclude=./.venv --exclude=./.git --exclude='*.egg-info' --exclude=__pycache__ \
        --exclude=./build --exclude=./dist --exclude=./.ci --exclude=./bench --exclude=./tests -cf - . |
        tar -C "$root$SRC" -xf -
    "${in_root[@]}" "$VENV/bin/pip" --disable-pip-version-check --no-cache-dir -q install --no-build-isolation \
        --no-index --find-links "$WHEELS" -r "$WHEELS/requirements.txt" "$SRC"
    "${in_root[@]}" "$VENV/bin/python" -c "import gimp_gptimage, numpy, PIL, httpx, cv2, onnxruntime, qasync
from PyQt6 import QtWidgets"
    log "ready in $((SECONDS - started)) s: $root (GIMP $version, worker python $VENV/bin/python)"
}

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap/chroot/mount)"
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap on the host"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
fi
if [ $# -eq 0 ]; then set -- 3.0 3.2; fi
[ $# -eq 1 ] || [ -z "${GIMP_GPTIMAGE_ROOT:-}" ] || die "GIMP_GPTIMAGE_ROOT names one root: give one version"
for version in "$@"; do build_root "$version"; done
