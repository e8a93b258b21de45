#!/usr/bin/python3
"""A stand-in for `python -m gimp_gptimage.worker JOB_DIR` that checks the GIMP side alone (stdlib only).

Installed as the "worker Python" of a test plug-in, it is called as `fake -m gimp_gptimage.worker JOB_DIR`.
It copies job.json and the job folder's mode to OUT (env GPTIMAGE_FAKE_OUT), then answers by prompt:
- "whole": asks GIMP for the whole layer (need-full-layer), copies it to OUT, then answers as "invert";
- "invert": for each of n results, the layer's pixels inside the selection's bounding box with RGB
  inverted, alpha 255, masked by the selection itself, at layer offset + box origin;
- "fail: MESSAGE": done.json with ok false and MESSAGE;
- "crash": exits with status 3 without done.json;
- "echo:X,Y,W,H": one result, the layer's own pixels in that box (layer coordinates), masked by the selection
  (as fast as a worker can answer: the benchmark's stand-in for a zero-cost model);
- anything else (generate/fuse): one 64 x 32 opaque layer at (5, 7) whose red channel = reference count.

The protocol's names and writers come from the plug-in's own gptimage_protocol, as in the real worker: `copy_to`
puts both files side by side wherever the stand-in is to run.
"""

import json
import os
import shutil
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_IPC = _HERE.parent / "gimp_gptimage" / "plugin" / "gptimage" / "gptimage_protocol.py"
sys.path[:0] = [str(_HERE), str(_IPC.parent)]
import gptimage_protocol as ipc  # noqa: E402


def copy_to(folder: Path, python: str) -> Path:
    """This stand-in as an executable `folder/fake-python` run by `python`, with the protocol module beside it."""
    fake = folder / "fake-python"
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    fake.write_text("\n".join([f"#!{python}", *lines[1:]]) + "\n", encoding="utf-8")
    fake.chmod(0o755)
    shutil.copyfile(_IPC, folder / _IPC.name)
    return fake


def put(job_dir: Path, index: int, name: str, w: int, h: int, x: int, y: int, rgba: bytes, mask: bytes | None) -> None:
    ipc.write_outbox_result(job_dir, index, name=name, width=w, height=h, offset=(x, y), pixels=rgba, mask=mask)


def selection_box(sel: bytes, w: int, h: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = w, h, 0, 0
    for row in range(h):
        line = sel[row * w : (row + 1) * w]
        stripped = line.lstrip(b"\0")
        if not stripped:
            continue
        x1 = min(x1, w - len(stripped))
        x2 = max(x2, len(line.rstrip(b"\0")))
        y1, y2 = min(y1, row), row + 1
    return x1, y1, x2 - x1, y2 - y1


def invert(job_dir: Path, job: dict) -> None:
    layer = job["layer"]
    lw, lh = layer["width"], layer["height"]
    pixels = (job_dir / layer["file"]).read_bytes()
    sel = (job_dir / job["selection"]["file"]).read_bytes() if job["selection"] else b"\xff" * (lw * lh)
    x, y, w, h = selection_box(sel, lw, lh)
    for i in range(job["params"]["n"]):
        rgba = bytearray()
        mask = bytearray()
        for row in range(y, y + h):
            src = pixels[(row * lw + x) * 4 : (row * lw + x + w) * 4]
            out = bytearray(255 - b for b in src)
            out[3::4] = b"\xff" * w
            rgba += out
            mask += sel[row * lw + x : row * lw + x + w]
        put(
            job_dir, i, f"invert #{i + 1}", w, h, layer["offset_x"] + x, layer["offset_y"] + y, bytes(rgba), bytes(mask)
        )


def echo(job_dir: Path, job: dict, x: int, y: int, w: int, h: int) -> None:
    layer = job["layer"]
    lw = layer["width"]
    with open(job_dir / layer["file"], "rb") as f:
        rows = []
        for row in range(y, y + h):
            f.seek((row * lw + x) * 4)
            rows.append(f.read(w * 4))
    mask = None
    if job["selection"]:
        with open(job_dir / job["selection"]["file"], "rb") as f:
            parts = []
            for row in range(y, y + h):
                f.seek(row * lw + x)
                parts.append(f.read(w))
        mask = b"".join(parts)
    put(job_dir, 0, "echo #1", w, h, layer["offset_x"] + x, layer["offset_y"] + y, b"".join(rows), mask)


def main() -> int:
    job_dir = Path(sys.argv[-1])
    out = Path(os.environ["GPTIMAGE_FAKE_OUT"])
    for _ in range(6000):  # like the real worker: start first, wait for job.json (written last)
        if (job_dir / ipc.JOB_FILE).exists():
            break
        time.sleep(0.01)
    job = json.loads((job_dir / ipc.JOB_FILE).read_text())
    problem = ipc.version_problem(job)
    if problem is not None:
        ipc.write_done(job_dir, problem)
        return 0
    prompt = job["params"]["prompt"]
    tag = f"{len(list(out.glob('job-*.json'))):02d}"
    record = {"tag": tag, "job": job, "dir": str(job_dir), "mode": oct(job_dir.stat().st_mode & 0o777)}
    record["argv"] = sys.argv[1:]
    (out / f"job-{tag}.json").write_text(json.dumps(record))
    for name in os.listdir(job_dir) if not prompt.startswith("echo:") else []:
        if name.endswith((".rgba", ".gray")):
            shutil.copyfile(job_dir / name, out / f"{tag}-{name}")
    if prompt == "crash":
        print("fake worker: simulated crash", file=sys.stderr)
        return 3
    if prompt.startswith("fail: "):
        ipc.write_done(job_dir, prompt[6:])
        return 0
    if prompt == "whole":  # ask GIMP for the whole layer, as the real worker does when its context needs it
        (job_dir / ipc.FULL_LAYER_REQUEST).touch()
        while not (job_dir / ipc.FULL_LAYER_READY).exists():
            time.sleep(0.01)
        shutil.copyfile(job_dir / "layer.rgba", out / f"{tag}-whole-layer.rgba")
        invert(job_dir, job)
    elif prompt == "invert":
        invert(job_dir, job)
    elif prompt.startswith("echo:"):
        echo(job_dir, job, *(int(v) for v in prompt[5:].split(",")))
    else:
        red = len(job["references"])
        put(job_dir, 0, f"{job['command']} #1", 64, 32, 5, 7, bytes([red, 20, 30, 255]) * (64 * 32), None)
    ipc.write_done(job_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
