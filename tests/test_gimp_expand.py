"""Expand Canvas in real GIMP 3 (GUI on Xvfb, for the undo): plug-in, worker, local server over real HTTP.

- the arguments give the new shape: the plug-in resizes the canvas itself; a layer covers the new canvas
  with its mask exactly over the new area; the source layer is untouched; one Ctrl+Z restores the old canvas
  and removes the layer, one redo brings both back;
- the canvas was enlarged first (Image > Canvas Size): the uncovered part is filled, the canvas stays;
- per-side pixels on a grayscale image; and the refusals (nothing to fill, beyond 3:1) change nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gimp_harness import GimpRoot, GimpSession, new_session, read_report, scenario_result

from gimp_gptimage.server import LocalServer

pytestmark = pytest.mark.gimp

PHOTO = Path(__file__).resolve().parent.parent / "resources" / "coffee.png"

COMMON = r"""
import subprocess

EXPAND = "python-fu-gptimage-expand"


def photo(w, h):
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(PHOTO))
    image.scale(w, h)
    return image, image.get_layers()[0]


def press(keys, title):
    argv = ["xdotool", "search", "--sync", "--name", title, "windowfocus", "--sync", "key", "--clearmodifiers", keys]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return [done.returncode, done.stdout, done.stderr]


def shape(image):
    return [image.get_width(), image.get_height(), len(image.get_layers())]


def wait_for_change(image, before, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline and shape(image) == before:
        time.sleep(0.05)
    return shape(image)
"""

GUI_BATCH = r"""
@scenario
def by_ratio_then_undo():
    image, source = photo(400, 300)
    Gimp.Display.new(image)
    Gimp.displays_flush()
    dump(source, "ratio-before.rgba", "R'G'B'A u8")
    outcome = call(EXPAND, image, [source], aspect="16-9", anchor="left", base_url=BASE_URL)
    after_run = shape(image)
    report = {"call": outcome, "after_run": after_run, "stack": stack(image, "ratio"),
              "source_after": dump(source, "ratio-after.rgba", "R'G'B'A u8"), "selected": selected(image)}
    undo_key = press("ctrl+z", "%dx%d" % tuple(after_run[:2]))
    report["after_undo"] = wait_for_change(image, after_run)
    redo_key = press("ctrl+y", "400x300")
    report["after_redo"] = wait_for_change(image, report["after_undo"])
    report["keys"] = [undo_key, redo_key]
    return report
"""

CONSOLE_BATCH = r"""
@scenario
def canvas_enlarged_first():
    image, source = photo(400, 300)
    image.resize(480, 300, 40, 0)  # Image > Canvas Size: 40 px more on the left and on the right
    dump(source, "uncovered-before.rgba", "R'G'B'A u8")
    outcome = call(EXPAND, image, [source], prompt="more table", base_url=BASE_URL)
    return {"call": outcome, "size": shape(image), "stack": stack(image, "uncovered"),
            "source_after": dump(source, "uncovered-after.rgba", "R'G'B'A u8")}


@scenario
def per_side_grayscale():
    image, source = photo(400, 300)
    image.convert_grayscale()
    outcome = call(EXPAND, image, [source], top=50, bottom=20, base_url=BASE_URL)
    return {"call": outcome, "size": shape(image), "stack": stack(image, "gray")}


@scenario
def refusals():
    image, source = photo(400, 300)
    nothing = call(EXPAND, image, [source], base_url=BASE_URL)
    too_far = call(EXPAND, image, [source], left=5000, base_url=BASE_URL)
    return {"nothing": nothing, "too_far": too_far, "size": shape(image)}
"""


@pytest.fixture(scope="module")
def run(gimp_root: GimpRoot) -> Iterator[dict]:
    """Undo needs the GUI (keys pressed with xdotool); everything else runs in gimp-console, where a failed
    procedure's message reaches the caller as in the other GIMP suites. Two sessions, one report."""
    sessions = [new_session(gimp_root), new_session(gimp_root)]
    report: dict = {}
    with LocalServer() as server:
        for session, batch, gui in ((sessions[0], GUI_BATCH, True), (sessions[1], CONSOLE_BATCH, False)):
            shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
            installed = session.install_plugin()
            assert installed.returncode == 0, installed.stdout + installed.stderr
            prelude = f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}\nBASE_URL = {server.base_url!r}\n"
            runner = session.run_gui_batch if gui else session.run_batch
            proc = runner(prelude + COMMON + batch, {"GPTIMAGE_API_KEY": "local-test-key"}, timeout=400)
            report |= {k: (session, v) for k, v in read_report(session.host_dir / "out" / "report.json", proc).items()}
    yield report
    for session in sessions:
        session.remove()


