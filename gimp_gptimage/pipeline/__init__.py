"""Edit pipeline: selection → context region → model size → request images → seamless paste-back.

GIMP-free and Qt-free (numpy, Pillow, OpenCV). See docs/architecture.md, section "Pipeline".

    prep = prepare_edit(layer_rgba, selection, model=..., size="auto", options=ContextOptions(...))
    ... upload prep.image_png, prep.mask_png, prep.reference_pngs with size=prep.size_str ...
    out = paste_back(prep, result, layer_rgba, selection)   # out.pixels / out.offset / out.alpha

Contract: with blend_margin_px=0 every pixel whose selection value is 0 is bit-identical after
out.composite(); otherwise the soft edge reaches at most blend_margin_px (Chebyshev) outside the
selection. Scaling both ways uses OpenCV's pixel-centre convention, so results land with zero offset;
a result the same size as its region comes back bit for bit. Bad input raises PipelineInputError with
a message meant for the user.
"""

from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.paste import PasteResult, blend, paste_back
from gimp_gptimage.pipeline.prepare import ContextOptions, PreparedEdit, prepare_edit
from gimp_gptimage.pipeline.region import Rect, selection_bounds
from gimp_gptimage.pipeline.sizes import DEFAULT_PIXEL_BUDGET, ContentBox, choose_size, fit_content

__all__ = [
    "DEFAULT_PIXEL_BUDGET",
    "ContentBox",
    "ContextOptions",
    "PasteResult",
    "PipelineInputError",
    "PreparedEdit",
    "Rect",
    "blend",
    "choose_size",
    "fit_content",
    "paste_back",
    "prepare_edit",
    "selection_bounds",
]
