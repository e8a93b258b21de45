"""GIMP 3.2's layer kinds as the active layer: a text layer, a vector layer (drawn from a path) and a link
layer (showing an outside file). With the stand-in worker, in real GIMP 3.2.

Decided per kind (see gptimage_host.as_layer): each command works on what the layer shows, its
rendered pixels, and inserts its result as a normal pixel layer above it; the text, vector or link layer
itself is never written to, stays of its kind (not rasterized) and keeps its pixels. Nothing is refused: a
link layer whose file has gone keeps showing its last pixels in GIMP, and those are edited.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import numpy as np
import pytest
from gimp_harness import PROJECT, VERSIONS, GimpRoot, GimpSession, new_session, prepare_root, read_report
from gimp_harness import scenario_result as result_of

pytestmark = pytest.mark.gimp

LINKED = PROJECT / "resources" / "coffee.png"
KINDS = ("text", "vector", "link")

BATCH = r"""
EDIT, GEN, FUSE = "python-fu-gptimage-edit", "python-fu-gptimage-generate", "python-fu-gptimage-fuse"
W, H = 320, 240


def kind_of(layer):
    if layer.is_text_layer():
        return "text"
    if layer.is_vector_layer():
        return "vector"
    if layer.is_link_layer():
        return "link"
    return "pixels"


def make(image, kind):
    if kind == "text":
        layer = Gimp.TextLayer.new(image, "Hello GIMP", Gimp.context_get_font(), 48.0, Gimp.Unit.pixel())
        image.insert_layer(layer, None, 0)
        layer.set_offsets(30, 40)
    elif kind == "vector":
        path = Gimp.Path.new(image, "Triangle")
        image.insert_path(path, None, 0)
        stroke = path.bezier_stroke_new_moveto(40, 200)
        path.bezier_stroke_lineto(stroke, 160, 30)
        path.bezier_stroke_lineto(stroke, 280, 200)
        path.stroke_close(stroke)
        layer = Gimp.VectorLayer.new(image, path)
        layer.set_enable_fill(True)
        image.insert_layer(layer, None, 0)
    else:
        layer = Gimp.LinkLayer.new(image, Gio.File.new_for_path(LINKED))
        image.insert_layer(layer, None, 0)
        layer.set_offsets(10, 5)
    Gimp.displays_flush()
    return layer


def setup(kind):
    image = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    background = pattern_layer(image, "Background", W, H)
    layer = make(image, kind)
    image.set_selected_layers([layer])
    return image, background, layer


def after(image, layer, tag):
    return {"stack": stack(image, tag), "kinds": [kind_of(lay) for lay in image.get_layers()],
            "source_kind": kind_of(layer), "rasterized": layer.is_rasterized(),
            "source_after": dump(layer, tag + "-source-after.rgba", "R'G'B'A u8")}


for KIND in KINDS:
    def edit(kind=KIND):
        image, _, layer = setup(kind)
        _, x, y = layer.get_offsets()
        image.select_rectangle(Gimp.ChannelOps.REPLACE, x + 10, y + 8, 60, 30)
        before = dump(layer, kind + "-edit-source.rgba", "R'G'B'A u8")
        out = {"call": call(EDIT, image, [layer], prompt="invert", n=1), "source": before,
               "source_box": [x, y, layer.get_width(), layer.get_height()]}
        out.update(after(image, layer, kind + "-edit"))
        return out
    edit.__name__ = KIND + "_edit"
    scenario(edit)

    def fuse(kind=KIND):
        image, background, layer = setup(kind)
        dump(layer, kind + "-fuse-source.rgba", "R'G'B'A u8")
        out = {"call": call(FUSE, image, [layer, background], prompt="together", n=1)}
        out.update(after(image, layer, kind + "-fuse"))
        return out
    fuse.__name__ = KIND + "_fuse"
    scenario(fuse)

    def generate(kind=KIND):
        image, _, layer = setup(kind)
        dump(layer, kind + "-generate-source.rgba", "R'G'B'A u8")
        out = {"call": call(GEN, image, [layer], prompt="a fox", n=1)}
        out.update(after(image, layer, kind + "-generate"))
        return out
    generate.__name__ = KIND + "_generate"
    scenario(generate)


