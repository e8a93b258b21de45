"""The whole product in real GIMP 3.0 and 3.2: plug-in, worker (the root's venv), local server over real HTTP.

The local server runs in this test process on 127.0.0.1; the Debian root shares the network, so the
worker started by GIMP inside the root reaches it through the procedures' `base-url` argument. All
scenarios run in one GIMP launch; each test checks one scenario's report.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from gimp_harness import GimpRoot, GimpSession, new_session, read_report, scenario_result

from gimp_gptimage.pipeline import ContextOptions, prepare_edit
from gimp_gptimage.server import Fault, LocalServer

pytestmark = pytest.mark.gimp

MODERATION_MESSAGE = "Your request was rejected as a result of our safety system."
PHOTO = Path(__file__).resolve().parent.parent / "resources" / "coffee.png"

BATCH = r"""
EDIT, GEN, FUSE = "python-fu-gptimage-edit", "python-fu-gptimage-generate", "python-fu-gptimage-fuse"


def photo(w, h):
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(PHOTO))
    image.scale(w, h)
    return image, image.get_layers()[0]


@scenario
def photo_two_results():
    image, source = photo(1600, 1200)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 520, 380, 560, 420)
    Gimp.Selection.feather(image, 40)
    dump_selection(image, "photo-selection.gray")
    dump(source, "photo-before.rgba", "R'G'B'A u8")
    outcome = call(EDIT, image, [source], prompt="a steaming teapot", n=2, base_url=BASE_URL)
    layers = image.get_layers()
    return {"call": outcome, "stack": [describe(lay, "photo-%d" % i) for i, lay in enumerate(layers[:2])]
            + [describe(lay) for lay in layers[2:]], "after": dump(layers[-1], "photo-after.rgba", "R'G'B'A u8"),
            "selected": selected(image)}


@scenario
def half_float():
    image, source = photo(800, 600)
    image.convert_precision(Gimp.Precision.HALF_LINEAR)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 200, 150, 300, 200)
    outcome = call(EDIT, image, [source], prompt="a blue cup", n=1, base_url=BASE_URL)
    return {"call": outcome, "stack": stack(image), "precision": image.get_precision().value_nick}


@scenario
def grayscale():
    image, source = photo(800, 600)
    image.convert_grayscale()
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 100, 100, 300, 200)
    outcome = call(EDIT, image, [source], prompt="a spoon", n=1, base_url=BASE_URL)
    return {"call": outcome, "stack": stack(image, "gray")}


@scenario
def small_offset_layer():
    image = Gimp.Image.new(800, 600, Gimp.ImageBaseType.RGB)
    pattern_layer(image, "Background", 800, 600)
    small = pattern_layer(image, "Small", 400, 300, x=300, y=200)
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 200, 300, 300, 200)  # sticks out of the small layer
    dump_selection(image, "small-selection.gray")
    dump(small, "small-layer.rgba", "R'G'B'A u8")
    outcome = call(EDIT, image, [small], prompt="a door", n=1, base_url=BASE_URL)
    return {"call": outcome, "stack": stack(image, "small")}


@scenario
def generate():
    image = Gimp.Image.new(640, 480, Gimp.ImageBaseType.RGB)
    pattern_layer(image, "Background", 640, 480)
    outcome = call(GEN, image, [], prompt="a lighthouse at dusk", n=1, base_url=BASE_URL)
    return {"call": outcome, "stack": stack(image), "selected": selected(image)}


@scenario
def fuse_three():
    image, first = photo(512, 384)
    second = pattern_layer(image, "Second", 512, 384)
    third = pattern_layer(image, "Third", 256, 192, x=100, y=50)
    outcome = call(FUSE, image, [first, second, third], prompt="one picture of all three", n=1, base_url=BASE_URL)
    return {"call": outcome, "stack": stack(image)}


@scenario
def interactive_without_qt():
    # Installed from a Python without PyQt6: an interactive run must reach the worker and come back with the
    # reason. The plug-in reads the recorded Python at each run, so this scenario points it elsewhere.
    record = os.path.join(GIMP_DIR, "plug-ins", "gptimage", "gptimage_python.json")
    with open(record) as f:
        installed = f.read()
    with open(record, "w") as f:
        json.dump({"python": NO_QT_PYTHON}, f)
    image, source = photo(400, 300)
    proc = PDB.lookup_procedure(EDIT)
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [source])
    result = proc.run(cfg)
    with open(record, "w") as f:
        f.write(installed)
    return {"status": result.index(0).value_nick, "error": PDB.get_last_error(), "layers": len(image.get_layers())}


