"""What the dialog edits: a GIMP layer from the job folder, or an image file on its own (standalone)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from gimp_gptimage.jobs.jobfile import Job, load_job


@dataclass
class EditSource:
    kind: str  # "edit" | "generate" | "fuse"
    image_name: str
    layer_name: str = ""
    layer_rgba: np.ndarray | None = None  # (H, W, 4) uint8, possibly a read-only memmap
    selection: np.ndarray | None = None  # (H, W) uint8 coverage in layer pixels
    layer_offset: tuple[int, int] = (0, 0)
    references: list[tuple[str, np.ndarray]] = field(default_factory=list)
    markup: tuple[str, np.ndarray] | None = None  # the image's markup layer over this layer (name, RGBA)
    prompt: str = ""
    params: dict[str, object] = field(default_factory=dict)  # non-empty job params ("use default" dropped)
    job: Job | None = None
    image_path: Path | None = None  # standalone: results are saved next to this file

    @property
    def layer_size(self) -> tuple[int, int]:
        if self.layer_rgba is None:
            return (0, 0)
        return int(self.layer_rgba.shape[1]), int(self.layer_rgba.shape[0])


def source_from_job(job_dir: Path) -> EditSource:
    """Read job.json and map the pixel files (no copy: memmaps)."""
    job = load_job(job_dir)
    layer = job.layer
    p = job.params
    chosen = (("model", p.model), ("size", p.size), ("quality", p.quality), ("complexity", p.complexity))
    params: dict[str, object] = {k: v for k, v in chosen if v}
    if p.n and p.n != 1:  # 1 is the protocol's default, not a choice: the remembered count wins
        params["n"] = p.n
    return EditSource(
        kind=job.command,
        image_name=job.image.name,
        layer_name=layer.name if layer else "",
        layer_rgba=layer.pixels if layer else None,
        selection=job.selection,
        layer_offset=layer.offset if layer else (0, 0),
        references=[(ref.name, ref.pixels) for ref in job.references],
        markup=(job.markup.name, job.markup.pixels) if job.markup is not None else None,
        prompt=p.prompt,
        params=params,
        job=job,
    )


def load_selection(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A grayscale selection image (white = selected, soft edges allowed) at the layer's size."""
    with Image.open(path) as image:
        gray = image.convert("L")
        if gray.size != size:
            raise ValueError(
                f"The selection {path.name} is {gray.width}×{gray.height} but the image is {size[0]}×{size[1]}."
            )
        return np.asarray(gray)


def source_from_files(image_path: Path, selection_path: Path | None = None) -> EditSource:
    """Load an image file (and optionally a selection image) for standalone use. Call off the GUI thread."""
    image_path = Path(image_path)
    with Image.open(image_path) as image:
        rgba = np.asarray(image.convert("RGBA"))
    selection = None
    if selection_path is not None:
        selection = load_selection(Path(selection_path), (rgba.shape[1], rgba.shape[0]))
    return EditSource(
        kind="edit",
        image_name=image_path.name,
        layer_name=image_path.stem,
        layer_rgba=rgba,
        selection=selection,
        image_path=image_path,
    )