@scenario
def link_file_gone():
    image = Gimp.Image.new(W, H, Gimp.ImageBaseType.RGB)
    pattern_layer(image, "Background", W, H)
    copy = os.path.join(OUT, "gone.png")
    with open(LINKED, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read())
    layer = Gimp.LinkLayer.new(image, Gio.File.new_for_path(copy))
    image.insert_layer(layer, None, 0)
    os.remove(copy)
    layer.set_file(Gio.File.new_for_path(copy))  # GIMP looks again: the file is gone, the pixels stay
    shown = dump(layer, "gone-shown.rgba", "R'G'B'A u8")
    out = {"call": call(EDIT, image, [layer], prompt="invert", n=1), "shown": shown,
           "size": [layer.get_width(), layer.get_height()]}
    out.update(after(image, layer, "gone"))
    return out
"""


@pytest.fixture(scope="module", params=[v for v in VERSIONS if v != "3.0"], ids=lambda v: f"gimp{v}")
def root_with_layer_kinds(request: pytest.FixtureRequest) -> GimpRoot:
    """Text, vector and link layers together exist since GIMP 3.2."""
    return prepare_root(request.param)


@pytest.fixture(scope="module")
def run(root_with_layer_kinds: GimpRoot) -> Iterator[tuple[GimpSession, dict]]:
    session = new_session(root_with_layer_kinds)
    shutil.copyfile(LINKED, session.host_dir / LINKED.name)
    installed = session.install_fake_worker()
    assert installed.returncode == 0, installed.stderr
    prelude = f"KINDS = {KINDS!r}\nLINKED = {session.inner_dir + '/' + LINKED.name!r}\n"
    proc = session.run_batch(prelude + BATCH, {"GPTIMAGE_FAKE_OUT": f"{session.inner_dir}/out"})
    yield session, read_report(session.host_dir / "out" / "report.json", proc)
    session.remove()


def raw(session: GimpSession, name: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.fromfile(session.host_dir / "out" / name, dtype=np.uint8).reshape(shape)


def check_source_kept(session: GimpSession, r: dict, kind: str, tag: str) -> None:
    """The active layer is still a layer of its kind, not rasterized, with the same pixels."""
    assert r["source_kind"] == kind and not r["rasterized"], r
    layer = r["stack"][1]
    shape = (layer["h"], layer["w"], 4)
    assert np.array_equal(raw(session, f"{tag}-source.rgba", shape), raw(session, r["source_after"], shape))


@pytest.mark.parametrize("kind", KINDS)
def test_edit_works_on_the_rendered_pixels_and_inserts_a_normal_layer_above(run, kind: str) -> None:
    session, report = run
    r = result_of(report, f"{kind}_edit")
    assert r["call"]["status"] == "success", r["call"]
    assert r["kinds"][:2] == ["pixels", kind], r["kinds"]
    result, source = r["stack"][0], r["stack"][1]
    assert result["has_mask"]
    x, y, w, h = r["source_box"]
    assert (result["x"], result["y"], result["w"], result["h"]) == (x + 10, y + 8, 60, 30)
    rendered = raw(session, f"{kind}-edit-source.rgba", (h, w, 4))
    assert rendered[..., 3].max() == 255, "the layer's rendered pixels were read, not an empty buffer"
    inverted = raw(session, result["pixels"], (30, 60, 4))
    assert np.array_equal(inverted[..., :3], 255 - rendered[8:38, 10:70, :3]), "the worker saw the rendered pixels"
    assert (source["w"], source["h"]) == (w, h)
    check_source_kept(session, r, kind, f"{kind}-edit")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["fuse", "generate"])
def test_fuse_and_generate_put_a_normal_layer_above_the_active_one(run, kind: str, command: str) -> None:
    session, report = run
    r = result_of(report, f"{kind}_{command}")
    assert r["call"]["status"] == "success", r["call"]
    assert r["kinds"][:2] == ["pixels", kind], r["kinds"]
    assert not r["stack"][0]["has_mask"]
    check_source_kept(session, r, kind, f"{kind}-{command}")


def test_link_layer_whose_file_is_gone_edits_the_pixels_it_still_shows(run) -> None:
    """GIMP keeps showing a link layer's last pixels when its file disappears: those are what the painter
    sees, so they are what is edited (nothing to refuse)."""
    session, report = run
    r = result_of(report, "link_file_gone")
    assert r["call"]["status"] == "success", r["call"]
    assert r["kinds"][:2] == ["pixels", "link"], r["kinds"]
    w, h = r["size"]
    shown = raw(session, r["shown"], (h, w, 4))
    assert shown[..., 3].min() == 255 and shown[..., :3].std() > 10, "the photo's pixels, not a placeholder"
    result = r["stack"][0]
    assert np.array_equal(raw(session, result["pixels"], (h, w, 4))[..., :3], 255 - shown[..., :3])