@scenario
def markup_round_trip():
    image, source = photo(800, 600)
    marks = Gimp.Layer.new(image, "markup", 800, 600, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(marks, None, 0)
    data = bytearray(800 * 600 * 4)  # transparent, with one red stroke across the cup
    for row in range(280, 292):
        data[(row * 800 + 300) * 4 : (row * 800 + 500) * 4] = bytes((255, 0, 0, 255)) * 200
    buf = marks.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, 800, 600), "R'G'B'A u8", bytes(data))
    buf.flush()
    dump(marks, "markup-drawn.rgba", "R'G'B'A u8")
    image.select_ellipse(Gimp.ChannelOps.REPLACE, 250, 200, 300, 200)
    dump_selection(image, "markup-selection.gray")
    outcome = call(
        EDIT, image, [marks], prompt="make the marked cup red", model="gpt-image-2.6-sunburst", base_url=BASE_URL
    )
    return {"call": outcome, "stack": stack(image, "markup")}


@scenario
def api_error():
    image, source = photo(400, 300)
    invalid = call(EDIT, image, [source], prompt="anything", size="123x45", base_url=BASE_URL)
    refused = call(EDIT, image, [source], prompt="anything", base_url=REFUSING_URL)
    return {"call": invalid, "refused": refused, "stack": stack(image)}
