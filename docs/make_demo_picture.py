"""Regenerate docs/screenshots/demo-before-after.jpg: the README's demo, made by the product itself.

    .venv/bin/python docs/make_demo_picture.py

Runs `./dev.sh demo`'s edit (the CLI on the embedded offline engine, private settings and history folders)
and puts the photo before and the first result after side by side.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots" / "demo-before-after.jpg"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gptimage-demo-") as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("GPTIMAGE_API_KEY", "OPENAI_API_KEY")}
        env.update(XDG_CONFIG_HOME=f"{tmp}/config", XDG_DATA_HOME=f"{tmp}/data")
        subprocess.run(["bash", str(ROOT / "dev.sh"), "demo", "--out", f"{tmp}/out"], check=True, env=env, cwd=ROOT)
        before = Image.open(ROOT / "resources" / "coffee.png").convert("RGB")
        after = Image.open(f"{tmp}/out/coffee-1.png").convert("RGB")
    gap = 8
    picture = Image.new("RGB", (before.width * 2 + gap, before.height), "white")
    picture.paste(before, (0, 0))
    picture.paste(after, (before.width + gap, 0))
    picture.save(OUT, quality=88, optimize=True)
    print(OUT, f"{OUT.stat().st_size // 1024} KiB", file=sys.stderr)


if __name__ == "__main__":
    main()