def scenario(report: dict, name: str) -> tuple[GimpSession, dict]:
    session, _ = report.get(name, (None, None))
    return session, scenario_result({k: v for k, (_, v) in report.items()}, name)


def raw(session: GimpSession, name: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(session.host_dir / "out" / name, dtype=np.uint8).reshape(shape)


def new_area(width: int, height: int, x: int, y: int, w: int, h: int) -> np.ndarray:
    area = np.ones((height, width), bool)
    area[y : y + h, x : x + w] = False
    return area


def test_ratio_resizes_the_canvas_and_one_undo_restores_it(run) -> None:
    session, r = scenario(run, "by_ratio_then_undo")
    assert r["call"]["status"] == "success", r["call"]
    assert r["after_run"] == [533, 300, 2]
    top, source = r["stack"]
    assert (top["x"], top["y"], top["w"], top["h"], top["has_mask"]) == (0, 0, 533, 300, True)
    assert top["name"] == "continue the scene #1" and r["selected"] == [top["name"]]
    assert (source["x"], source["y"], source["w"], source["h"]) == (0, 0, 400, 300)  # anchored left
    before = raw(session, "ratio-before.rgba", (300, 400, 4))
    assert np.array_equal(raw(session, "ratio-after.rgba", (300, 400, 4)), before), "source must be untouched"
    pixels, mask = raw(session, top["pixels"], (300, 533, 4)), raw(session, top["mask"], (300, 533))
    new = new_area(533, 300, 0, 0, 400, 300)
    assert (mask[new] == 255).all() and (mask[~new] == 0).all()
    assert (pixels[new][:, 3] == 255).all() and pixels[new][:, :3].std() > 3
    assert np.array_equal(pixels[:, :400], before)
    assert r["after_undo"] == [400, 300, 1], ("one Ctrl+Z restores canvas and layers", r["keys"])
    assert r["after_redo"] == [533, 300, 2], "one redo brings both back"


def test_a_canvas_enlarged_first_gets_its_uncovered_part_filled(run) -> None:
    session, r = scenario(run, "canvas_enlarged_first")
    assert r["call"]["status"] == "success", r["call"]
    assert r["size"] == [480, 300, 2]
    top, source = r["stack"]
    assert (top["x"], top["y"], top["w"], top["h"]) == (0, 0, 480, 300) and top["name"] == "more table #1"
    assert (source["x"], source["y"]) == (40, 0)
    before = raw(session, "uncovered-before.rgba", (300, 400, 4))
    assert np.array_equal(raw(session, "uncovered-after.rgba", (300, 400, 4)), before)
    mask = raw(session, top["mask"], (300, 480))
    new = new_area(480, 300, 40, 0, 400, 300)
    assert (mask[new] == 255).all() and (mask[~new] == 0).all()


def test_per_side_pixels_on_a_grayscale_image(run) -> None:
    session, r = scenario(run, "per_side_grayscale")
    assert r["call"]["status"] == "success", r["call"]
    assert r["size"] == [400, 370, 2]
    top, source = r["stack"]
    assert top["gray"] and (top["w"], top["h"]) == (400, 370) and (source["x"], source["y"]) == (0, 50)
    mask = raw(session, top["mask"], (370, 400))
    new = new_area(400, 370, 0, 50, 400, 300)
    assert (mask[new] == 255).all() and (mask[~new] == 0).all()


def test_refusals_are_one_line_and_change_nothing(run) -> None:
    _, r = scenario(run, "refusals")
    assert r["nothing"]["status"] == "execution-error", r
    assert "already covers the canvas" in (r["nothing"]["error"] or ""), r
    assert r["too_far"]["status"] == "execution-error", r
    assert "more than 3:1" in (r["too_far"]["error"] or ""), r
    assert "\n" not in (r["nothing"]["error"] or "") + (r["too_far"]["error"] or ""), r
    assert r["size"] == [400, 300, 1], r