"""


@pytest.fixture(scope="module")
def run(gimp_root: GimpRoot) -> Iterator[tuple[GimpSession, dict]]:
    session = new_session(gimp_root)
    shutil.copyfile(PHOTO, session.host_dir / PHOTO.name)
    installed = session.install_plugin()
    assert installed.returncode == 0, installed.stdout + installed.stderr
    no_qt = session.venv_without_qt()
    refusal = Fault("status", status=400, message=MODERATION_MESSAGE, code="moderation_blocked", times=10)
    with LocalServer() as server, LocalServer(faults=[refusal]) as refusing:
        prelude = (
            f"PHOTO = {session.inner_dir + '/' + PHOTO.name!r}\nBASE_URL = {server.base_url!r}\n"
            f"REFUSING_URL = {refusing.base_url!r}\nGIMP_DIR = {session.gimp_dir!r}\nNO_QT_PYTHON = {no_qt!r}\n"
        )
        # The local server takes any key; a custom base URL needs one to be set.
        proc = session.run_batch(prelude + BATCH, {"GPTIMAGE_API_KEY": "local-test-key"}, timeout=400)
    report = read_report(session.host_dir / "out" / "report.json", proc)
    yield session, report
    session.remove()


def raw(session: GimpSession, name: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(session.host_dir / "out" / name, dtype=np.uint8).reshape(shape)


def check_success(r: dict) -> None:
    assert r["call"]["status"] == "success", r["call"]


def test_photo_selection_two_masked_layers_exactly_placed(run) -> None:
    session, report = run
    r = scenario_result(report, "photo_two_results")
    check_success(r)
    names = [layer["name"] for layer in r["stack"]]
    assert sorted(names[:2]) == ["a steaming teapot #1", "a steaming teapot #2"] and len(names) == 3
    assert r["selected"] == names[2:]  # the source stays selected: a second edit reads it again

    selection = raw(session, "photo-selection.gray", (1200, 1600))
    before = raw(session, "photo-before.rgba", (1200, 1600, 4))
    assert np.array_equal(raw(session, "photo-after.rgba", (1200, 1600, 4)), before), "source must be untouched"

    # Independently recompute where the pipeline must place the result for this layer and selection.
    options = ContextOptions()
    prep = prepare_edit(before, selection, model="gpt-image-2", size="auto", options=options)
    x, y, w, h = prep.region
    outside = cv2.distanceTransform(np.where(selection > 0, 0, 255).astype(np.uint8), cv2.DIST_L2, 5)
    for i, layer in enumerate(r["stack"][:2]):
        assert (layer["x"], layer["y"], layer["w"], layer["h"]) == (x, y, w, h)
        assert layer["has_mask"] and not layer["gray"]
        mask = raw(session, f"photo-{i}.mask", (h, w))
        far = outside[y : y + h, x : x + w] > options.blend_margin_px + 1
        assert mask[far].max() == 0, "the mask must be zero outside the selection plus its margin"
        assert mask[selection[y : y + h, x : x + w] == 255].min() == 255
        pixels = raw(session, f"photo-{i}.rgba", (h, w, 4))
        assert not np.array_equal(pixels[..., :3], before[y : y + h, x : x + w, :3]), "the model's pixels"
    # Both results were kept in the user's history before GIMP saw them.
    folders = [p.parent for p in session.host_dir.glob("home/data/gimp-gptimage/history/*/record.json")]
    (entry,) = [f for f in folders if "a steaming teapot" in (f / "record.json").read_text()]
    assert len(list(entry.glob("result-*.png"))) == 2


def test_half_float_image(run) -> None:
    _, report = run
    r = scenario_result(report, "half_float")
    check_success(r)
    assert r["precision"] == "half-linear"
    top = r["stack"][0]
    assert top["name"] == "a blue cup #1" and top["has_mask"]
    # The region covers the rectangular selection (200..500, 150..350).
    assert top["x"] <= 200 and top["y"] <= 150 and top["x"] + top["w"] >= 500 and top["y"] + top["h"] >= 350


def test_grayscale_image_gets_grayscale_layer(run) -> None:
    session, report = run
    r = scenario_result(report, "grayscale")
    check_success(r)
    top = r["stack"][0]
    assert top["gray"] and top["has_mask"]
    pixels = raw(session, "gray-0.rgba", (top["h"], top["w"], 4))
    assert np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2])


def test_layer_offset_from_and_smaller_than_canvas(run) -> None:
    session, report = run
    r = scenario_result(report, "small_offset_layer")
    check_success(r)
    top = r["stack"][0]
    assert top["name"] == "a door #1" and r["stack"][1]["name"] == "Small"
    # Placed inside the small layer (300..700, 200..500), covering the selection's part inside it.
    selection = raw(session, "small-selection.gray", (600, 800))[200:500, 300:700]
    ys, xs = np.nonzero(selection)
    assert 300 <= top["x"] <= 300 + xs.min() and top["x"] + top["w"] >= 300 + xs.max() + 1
    assert 200 <= top["y"] <= 200 + ys.min() and top["y"] + top["h"] >= 200 + ys.max() + 1
    assert top["x"] + top["w"] <= 700 and top["y"] + top["h"] <= 500
    layer = raw(session, "small-layer.rgba", (300, 400, 4))
    prep = prepare_edit(
        layer, selection, model="gpt-image-2", size="auto", options=ContextOptions(), layer_offset=(300, 200)
    )
    x, y, w, h = prep.region
    assert (top["x"], top["y"], top["w"], top["h"]) == (300 + x, 200 + y, w, h)


def test_generate_into_new_layer(run) -> None:
    _, report = run
    r = scenario_result(report, "generate")
    check_success(r)
    top = r["stack"][0]
    assert (top["name"], top["x"], top["y"], top["w"], top["h"]) == ("a lighthouse at dusk #1", 0, 0, 640, 480)
    assert not top["has_mask"] and r["selected"] == [top["name"]]


def test_fuse_three_layers(run) -> None:
    _, report = run
    r = scenario_result(report, "fuse_three")
    check_success(r)
    names = [layer["name"] for layer in r["stack"]]
    assert names == ["Third", "Second", "one picture of all three #1", "Background"]
    fused = r["stack"][2]
    assert (fused["x"], fused["y"], fused["w"], fused["h"]) == (0, 0, 512, 384)


def test_api_error_is_a_failed_procedure_with_the_apis_message(run) -> None:
    _, report = run
    r = scenario_result(report, "api_error")
    assert r["call"]["status"] == "execution-error"
    message = r["call"]["error"]
    assert "123x45" in message and "size" in message.lower()
    assert "Traceback" not in message and "local-test-key" not in message
    # An error the server itself answers (after the upload) reaches the user in the API's own words.
    assert r["refused"]["status"] == "execution-error"
    assert MODERATION_MESSAGE in r["refused"]["error"] and "HTTP 400" in r["refused"]["error"]
    assert len(r["stack"]) == 1


def test_interactive_run_reaches_the_worker_and_explains_a_missing_dialog(run) -> None:
    _, report = run
    r = scenario_result(report, "interactive_without_qt")
    assert r["status"] == "execution-error" and r["layers"] == 1
    assert "needs PyQt6 and qasync" in r["error"] and "/no-qt/bin/python" in r["error"]


def test_markup_round_trip_through_the_real_worker(run) -> None:
    """A drawn layer named 'markup' becomes the request's `markup` part (the local server says it read it),
    the result lands under it, masked by the selection, and the markup layer itself is untouched."""
    session, report = run
    r = scenario_result(report, "markup_round_trip")
    check_success(r)
    names = [layer["name"] for layer in r["stack"]]
    assert names == ["markup", "make the marked cup red #1", names[2]] and len(names) == 3
    assert np.array_equal(
        raw(session, "markup-0.rgba", (600, 800, 4)), raw(session, "markup-drawn.rgba", (600, 800, 4))
    )
    result = r["stack"][1]
    assert result["has_mask"]
    x, y, w, h = result["x"], result["y"], result["w"], result["h"]
    mask = raw(session, "markup-1.mask", (h, w))
    selection = raw(session, "markup-selection.gray", (600, 800))[y : y + h, x : x + w]
    assert mask[selection == 0].max() == 0 and mask[selection == 255].min() == 255
    records = [p.read_text() for p in session.host_dir.glob("home/data/gimp-gptimage/history/*/record.json")]
    (record,) = [json.loads(t) for t in records if "make the marked cup red" in t]
    assert record["markup"] is True and record["model"] == "gpt-image-2.6-sunburst"
    # The dialog's default streams, and streamed answers carry no revised prompt: the offline engine's
    # "markup read" note is checked on the non-streamed path (tests/test_markup.py).
