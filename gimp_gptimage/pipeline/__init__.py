"""Edit pipeline: selection → context region → model size → request images → seamless paste-back.

GIMP-free and Qt-free (numpy, Pillow, OpenCV). See docs/architecture.md, section "Pipeline".
"""

from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.pipeline.paste import PasteResult, paste_back
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
    "choose_size",
    "fit_content",
    "paste_back",
    "prepare_edit",
    "selection_bounds",
]
