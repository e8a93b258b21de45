"""The OpenCV engine: real, deterministic image edits and generations without any model.

It is the fallback of the MI-GAN engine (engine_migan.py), which only replaces its masked fill.
- Masked edits fill the transparent part of the mask from its surroundings (OpenCV Navier-Stokes inpainting
  on a crop around the hole, upscaled, given the photo's grain, blended only inside the mask), so
  every unmasked pixel is kept.
- Unmasked single-image edits get a visible, prompt-keyed colour grade and posterisation: obviously not a
  model's work, and never text burnt into the user's picture (the response fields say "offline" instead).
- Several images are fused into the first: the masked area is filled, then the references are collaged
  into it; without a mask they are blended in with a colour transfer towards them.
- Generations are a seeded gradient with shapes and the prompt written small.
Every result depends only on (inputs, prompt, index), and the index varies it so n results differ.
"""

from __future__ import annotations

import colorsys
import hashlib
import textwrap

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .grain import LUMA, add_grain

WORK_EDGE = 512  # inpainting runs on a crop at most this size, then is upscaled
INPAINT_RADIUS = 5


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)


def kept(mask: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """How much of each pixel is kept (uint8, 255: all) from an API mask, where alpha 0 means "edit here"."""
    return np.asarray(_resize(mask.convert("RGBA"), size).getchannel("A"))


def edit_weight(keep: np.ndarray) -> np.ndarray:
    """How much each pixel is to be edited (0..1, float32) where `keep` (uint8) is how much is kept. Made
    where it is used: a fill holds the uint8 `keep`, a quarter of it, through the MI-GAN model run."""
    return 1.0 - keep.astype(np.float32) / 255.0


class OpenCVEngine:
    """Stateless and thread-safe; the server calls it from worker threads (an `Engine`)."""

    name = "offline"
    fill_method = "OpenCV fill"

    def label(self, *, masked: bool) -> str:
        return f"offline engine, {self.fill_method}" if masked else "offline engine"

    def fill(self, rgb: np.ndarray, keep: np.ndarray, seed: int, index: int) -> np.ndarray:
        """`rgb` filled where `keep` (uint8, see `kept`) < 255, blended by it; pixels kept whole exactly as
        they were."""
        return inpaint(rgb, edit_weight(keep), seed)

    def edit(
        self,
        images: list[Image.Image],
        mask: Image.Image | None,
        prompt: str,
        size: tuple[int, int],
        index: int = 0,
        keep_alpha: bool = False,
    ) -> Image.Image:
        """Edit `images[0]` (guided by `mask` and the other images) and return it at `size`."""
        # Only what the result needs is held through the fill (the MI-GAN engine's model run is the server's
        # peak of memory): the colours, and the alpha only for a transparent result.
        rgb = np.asarray(images[0].convert("RGB"))
        alpha = np.asarray(images[0].convert("RGBA").getchannel("A")) if keep_alpha else None
        keep = kept(mask, images[0].size) if mask is not None else None
        if keep is not None and keep.min() == 255:
            keep = None
        seed = _seed(prompt, index)
        if keep is not None:
            rgb = self.fill(rgb, keep, seed, index)
            if alpha is not None and (alpha < 255).any():
                alpha = np.clip(inpaint(np.dstack([alpha] * 3), edit_weight(keep), seed, grain=False)[..., 0], 0, 255)
        if len(images) > 1:
            weight = edit_weight(keep) if keep is not None else None
            rgb = fuse(rgb, [np.asarray(im.convert("RGB")) for im in images[1:]], weight, seed)
        elif keep is None:
            rgb = restyle(rgb, prompt, index)
        result = Image.fromarray(rgb if alpha is None else np.dstack([rgb, alpha]))
        return _resize(result, size)

    def generate(self, prompt: str, size: tuple[int, int], index: int = 0, transparent: bool = False) -> Image.Image:
        return render_picture(prompt, size, _seed("generate", prompt, index), transparent)


def inpaint(rgb: np.ndarray, weight: np.ndarray, seed: int, *, grain: bool = True) -> np.ndarray:
    """Fill where `weight` > 0 from the surroundings; pixels with weight 0 are returned unchanged.

    OpenCV's Navier-Stokes inpainting carries the edges and colours that meet the hole's border into it
    (a saucer's rim continues, the table closes over), which reads as a plausible removal; a smooth
    average fill instead leaves a flat silhouette of the removed object. It runs on a crop around the
    hole, downscaled to WORK_EDGE for speed, and gets the grain of the photo around it (grain.py) so the
    upscaled fill does not look airbrushed.
    """
    height, width = weight.shape
    hole = (weight > 0.5) if (weight > 0.5).any() else (weight > 0)
    # Grow the hole so the removed object's anti-aliased fringe does not leak into the fill.
    grow = max(2, round(max(height, width) / 300))
    grown = cv2.dilate(hole.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    ys, xs = np.nonzero(grown)
    margin = 4 * INPAINT_RADIUS + 4 * grow
    y0, y1 = max(0, int(ys.min()) - margin), min(height, int(ys.max()) + 1 + margin)
    x0, x1 = max(0, int(xs.min()) - margin), min(width, int(xs.max()) + 1 + margin)
    crop, crop_hole = rgb[y0:y1, x0:x1], grown[y0:y1, x0:x1]
    scale = min(1.0, WORK_EDGE / max(crop.shape[:2]))
    if scale < 1:
        small_size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        small = cv2.resize(crop, small_size, interpolation=cv2.INTER_AREA)
        small_hole = cv2.resize(crop_hole, small_size, interpolation=cv2.INTER_NEAREST)
        filled = cv2.inpaint(np.ascontiguousarray(small), small_hole, INPAINT_RADIUS, cv2.INPAINT_NS)
        filled = cv2.resize(filled, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_CUBIC)
    else:
        filled = cv2.inpaint(np.ascontiguousarray(crop), crop_hole, INPAINT_RADIUS, cv2.INPAINT_NS)
    fill = rgb.astype(np.float32)
    if grain:
        unknown = crop_hole.astype(bool)
        filled = add_grain(filled, crop, unknown, unknown | (weight[y0:y1, x0:x1] > 0), seed)
    fill[y0:y1, x0:x1] = filled
    w = weight[..., None].astype(np.float32)
    out = rgb.astype(np.float32) * (1 - w) + fill * w
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def restyle(rgb: np.ndarray, prompt: str, index: int) -> np.ndarray:
    """A prompt-keyed colour grade plus posterisation: visibly an offline stand-in for a model's restyle."""
    key = hashlib.sha256(prompt.encode()).digest()
    hue = (key[0] / 255 + index * 0.04) % 1.0
    tint = np.array(colorsys.hsv_to_rgb(hue, 0.55, 1.0), dtype=np.float32)
    pixels = rgb.astype(np.float32)
    luma = pixels @ LUMA
    graded = 0.55 * pixels + 0.45 * np.minimum(luma[..., None] * tint * 1.2, 255)
    levels = 5 + key[1] % 4
    posterised = np.round(graded / 255 * (levels - 1)) / (levels - 1) * 255
    return np.clip(0.5 * graded + 0.5 * posterised + 0.5, 0, 255).astype(np.uint8)


def _fit(image: np.ndarray, box: tuple[int, int]) -> np.ndarray:
    """Resize to fit inside box (w, h), keeping the aspect ratio."""
    height, width = image.shape[:2]
    scale = min(box[0] / width, box[1] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def fuse(rgb: np.ndarray, references: list[np.ndarray], weight: np.ndarray | None, seed: int) -> np.ndarray:
    """Bring the references into the first image: collaged into the masked area, or blended over it."""
    out = rgb.astype(np.float32)
    gain = 1.0 + np.random.default_rng(seed).uniform(-0.03, 0.03)
    if weight is not None:
        ys, xs = np.nonzero(weight > 0)
        x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
        cell_w = max(1, (x1 - x0) // len(references))
        patch = out[y0:y1, x0:x1].copy()
        for i, ref in enumerate(references):
            fitted = _fit(ref, (cell_w, y1 - y0)).astype(np.float32)
            fh, fw = fitted.shape[:2]
            top, left = (y1 - y0 - fh) // 2, i * cell_w + (cell_w - fw) // 2
            patch[top : top + fh, left : left + fw] = fitted * gain
        w = weight[y0:y1, x0:x1, None]
        out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * (1 - w) + patch * w
    else:
        height, width = rgb.shape[:2]
        refs = [cv2.resize(r, (width, height), interpolation=cv2.INTER_AREA).astype(np.float32) for r in references]
        mean_ref = np.mean(refs, axis=0)
        # Move the base's colour statistics halfway towards the references', then blend them in.
        mean, std = out.reshape(-1, 3).mean(0), out.reshape(-1, 3).std(0) + 1e-3
        ref_mean, ref_std = mean_ref.reshape(-1, 3).mean(0), mean_ref.reshape(-1, 3).std(0) + 1e-3
        target_mean, target_std = (mean + ref_mean) / 2, (std + ref_std) / 2
        transferred = (out - mean) / std * target_std + target_mean
        out = (0.7 * transferred + 0.3 * mean_ref) * gain
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def render_picture(prompt: str, size: tuple[int, int], seed: int, transparent: bool) -> Image.Image:
    """A deterministic picture for a prompt: seeded gradient, shapes, and the prompt written small."""
    rng = np.random.default_rng(seed)
    width, height = size
    if transparent:
        image = Image.new("RGBA", size, (0, 0, 0, 0))
    else:
        start, end = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        angle = rng.uniform(0, 2 * np.pi)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        t = xs / width * np.cos(angle) + ys / height * np.sin(angle)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
        gradient = start[None, None, :] * (1 - t[..., None]) + end[None, None, :] * t[..., None]
        image = Image.fromarray(gradient.astype(np.uint8)).convert("RGBA")
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(int(rng.integers(5, 12))):
        colour = (*(int(c) for c in rng.integers(0, 256, 3)), int(rng.integers(140, 256)))
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.05, 0.25) * min(width, height)
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse(box, fill=colour)
        elif shape == 1:
            draw.rectangle(box, fill=colour)
        else:
            points = [(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in rng.uniform(0, 2 * np.pi, 3)]
            draw.polygon(points, fill=colour)
    font_px = max(10, width // 64)
    font = ImageFont.load_default(size=font_px)
    lines = textwrap.wrap(prompt, width=max(10, int(width * 0.9 / (font_px * 0.6))))[:3]
    if lines:
        margin = font_px
        line_height = int(font_px * 1.3)
        top = height - margin - line_height * len(lines)
        draw.rectangle((0, top - margin // 2, width, height), fill=(0, 0, 0, 110))
        for i, line in enumerate(lines):
            draw.text((margin, top + i * line_height), line, fill=(255, 255, 255, 230), font=font)
    return image if transparent else image.convert("RGB")
