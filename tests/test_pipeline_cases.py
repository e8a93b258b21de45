"""Edge cases of the edit pipeline: canvas edges, tiny and huge selections, offsets, soft selections,
colour match, fixed-size letterbox, transparency, references and bad input."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pipeline_helpers import (
    assert_exact_outside,
    assert_placed_without_offset,
    changed_pixels,
    identity_engine,
    photo_layer,
    rect_selection,
    request_image,
    request_mask_alpha,
    within_chebyshev,
)

from gimp_gptimage.pipeline import ContextOptions, PipelineInputError, paste_back, prepare_edit
from gimp_gptimage.pipeline.sizes import takes_free_sizes

W, H = 1600, 1200


@pytest.fixture(scope="module")
def layer() -> np.ndarray:
    return photo_layer(W, H, seed=2)


def black_engine(prep) -> Image.Image:
    return Image.new("RGB", prep.request_size, (0, 0, 0))


def assert_valid_request(prep, layer_shape) -> None:
    width, height = prep.request_size
    assert prep.size_str == f"{width}x{height}"
    if takes_free_sizes(prep.model):
        assert width % 16 == 0 and height % 16 == 0 and max(width, height) <= 3840
        assert 655_360 <= width * height <= 8_294_400 and max(width, height) <= 3 * min(width, height)
    image = Image.open(io.BytesIO(prep.image_png))
    mask = Image.open(io.BytesIO(prep.mask_png))
    assert image.size == mask.size == (width, height)
    r = prep.region
    assert r.x >= 0 and r.y >= 0 and r.x + r.w <= layer_shape[1] and r.y + r.h <= layer_shape[0]


EDGES = {
    "left": (0, 500, 200, 150),
    "right": (W - 200, 500, 200, 150),
    "top": (700, 0, 200, 150),
    "bottom": (700, H - 150, 200, 150),
    "top-left": (0, 0, 300, 300),
    "bottom-right": (W - 300, H - 300, 300, 300),
    "full width": (0, 600, W, 100),
}


@pytest.mark.parametrize("box", EDGES.values(), ids=EDGES.keys())
def test_selection_touching_a_canvas_edge(layer, box) -> None:
    x, y, w, h = box
    sel = rect_selection(H, W, x, y, w, h)
    prep = prepare_edit(layer, sel, options=ContextOptions(colour_match=False))
    assert_valid_request(prep, layer.shape)
    r = prep.region
    # Slid inside, not shrunk: the selection is inside the region and auto context stays >= 512 px.
    assert r.x <= x and r.y <= y and r.x + r.w >= x + w and r.y + r.h >= y + h
    assert min(r.w, r.h) >= 512
    # The edit area reaches the very edge pixels in the mask.
    mask = request_mask_alpha(prep)
    sx, sy = prep.content.w / r.w, prep.content.h / r.h
    edge_px = (int((x - r.x + 0.5) * sx), int((y - r.y + 0.5) * sy))
    assert mask[edge_px[1], edge_px[0]] == 0
    out = paste_back(prep, black_engine(prep), layer, sel)
    composite = out.composite(layer)
    assert (composite[y : y + h, x : x + w, :3] <= 2).all()  # the edge pixels themselves were replaced
    assert_exact_outside(composite, layer, within_chebyshev(sel > 0, prep.options.blend_margin_px))


@pytest.mark.parametrize("pixel", [(0, 0), (W - 1, H - 1), (800, 600), (W - 1, 0)])
@pytest.mark.parametrize("mode", ["auto", "whole"])
def test_one_pixel_selection(layer, pixel, mode) -> None:
    x, y = pixel
    sel = rect_selection(H, W, x, y, 1, 1)
    opts = ContextOptions(mode=mode, blend_margin_px=0, colour_match=False)
    prep = prepare_edit(layer, sel, options=opts)
    assert_valid_request(prep, layer.shape)
    # The selected pixel is editable in the mask even when the region was shrunk to fit the model.
    mask = request_mask_alpha(prep)
    r, c = prep.region, prep.content
    mx = c.x + min(int((x - r.x + 0.5) * c.w / r.w), c.w - 1)
    my = c.y + min(int((y - r.y + 0.5) * c.h / r.h), c.h - 1)
    assert mask[my, mx] == 0
    composite = paste_back(prep, black_engine(prep), layer, sel).composite(layer)
    assert changed_pixels(composite, layer).sum() == 1
    assert (composite[y, x, :3] == 0).all()


def test_all_zero_selection_means_the_whole_layer(layer) -> None:
    empty = np.zeros((H, W), np.uint8)
    prep = prepare_edit(layer, empty)
    assert prep.region == (0, 0, W, H) and prep.whole_layer
    assert (request_mask_alpha(prep) == 0).all()
    out = paste_back(prep, black_engine(prep), layer, empty)
    assert (out.alpha == 255).all() and (out.composite(layer)[:, :, :3] <= 1).all()


def test_selection_wider_than_3840_is_downscaled_to_fit() -> None:
    wide = photo_layer(4000, 600, seed=3)
    sel = rect_selection(600, 4000, 50, 200, 3900, 200)
    prep = prepare_edit(wide, sel)
    assert_valid_request(prep, wide.shape)
    assert prep.region.w > 3840 and prep.request_size[0] <= 3840
    r = prep.region
    full = rect_selection(600, 4000, r.x, r.y, r.w, r.h)
    out = paste_back(prep, identity_engine(prep), wide, full)
    assert out.pixels.shape == (r.h, r.w, 4)
    assert_placed_without_offset(out.composite(wide), wide, (r.x, r.y, r.w, r.h), tolerance=0.25)


def test_region_wider_than_3_to_1_is_letterboxed_and_the_bars_removed() -> None:
    # "padding" mode keeps exactly the context asked for: 3520 x 140 is far beyond 3:1.
    strip = photo_layer(3600, 600, seed=4)
    sel = rect_selection(600, 3600, 40, 250, 3520, 100)
    opts = ContextOptions(mode="padding", padding_px=20, blend_margin_px=0)
    prep = prepare_edit(strip, sel, options=opts)
    assert_valid_request(prep, strip.shape)
    w, h = prep.request_size
    assert w == 3 * h  # clamped to the widest allowed aspect
    c = prep.content
    assert c.w == w and c.h < h and c.y > 0  # bars above and below
    mask = request_mask_alpha(prep)
    assert (mask[: c.y] == 255).all() and (mask[c.y + c.h :] == 255).all()  # bars are "keep"
    full = rect_selection(600, 3600, *prep.region)
    out = paste_back(prep, identity_engine(prep), strip, full)
    assert out.pixels.shape[:2] == (prep.region.h, prep.region.w)
    assert_placed_without_offset(out.composite(strip), strip, prep.region, tolerance=0.25)


def test_auto_mode_grows_context_towards_the_model_aspect_instead_of_padding(layer) -> None:
    sel = rect_selection(H, W, 700, 500, 400, 200)  # context 700 x 512 (1.37:1; 512 px minimum)
    prep = prepare_edit(layer, sel, model="gpt-image-1.5")
    r = prep.region
    assert prep.request_size == (1536, 1024)
    assert r.w == 768 and r.h == 512  # grown to 3:2 with real surroundings...
    assert (prep.content.w, prep.content.h) == (1536, 1024)  # ...so no letterbox bars are needed
    # "padding" mode keeps exactly the context asked for and letterboxes instead.
    boxed = prepare_edit(layer, sel, model="gpt-image-1.5", options=ContextOptions(mode="padding", padding_px=150))
    assert (boxed.region.w, boxed.region.h) == (700, 500) and boxed.content.w < 1536


@pytest.mark.parametrize("model", ["gpt-image-1.5", "chatgpt-image-latest"])
@pytest.mark.parametrize("size", ["auto", "1024x1536"])
def test_fixed_size_model_letterbox_round_trip(model, size) -> None:
    small = photo_layer(1000, 500, seed=5)
    prep = prepare_edit(small, None, model=model, size=size, options=ContextOptions(mode="whole"))
    assert prep.size_str in ("1536x1024", "1024x1536")
    c = prep.content
    assert abs(c.w / c.h - 2.0) < 0.01  # no distortion
    sent = request_image(prep)
    mask = request_mask_alpha(prep)
    assert (mask[c.y : c.y + c.h, c.x : c.x + c.w] == 0).all()
    assert mask.mean() > 0  # bars are kept
    # Bars are replicated edge pixels, not foreign colour.
    if c.y > 0:
        assert (sent[0, c.x : c.x + c.w] == sent[c.y, c.x : c.x + c.w]).all()
    out = paste_back(prep, identity_engine(prep), small, None)
    assert out.pixels.shape == (500, 1000, 4)
    assert_placed_without_offset(out.composite(small), small, (0, 0, 1000, 500))
    # A relay that ignores the size and answers at half size is scaled back to the same place.
    half = Image.open(io.BytesIO(prep.image_png)).resize((prep.request_size[0] // 2, prep.request_size[1] // 2))
    out_half = paste_back(prep, half, small, None)
    assert_placed_without_offset(out_half.composite(small), small, (0, 0, 1000, 500), tolerance=0.25)


def test_layer_offset_from_and_smaller_than_the_canvas() -> None:
    canvas_w, canvas_h = 1400, 1000
    canvas = np.zeros((canvas_h, canvas_w, 4), np.uint8)
    lx, ly, lw, lh = 350, 210, 700, 500
    small = photo_layer(lw, lh, seed=6)
    canvas[ly : ly + lh, lx : lx + lw] = small
    # The user selects in canvas coordinates; the plug-in crops the selection to the layer.
    canvas_sel = rect_selection(canvas_h, canvas_w, 300, 600, 300, 200)  # overhangs the layer's left edge
    sel = np.ascontiguousarray(canvas_sel[ly : ly + lh, lx : lx + lw])
    prep = prepare_edit(small, sel, layer_offset=(lx, ly), options=ContextOptions(blend_margin_px=0))
    out = paste_back(prep, black_engine(prep), small, sel)
    assert out.offset == (lx + prep.region.x, ly + prep.region.y)
    # Insert as GIMP would: pixels at the canvas offset through the alpha mask.
    ox, oy = out.offset
    assert out.alpha is not None
    h, w = out.alpha.shape
    placed = canvas.copy()
    target = placed[oy : oy + h, ox : ox + w]
    a = out.alpha[:, :, None].astype(np.uint16)
    target[...] = ((out.pixels * a + target * (255 - a) + 127) // 255).astype(np.uint8)
    changed = changed_pixels(placed, canvas)
    expected = (canvas_sel > 0) & False
    expected[ly : ly + lh, lx : lx + lw] = sel > 0
    assert (changed == expected).all()
    # And the layer-level composite agrees with the canvas-level insert.
    assert (out.composite(small) == placed[ly : ly + lh, lx : lx + lw]).all()


def test_soft_selection_keeps_its_gradient_and_grows_by_at_most_the_margin(layer) -> None:
    sel = np.zeros((H, W), np.uint8)
    cv2.circle(sel, (800, 600), 120, 255, -1)
    sel = cv2.GaussianBlur(sel, (0, 0), 15)  # a feathered selection
    margin = 8
    prep = prepare_edit(layer, sel, options=ContextOptions(blend_margin_px=margin))
    out = paste_back(prep, black_engine(prep), layer, sel)
    r = prep.region
    crop = sel[r.y : r.y + r.h, r.x : r.x + r.w]
    assert out.alpha is not None and (out.alpha >= crop).all()
    assert not (out.alpha[~within_chebyshev(crop > 0, margin)] > 0).any()
    # Deep inside the feather the user's own gradient is kept exactly.
    deep = (crop > 0) & (crop < 255)
    assert (out.alpha[deep & (crop > 128)] == crop[deep & (crop > 128)]).mean() > 0.9
    # Composite is the exact blend with that alpha.
    composite = out.composite(layer)
    assert_exact_outside(composite, layer, within_chebyshev(sel > 0, margin))
    cy, cx = np.argwhere(crop == 128)[0]
    y, x = cy + r.y, cx + r.x
    a = int(out.alpha[cy, cx])
    expected = (out.pixels[cy, cx].astype(int) * a + layer[y, x].astype(int) * (255 - a) + 127) // 255
    assert (composite[y, x] == expected).all()


def test_zero_margin_soft_selection_blends_by_the_selection_itself(layer) -> None:
    sel = np.tile(np.linspace(0, 255, W).astype(np.uint8), (H, 1))
    sel[:, :400] = 0
    prep = prepare_edit(layer, sel, options=ContextOptions(blend_margin_px=0))
    out = paste_back(prep, black_engine(prep), layer, sel)
    r = prep.region
    assert (out.alpha == sel[r.y : r.y + r.h, r.x : r.x + r.w]).all()
    assert_exact_outside(out.composite(layer), layer, sel > 0)


def test_colour_match_moves_a_tinted_result_toward_the_surroundings(layer) -> None:
    sel = rect_selection(H, W, 600, 450, 300, 250)

    def tinting_engine(prep) -> Image.Image:
        pixels = request_image(prep)[:, :, :3].astype(np.int16)
        pixels = (pixels - 128) * 0.7 + 128 + np.array([45, 10, -35])  # warmer and flatter
        return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))

    inside = sel > 0
    errors = {}
    for match in (False, True):
        opts = ContextOptions(colour_match=match)
        prep = prepare_edit(layer, sel, options=opts)
        composite = paste_back(prep, tinting_engine(prep), layer, sel).composite(layer)
        diff = composite[inside, :3].astype(float).mean(axis=0) - layer[inside, :3].astype(float).mean(axis=0)
        spread = composite[inside, :3].astype(float).std() / layer[inside, :3].astype(float).std()
        errors[match] = (np.abs(diff).max(), spread)
    assert errors[False][0] > 25
    assert errors[True][0] < errors[False][0] * 0.25
    assert abs(errors[True][1] - 1) < abs(errors[False][1] - 1)


def test_colour_match_leaves_an_unchanged_result_unchanged(layer) -> None:
    sel = rect_selection(H, W, 488, 288, 624, 624)  # region 1248 x 1248 == request size
    prep = prepare_edit(layer, sel)
    assert prep.options.colour_match
    out = paste_back(prep, identity_engine(prep), layer, sel)
    r = prep.region
    assert (out.pixels == layer[r.y : r.y + r.h, r.x : r.x + r.w]).all()


def test_transparent_result_keeps_its_alpha(layer) -> None:
    sel = rect_selection(H, W, 600, 450, 300, 250)
    prep = prepare_edit(layer, sel, options=ContextOptions(blend_margin_px=0), model="gpt-image-1.5")

    def cutout_engine(prep) -> Image.Image:
        pixels = request_image(prep).copy()
        pixels[:, :, 3] = 0  # the model made everything transparent (background removal)
        return Image.fromarray(pixels, "RGBA")

    out = paste_back(prep, cutout_engine(prep), layer, sel)
    assert (out.pixels[:, :, 3] == 0).all()
    composite = out.composite(layer)
    assert (composite[sel > 0, 3] == 0).all()
    assert (composite[sel == 0] == layer[sel == 0]).all()


def test_rgb_results_and_references_are_accepted(layer) -> None:
    sel = rect_selection(H, W, 600, 450, 300, 250)
    references = [photo_layer(3000, 1000)[:, :, :3].copy(), photo_layer(300, 200, alpha=128)]
    prep = prepare_edit(layer, sel, references=references)
    first, second = (Image.open(io.BytesIO(png)) for png in prep.reference_pngs)
    assert first.mode == "RGB" and max(first.size) <= 2048 and first.size[0] / first.size[1] == pytest.approx(3, 0.01)
    assert second.mode == "RGBA" and second.size == (300, 200)  # small ones are not upscaled
    rgb_result = request_image(prep)[:, :, :3].copy()
    out = paste_back(prep, rgb_result, layer, sel)
    assert (out.pixels[:, :, 3] == 255).all()


def test_opaque_layer_is_uploaded_as_rgb(layer) -> None:
    prep = prepare_edit(layer, rect_selection(H, W, 600, 450, 300, 250))
    assert Image.open(io.BytesIO(prep.image_png)).mode == "RGB"


def test_huge_memmapped_layer_is_read_only_where_needed(tmp_path) -> None:
    side = 12_000
    big = np.lib.format.open_memmap(tmp_path / "layer.npy", mode="w+", dtype=np.uint8, shape=(side, side, 4))
    sel = np.lib.format.open_memmap(tmp_path / "sel.npy", mode="w+", dtype=np.uint8, shape=(side, side))
    big[9000:10000, 7000:8000] = photo_layer(1000, 1000, seed=8)
    sel[9400:9600, 7400:7700] = 255
    prep = prepare_edit(big, sel, layer_offset=(-50, 20))
    assert_valid_request(prep, big.shape)
    out = paste_back(prep, black_engine(prep), big, sel)
    assert out.offset == (-50 + prep.region.x, 20 + prep.region.y)
    assert out.pixels.shape[:2] == (prep.region.h, prep.region.w) and prep.region.w < 2000


@pytest.mark.parametrize(
    ("layer_arg", "sel_arg", "message"),
    [
        (np.zeros((10, 10, 3), np.uint8), None, "RGBA"),
        (np.zeros((10, 10, 4), np.float32), None, "8-bit"),
        (np.zeros((10, 10, 4), np.uint8), np.zeros((10, 11), np.uint8), "pixel for pixel"),
        (np.zeros((10, 10, 4), np.uint8), np.zeros((10, 10), np.float32), "8-bit coverage"),
    ],
)
def test_bad_input_gets_a_specific_message(layer_arg, sel_arg, message) -> None:
    with pytest.raises(PipelineInputError, match=message):
        prepare_edit(layer_arg, sel_arg)


def test_bad_result_and_options_get_specific_messages(layer) -> None:
    prep = prepare_edit(layer, None)
    with pytest.raises(PipelineInputError, match="not an image"):
        paste_back(prep, b"<html>502 Bad Gateway</html>", layer, None)
    with pytest.raises(PipelineInputError, match="pixel_budget"):
        ContextOptions(pixel_budget=10)
    with pytest.raises(PipelineInputError, match="blend_margin_px"):
        ContextOptions(blend_margin_px=-1)
    with pytest.raises(PipelineInputError, match="context mode"):
        ContextOptions(mode="everything")  # type: ignore[arg-type]


@settings(max_examples=15, deadline=None)
@given(
    lw=st.integers(1, 400),
    lh=st.integers(1, 400),
    data=st.data(),
    model=st.sampled_from(["gpt-image-2", "gpt-image-1.5"]),
    mode=st.sampled_from(["auto", "whole", "padding"]),
)
def test_any_layer_and_selection_give_a_valid_request_and_an_exact_paste(lw, lh, data, model, mode) -> None:
    rng = np.random.default_rng(lw * 1000 + lh)
    small = rng.integers(0, 256, (lh, lw, 4), dtype=np.uint8)
    x = data.draw(st.integers(0, lw - 1))
    y = data.draw(st.integers(0, lh - 1))
    w = data.draw(st.integers(1, lw - x))
    h = data.draw(st.integers(1, lh - y))
    value = data.draw(st.integers(1, 255))
    sel = rect_selection(lh, lw, x, y, w, h, value)
    prep = prepare_edit(small, sel, model=model, options=ContextOptions(mode=mode, blend_margin_px=0))
    assert_valid_request(prep, small.shape)
    r = prep.region
    assert r.x <= x and r.y <= y and r.x + r.w >= x + w and r.y + r.h >= y + h
    composite = paste_back(prep, black_engine(prep), small, sel).composite(small)
    assert_exact_outside(composite, small, sel > 0)


def test_a_result_larger_than_requested_keeps_its_detail(layer) -> None:
    """A model that answers at a higher resolution than asked is scaled straight to the region, not
    squeezed through the request size first."""
    sel = rect_selection(H, W, 200, 150, 1200, 900)  # a large region, shrunk for the request
    opts = ContextOptions(colour_match=False, pixel_budget=1_048_576)
    prep = prepare_edit(layer, sel, options=opts)
    r = prep.region
    assert prep.request_size[0] < r.w
    original = layer[r.y : r.y + r.h, r.x : r.x + r.w]
    # The "model" returns the original region at full resolution (twice the request size or more).
    sharp = paste_back(prep, original[:, :, :3].copy(), layer, sel).pixels
    through_request = paste_back(prep, identity_engine(prep), layer, sel).pixels
    assert (sharp == original).all()
    assert (through_request != original).any()  # the request size alone would have lost detail
    assert_placed_without_offset(
        paste_back(prep, Image.fromarray(original).resize((r.w * 2, r.h * 2)), layer, sel).composite(layer),
        layer,
        r,
    )
