"""Bad input that only GIMP can produce, in real GIMP 3.0 and 3.2 with the stand-in worker: a layer group or a text
layer as the active drawable, no image at all. Each ends in a clear message or correct handling, never a
traceback, and a failed run adds nothing to the image. (Indexed images and a selection outside the layer are
covered in test_gimp_plugin_roundtrip.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gimp_harness import GimpRoot, new_session, read_report, scenario_result

pytestmark = pytest.mark.gimp


BATCH = r"""
EDIT = "python-fu-gptimage-edit"


@scenario
def group_layer():
    image = Gimp.Image.new(120, 90, Gimp.ImageBaseType.RGB)
    group = Gimp.GroupLayer.new(image, "Group")
    image.insert_layer(group, None, 0)
    inner = Gimp.Layer.new(image, "Inner", 120, 90, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(inner, group, 0)
    inner.fill(Gimp.FillType.WHITE)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 30, 20)
    out = call(EDIT, image, [group], prompt="invert")
    out["stack"] = stack(image)
    out["group_children"] = [lay.get_name() for lay in group.get_children()]
    return out


@scenario
def text_layer():
    image = Gimp.Image.new(120, 90, Gimp.ImageBaseType.RGB)
    background = pattern_layer(image, "Background", 120, 90)
    text = Gimp.TextLayer.new(image, "Hello", Gimp.context_get_font(), 24.0, Gimp.Unit.pixel())
    image.insert_layer(text, None, 0)
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 20, 10)
    out = call(EDIT, image, [text], prompt="invert")
    out["stack"] = stack(image)
    out["text_still_text"] = text.is_text_layer()
    out["background"] = background.get_name()
    return out


@scenario
def no_image():
    try:
        return call(EDIT, None, [], prompt="invert")
    except Exception as exc:  # GIMP itself may refuse a call without an image: that is a clear answer too
        return {"status": "refused-by-gimp", "error": str(exc)}
"""


@pytest.fixture(scope="module")
def run(gimp_root: GimpRoot) -> Iterator[dict]:
    session = new_session(gimp_root)
    installed = session.install_fake_worker()
    assert installed.returncode == 0, installed.stderr
    proc = session.run_batch(BATCH, {"GPTIMAGE_FAKE_OUT": f"{session.inner_dir}/out"})
    report = read_report(session.host_dir / "out" / "report.json", proc)
    yield report
    session.remove()


def test_layer_group_active_edits_what_the_group_shows(run: dict) -> None:
    """A group has no pixels of its own: its composite is edited and the result lands above the group,
    over the selection, masked; the group's layers stay as they were."""
    r = scenario_result(run, "group_layer")
    assert r["status"] == "success", r
    result, group = r["stack"]
    assert group["name"] == "Group" and r["group_children"] == ["Inner"]
    assert (result["x"], result["y"], result["w"], result["h"]) == (10, 10, 30, 20) and result["has_mask"]


def test_text_layer_active_keeps_the_text_editable(run: dict) -> None:
    """The result is a new masked layer above the text layer, which stays an editable text layer."""
    r = scenario_result(run, "text_layer")
    assert r["status"] == "success", r
    assert [layer["name"] for layer in r["stack"]][1:] == ["Hello", "Background"]
    assert r["stack"][0]["has_mask"] and r["text_still_text"]


def test_no_image_is_refused_before_the_plugin_runs(run: dict) -> None:
    """Without an image the menu entries are greyed out (the procedures need a drawable); a script that calls
    one anyway gets GIMP's own refusal, not a traceback (the plug-in would also say "Open or create an image
    first.")."""
    r = scenario_result(run, "no_image")
    assert r["status"] in ("calling-error", "execution-error", "refused-by-gimp"), r
    assert r["error"] and "Traceback" not in r["error"]
