"""The GIMP side of the plug-in in real GIMP 3.0 and 3.2, with a stand-in worker (tests/gimp_fake_worker.py).

Proves what the plug-in itself must get right, independent of the model: what it exports (8-bit sRGB RGBA
for any precision/mode, selection coverage in layer coordinates, offsets), where and how results land
(exact pixels, masks, offsets, stacking, selection, grayscale), and how failures reach the caller.
All scenarios run in one GIMP launch; each test checks one scenario's report.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gimp_harness import GimpRoot, GimpSession, new_session, read_report, scenario_result

pytestmark = pytest.mark.gimp

PHOTO = Path(__file__).resolve().parent.parent / "resources" / "coffee.png"

BATCH = r"""
EDIT, GEN, FUSE = "python-fu-gptimage-edit", "python-fu-gptimage-generate", "python-fu-gptimage-fuse"


@scenario
def rgb_selection():
    image = Gimp.Image.new(300, 200, Gimp.ImageBaseType.RGB)
    source = pattern_layer(image, "Source", 300, 200)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 60, 40, 150, 100)
    Gimp.Selection.feather(image, 20)
    dump_selection(image, "rgb-selection.gray")
    before = dump(source, "rgb-source-before.rgba", "R'G'B'A u8")
    outcome = call(EDIT, image, [source], prompt="invert", n=2)
    return {"call": outcome, "stack": stack(image, "rgb"), "selected": selected(image)}


@scenario
def offset_half_float():
    image = Gimp.Image.new_with_precision(400, 300, Gimp.ImageBaseType.RGB, Gimp.Precision.HALF_LINEAR)
    pattern_layer(image, "Background", 400, 300)
    small = pattern_layer(image, "Small", 120, 80, x=250, y=180)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 200, 200, 100, 50)
    dump(small, "half-small.rgba", "R'G'B'A u8")
    outcome = call(EDIT, image, [small], prompt="invert", n=1)
    return {"call": outcome, "stack": stack(image, "half"), "precision": image.get_precision().value_nick}


@scenario
def grayscale():
    image = Gimp.Image.new(200, 150, Gimp.ImageBaseType.GRAY)
    source = pattern_layer(image, "Gray", 200, 150, kind=Gimp.ImageType.GRAYA_IMAGE)
    dump(source, "gray-source.rgba", "R'G'B'A u8")
    outcome = call(EDIT, image, [source], prompt="invert", n=1)
    return {"call": outcome, "stack": stack(image, "gray")}


@scenario
def generate_and_fuse():
    image = Gimp.Image.new(320, 240, Gimp.ImageBaseType.RGB)
    layers = [pattern_layer(image, "L%d" % i, 320, 240) for i in range(3)]
    generated = call(GEN, image, [], prompt="a red fox", n=1)
    after_generate = stack(image)
    fused = call(FUSE, image, layers, prompt="all together", n=1)
    return {"generate": generated, "after_generate": after_generate, "fuse": fused, "stack": stack(image, "fuse")}


@scenario
def windowed_export():
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(PHOTO))
    image.scale(3000, 2000)
    layer = image.get_layers()[0]
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 1400, 900, 100, 80)
    dump(layer, "window-layer.rgba", "R'G'B'A u8")
    first = call(EDIT, image, [layer], prompt="invert")
    second = call(EDIT, image, [layer], prompt="whole")
    return {"first": first, "second": second, "names": [lay.get_name() for lay in image.get_layers()]}


def transparent_layer(image, name, w, h, x, y, strokes):
    # A transparent layer with opaque red rectangles (x0, y0, x1, y1) drawn on it, at offset (x, y).
    layer = Gimp.Layer.new(image, name, w, h, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    layer.set_offsets(x, y)
    data = bytearray(w * h * 4)
    for x0, y0, x1, y1 in strokes:
        for row in range(y0, y1):
            data[(row * w + x0) * 4 : (row * w + x1) * 4] = bytes((255, 0, 0, 255)) * (x1 - x0)
    buf = layer.get_buffer()
    buf.set(rect(w, h), "R'G'B'A u8", bytes(data))
    buf.flush()
    return layer


@scenario
def markup_layer():
    image = Gimp.Image.new(300, 200, Gimp.ImageBaseType.RGB)
    photo = pattern_layer(image, "Photo", 240, 160, x=30, y=20)
    marks = transparent_layer(image, "Markup", 300, 200, -10, 0, [(100, 50, 200, 60), (0, 0, 5, 5)])
    dump(marks, "markup-layer.rgba", "R'G'B'A u8")
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 80, 40, 100, 60)
    # The painter just drew on the markup layer, so it is the active one: the layer below is edited.
    edited = call(EDIT, image, [marks], prompt="invert", model="gpt-image-2.6-flare", complexity="low")
    Gimp.Selection.none(image)
    fused = call(FUSE, image, [photo], prompt="fused", n=1)
    marks.set_visible(False)
    hidden = call(EDIT, image, [photo], prompt="invert")
    return {"edit": edited, "fuse": fused, "hidden": hidden, "stack": stack(image, "markup")}


