#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh demo   set up once, then edit the bundled sample photo (embedded offline backend unless a
#                   provider is configured) and write the result to ./out
#   ./dev.sh test   set up once (virtual environment, system packages, the GIMP 3.0 and 3.2 test roots),
#                   then lint and run the whole test suite, real GIMP in both versions included
# Set-up is idempotent: a second run reuses what the first one built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

VENV=${GPTIMAGE_VENV:-.venv}
PY=${PYTHON:-python3}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_venv() {
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ -f "$stamp" ] && "$VENV/bin/python" -c 'import gimp_gptimage' 2>/dev/null; then
        return
    fi
    say "Creating the virtual environment in $VENV"
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
    rm -f "$VENV"/.installed-*
    touch "$stamp"
}

ensure_system_packages() {
    # Libraries Qt needs offscreen and on X (the desktop probe and the transient-window test run real xcb
    # windows on Xvfb; xprop reads what the X server holds), fonts for the Chinese UI, debootstrap for GIMP.
    local pkgs=(debootstrap xvfb xauth x11-utils fonts-noto-cjk libgl1 libegl1 libxkbcommon0 libfontconfig1
        libdbus-1-3 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xkb1 libxcb-image0
        libxcb-render-util0 libxcb-shape0)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -ne 0 ]; then
        say "Missing system packages (install them with sudo): ${missing[*]}"
        return 1
    fi
    say "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

case "${1:-}" in
    demo)
        ensure_venv
        shift
        exec "$VENV/bin/gimp-gptimage" edit resources/coffee.png \
            --selection resources/coffee-spoon-selection.png \
            --prompt "Remove the spoon; keep the saucer and the table as they are" \
            --out out "$@"
        ;;
    test)
        ensure_venv
        ensure_system_packages
        bash .ci/gimp-root.sh
        shift
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/basedpyright" --pythonpath "$VENV/bin/python"  # pyright, standard mode (pyproject.toml)
        exec "$VENV/bin/pytest" "$@"
        ;;
    *)
        echo "usage: ./dev.sh demo | test [pytest args]" >&2
        exit 2
        ;;
esac