@scenario
def failures():
    image = Gimp.Image.new(100, 80, Gimp.ImageBaseType.RGB)
    layer = pattern_layer(image, "Only", 100, 80)
    out = {
        "reported": call(EDIT, image, [layer], prompt="fail: Invalid size '123x45': use 1024x1024"),
        "crash": call(EDIT, image, [layer], prompt="crash"),
        "no_prompt": call(EDIT, image, [layer], prompt="   "),
    }
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 10, 10)
    layer.set_offsets(50, 50)
    out["selection_outside_layer"] = call(EDIT, image, [layer], prompt="invert")
    Gimp.Selection.none(image)
    indexed = Gimp.Image.new(64, 64, Gimp.ImageBaseType.RGB)
    idx_layer = pattern_layer(indexed, "Idx", 64, 64)
    indexed.convert_indexed(Gimp.ConvertDitherType.NONE, Gimp.ConvertPaletteType.GENERATE, 16, False, False, "")
    out["indexed"] = call(EDIT, indexed, [idx_layer], prompt="invert")
    out["stack"] = stack(image)
    return out
"""


@pytest.fixture(scope="module")
def run(gimp_root: GimpRoot) -> Iterator[tuple[GimpSession, dict]]:
    session = new_session(gimp_root)
    shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
    installed = session.install_fake_worker()
    assert installed.returncode == 0, installed.stderr
    prelude = f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}\n"
    proc = session.run_batch(prelude + BATCH, {"GPTIMAGE_FAKE_OUT": f"{session.inner_dir}/out"})
    report = read_report(session.host_dir / "out" / "report.json", proc)
    yield session, report
    session.remove()


def raw(session: GimpSession, name: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(session.host_dir / "out" / name, dtype=np.uint8).reshape(shape)


def jobs(session: GimpSession, command: str) -> list[dict]:
    """What the stand-in worker saw, per run of `command`; files it copied are OUT/<tag>-<name>."""
    records = [json.loads(p.read_text()) for p in sorted((session.host_dir / "out").glob("job-*.json"))]
    return [r for r in records if r["job"]["command"] == command]


def test_edit_exports_selection_and_inserts_masked_results(run) -> None:
    session, report = run
    r = scenario_result(report, "rgb_selection")
    assert r["call"]["status"] == "success", r["call"]
    names = [layer["name"] for layer in r["stack"]]
    assert names == ["invert #2", "invert #1", "Source"]  # each result directly above the previous
    assert r["selected"] == ["Source"]  # a second edit reads the same layer, not a result

    job = next(j for j in jobs(session, "edit") if j["job"]["layer"]["name"] == "Source")
    assert job["argv"][:2] == ["-m", "gimp_gptimage.worker"]
    assert job["mode"] == "0o700"
    assert not (session.host(job["dir"])).exists(), "the job folder must be removed"
    spec = job["job"]
    assert spec["image"] == {"name": spec["image"]["name"], "width": 300, "height": 200, "base_type": "rgb"}
    assert spec["layer"]["offset_x"] == 0 and spec["selection"] == {"file": "selection.gray"}
    assert spec["params"] == {
        "prompt": "invert",
        "n": 2,
        "model": "",
        "size": "",
        "quality": "",
        "complexity": "",
        "base_url": "",
    }
    assert "markup" not in spec  # the image has no markup layer

    selection = raw(session, "rgb-selection.gray", (200, 300))
    assert np.array_equal(raw(session, f"{job['tag']}-selection.gray", (200, 300)), selection)
    assert 0 < selection[100, 60 - 15] < 255, "feathered edge must be soft"
    source = raw(session, "rgb-source-before.rgba", (200, 300, 4))
    assert np.array_equal(raw(session, "rgb-2.rgba", (200, 300, 4)), source), "source layer must be untouched"

    ys, xs = np.nonzero(selection)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    for i, layer in enumerate(r["stack"][:2]):
        assert (layer["x"], layer["y"], layer["w"], layer["h"]) == (x0, y0, x1 - x0, y1 - y0)
        assert layer["has_mask"] and not layer["gray"]
        pixels = raw(session, f"rgb-{i}.rgba", (layer["h"], layer["w"], 4))
        expected = 255 - source[y0:y1, x0:x1, :3]
        assert np.array_equal(pixels[..., :3], expected)
        assert np.array_equal(raw(session, f"rgb-{i}.mask", (layer["h"], layer["w"])), selection[y0:y1, x0:x1])


def test_offset_layer_in_half_float_image(run) -> None:
    session, report = run
    r = scenario_result(report, "offset_half_float")
    assert r["precision"] == "half-linear"
    assert r["call"]["status"] == "success", r["call"]
    (job,) = [j for j in jobs(session, "edit") if j["job"]["layer"]["name"] == "Small"]
    layer = job["job"]["layer"]
    assert (layer["width"], layer["height"], layer["offset_x"], layer["offset_y"]) == (120, 80, 250, 180)
    small = raw(session, "half-small.rgba", (80, 120, 4))
    exported = raw(session, f"{job['tag']}-layer.rgba", (80, 120, 4))
    assert np.array_equal(exported, small), "the 8-bit export must match GIMP's own 8-bit view"
    selection = raw(session, f"{job['tag']}-selection.gray", (80, 120))
    # The canvas selection (200..300, 200..250) in layer coordinates is x -50..50, y 20..70: clipped to the layer.
    assert selection[20:70, 0:50].min() == 255 and selection[:20].max() == 0 and selection[:, 50:].max() == 0
    top = r["stack"][0]
    assert top["name"] == "invert #1"
    assert (top["x"], top["y"], top["w"], top["h"]) == (250, 200, 50, 50)
    pixels = raw(session, "half-0.rgba", (50, 50, 4)).astype(int)
    expected = 255 - small[20:70, 0:50, :3].astype(int)
    assert np.abs(pixels[..., :3] - expected).max() <= 2  # one trip through half-float linear light


def test_grayscale_image_gets_grayscale_layer(run) -> None:
    session, report = run
    r = scenario_result(report, "grayscale")
    assert r["call"]["status"] == "success", r["call"]
    (job,) = [j for j in jobs(session, "edit") if j["job"]["image"]["base_type"] == "gray"]
    assert job["job"]["selection"] is None  # nothing selected: the whole layer
    top = r["stack"][0]
    assert top["gray"] and (top["w"], top["h"]) == (200, 150)
    source = raw(session, "gray-source.rgba", (150, 200, 4))
    assert np.array_equal(source[..., 0], source[..., 1]), "the export of a gray layer is gray RGBA"
    pixels = raw(session, "gray-0.rgba", (150, 200, 4)).astype(int)
    assert np.abs(pixels[..., 0] - (255 - source[..., 0].astype(int))).max() <= 1


def test_generate_and_fuse(run) -> None:
    session, report = run
    r = scenario_result(report, "generate_and_fuse")
    assert r["generate"]["status"] == "success", r["generate"]
    assert r["after_generate"][0]["name"] == "generate #1"
    assert (r["after_generate"][0]["x"], r["after_generate"][0]["y"]) == (5, 7)
    (gen,) = jobs(session, "generate")
    assert gen["job"]["layer"] is None and gen["job"]["references"] == []
    assert r["fuse"]["status"] == "success", r["fuse"]
    (fuse,) = [j for j in jobs(session, "fuse") if j["job"]["layer"]["name"] == "L0"]  # the session fuses twice
    assert fuse["job"]["layer"]["name"] == "L0"
    assert [ref["name"] for ref in fuse["job"]["references"]] == ["L1", "L2"]
    names = [layer["name"] for layer in r["stack"]]
    assert names == ["generate #1", "L2", "L1", "fuse #1", "L0"]  # the fused result sits on the active layer
    fused = r["stack"][3]
    assert not fused["has_mask"]
    assert raw(session, "fuse-3.rgba", (32, 64, 4))[0, 0].tolist() == [2, 20, 30, 255]  # red = 2 references


def test_failures_reach_the_caller_as_messages(run) -> None:
    _, report = run
    r = scenario_result(report, "failures")
    for case in ("reported", "crash", "no_prompt", "selection_outside_layer", "indexed"):
        assert r[case]["status"] == "execution-error", (case, r[case])
        assert "Traceback" not in (r[case]["error"] or "")
    assert r["reported"]["error"] == "Invalid size '123x45': use 1024x1024"
    assert "exit code 3" in r["crash"]["error"] and "simulated crash" in r["crash"]["error"]
    assert "prompt is required" in r["no_prompt"]["error"]
    assert "does not touch the layer 'Only'" in r["selection_outside_layer"]["error"]
    assert "indexed" in r["indexed"]["error"]
    assert [layer["name"] for layer in r["stack"]] == ["Only"], "failed runs add nothing"


def test_batch_edit_exports_a_window_and_the_whole_layer_on_request(run) -> None:
    session, report = run
    r = scenario_result(report, "windowed_export")
    assert r["first"]["status"] == "success", r["first"]
    assert r["second"]["status"] == "success", r["second"]
    first, second = [j for j in jobs(session, "edit") if j["job"]["layer"]["width"] == 3000]
    expected = raw(session, "window-layer.rgba", (2000, 3000, 4))
    x, y, w, h = first["job"]["layer"]["window"]
    assert x <= 1400 and y <= 900 and x + w >= 1500 and y + h >= 980 and w * h < 3000 * 2000 / 2
    exported = raw(session, f"{first['tag']}-layer.rgba", (2000, 3000, 4))
    assert np.array_equal(exported[y : y + h, x : x + w], expected[y : y + h, x : x + w])
    exported[y : y + h, x : x + w] = 0
    assert exported.max() == 0, "outside the window the file is empty"
    assert np.array_equal(raw(session, f"{second['tag']}-whole-layer.rgba", (2000, 3000, 4)), expected)
    assert len(r["names"]) == 3  # both runs added their layer (GIMP keeps layer names unique)


def test_markup_layer_is_exported_over_the_edited_layer_and_never_a_reference(run) -> None:
    session, report = run
    r = scenario_result(report, "markup_layer")
    for case in ("edit", "fuse", "hidden"):
        assert r[case]["status"] == "success", (case, r[case])
    edit, hidden = [j for j in jobs(session, "edit") if j["job"]["layer"]["name"] == "Photo"]
    spec = edit["job"]
    assert spec["layer"]["name"] == "Photo"  # the markup layer was active; the layer below it is edited
    assert spec["params"]["model"] == "gpt-image-2.6-flare" and spec["params"]["complexity"] == "low"
    markup = spec["markup"]
    assert (markup["name"], markup["width"], markup["height"]) == ("Markup", 240, 160)
    assert (markup["offset_x"], markup["offset_y"]) == (30, 20) and "window" not in markup
    # Photo pixel (x, y) lies on markup-layer pixel (x + 40, y + 20): the layers' offsets differ by that much.
    drawn = raw(session, "markup-layer.rgba", (200, 300, 4))
    assert np.array_equal(raw(session, f"{edit['tag']}-markup.rgba", (160, 240, 4)), drawn[20:180, 40:280])
    assert "markup" not in hidden["job"]  # a hidden markup layer is left out
    (fuse,) = [j for j in jobs(session, "fuse") if j["job"]["layer"]["name"] == "Photo"]
    assert fuse["job"]["layer"]["name"] == "Photo" and fuse["job"]["references"]  # the other visible layers...
    assert "Markup" not in [ref["name"] for ref in fuse["job"]["references"]]  # ...but never the markup
    names = [layer["name"] for layer in r["stack"]]
    assert names[0] == "Markup" and names[-1] == "Photo"  # results go above the photo, under the markup
    top = r["stack"][0]
    assert np.array_equal(raw(session, "markup-0.rgba", (top["h"], top["w"], 4)), drawn), "markup untouched"
