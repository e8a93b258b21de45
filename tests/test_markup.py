"""Markup-guided edits: the pipeline cuts the markup with the image, the runner sends it (alone, without the
mask), the offline engine fills what is marked, the paste-back still keeps everything outside the selection;
from the CLI and from a GIMP job folder too."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from jobs_samples import coffee_layer, edit_request, spoon_selection
from PIL import Image

from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.errors import ValidationError
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.history import HistoryStore
from gimp_gptimage.jobs.run import run_edit
from gimp_gptimage.pipeline import prepare_edit
from gimp_gptimage.pipeline.errors import PipelineInputError
from gimp_gptimage.server import LocalServer, create_app
from gimp_gptimage.server.markup import markup_area
from gimp_gptimage.settings import ProviderConfig, Settings, SettingsStore

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "gimp_gptimage" / "plugin" / "gptimage"
KEY = "sk-markup-test-0123456789"
V26 = "gpt-image-2.6-sunburst"


def sheet(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """A transparent layer with one opaque red rectangle (x0, y0, x1, y1) drawn on it."""
    rgba = np.zeros((*shape, 4), np.uint8)
    x0, y0, x1, y1 = box
    rgba[y0:y1, x0:x1] = (255, 0, 0, 255)
    return rgba


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


# -- pipeline ------------------------------------------------------------------------------------------------


def test_markup_is_cut_and_scaled_like_the_image() -> None:
    layer, selection = coffee_layer(), spoon_selection()
    ys, xs = np.nonzero(selection)
    box = (int(xs.min()), int(ys.min()), int(xs.min()) + 20, int(ys.min()) + 10)
    prep = prepare_edit(layer, selection, model=V26, markup=sheet(layer.shape[:2], box))
    assert prep.markup_png is not None
    marks = decoded(prep.markup_png)
    assert marks.shape[:2] == (prep.request_size[1], prep.request_size[0])  # the first image's size
    assert decoded(prep.image_png).shape[:2] == marks.shape[:2]
    # The stroke lands where the same layer pixels land in the request image.
    scale_x, scale_y = prep.content.w / prep.region.w, prep.content.h / prep.region.h
    want_x = prep.content.x + (box[0] + 10 - prep.region.x) * scale_x
    want_y = prep.content.y + (box[1] + 5 - prep.region.y) * scale_y
    my, mx = np.nonzero(marks[..., 3] > 128)
    assert abs(mx.mean() - want_x) < 1.5 and abs(my.mean() - want_y) < 1.5
    assert marks[..., 3].min() == 0 and tuple(marks[my[0], mx[0], :3]) == (255, 0, 0)


@pytest.mark.parametrize(
    ("markup", "message"),
    [
        (np.zeros((400, 600, 4), np.uint8), "nothing drawn in the area sent"),
        (np.full((400, 600, 4), 255, np.uint8), "opaque everywhere"),
        (np.zeros((10, 10, 4), np.uint8), "the size of the layer"),
    ],
    ids=["empty", "opaque", "wrong-size"],
)
def test_unusable_markup_is_refused_clearly(markup: np.ndarray, message: str) -> None:
    with pytest.raises(PipelineInputError, match=message):
        prepare_edit(coffee_layer(), spoon_selection(), model=V26, markup=markup)


# -- offline engine ------------------------------------------------------------------------------------------


def test_marked_strokes_widen_the_area_the_engine_fills() -> None:
    ring = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    arr = np.asarray(ring).copy()
    arr[20:80, 40:44, 3] = arr[20:80, 96:100, 3] = 255  # the left and right of a box...
    arr[20:24, 40:100, 3] = arr[76:80, 40:100, 3] = 255  # ...closed at top and bottom
    area = markup_area(Image.fromarray(arr))
    assert area[50, 70]  # inside the closed stroke
    assert area[22, 38] and not area[22, 30]  # the stroke, widened a little, and no further
    assert not area[50, 150]


async def test_markup_only_edit_changes_what_is_marked() -> None:
    photo = np.asarray(Image.open(Path(__file__).parent.parent / "resources" / "coffee.png").convert("RGB"))
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")
    marks = io.BytesIO()
    Image.fromarray(sheet(photo.shape[:2], (250, 150, 350, 250))).save(marks, "PNG")
    transport = httpx.ASGITransport(app=create_app())
    from gimp_gptimage.api.types import ImageInput

    async with ImagesClient(base_url="http://127.0.0.1/v1", api_key=KEY, transport=transport, max_retries=0) as client:
        result = await client.edit(
            params=ImageParams("remove it", model=V26, size="1536x1024"),
            images=[ImageInput("image.png", buffer.getvalue(), "image/png")],
            markup=marks.getvalue(),
        )
    assert (result.images[0].revised_prompt or "").endswith("] (markup read as the area to change) remove it")
    out = np.asarray(result.images[0].image.convert("RGB").resize((600, 400)), dtype=int)  # type: ignore[union-attr]
    diff = np.abs(out - photo).sum(axis=2)
    assert diff[170:230, 270:330].mean() > 3 * diff[:100, :100].mean()  # marked area filled, far corner kept


# -- job runner ----------------------------------------------------------------------------------------------


class Recording(httpx.AsyncBaseTransport):
    """Forwards to a real local server over loopback and keeps each request body."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.bodies: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.bodies.append(body)
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        return await self.inner.handle_async_request(forwarded)


async def test_runner_sends_markup_without_mask_and_pastes_only_the_selection(tmp_path: Path) -> None:
    layer, selection = coffee_layer(), spoon_selection()
    ys, xs = np.nonzero(selection)
    markup = sheet(layer.shape[:2], (int(xs.min()), int(ys.min()), int(xs.max()), int(ys.min()) + 6))
    history = HistoryStore(tmp_path)
    recording = Recording()
    with LocalServer() as server:
        async with ImagesClient(base_url=server.base_url, api_key=KEY, transport=recording, max_retries=0) as client:
            (result,) = await run_edit(
                edit_request(ImageParams("remove the spoon", model=V26), markup=markup), client, history
            )
    body = recording.bodies[-1]  # the edit: a custom endpoint is first asked what it is (GET /models)
    assert b'name="markup"; filename="markup.png"' in body and b'name="mask"' not in body
    assert body.count(b'name="image[]"') == 1  # the markup is not a reference
    full = result.placed.composite(layer)
    assert np.array_equal(full[selection == 0], layer[selection == 0])
    record = history.get(result.history_id).record
    assert record.markup is True
    assert record.revised_prompts[0].endswith("] (markup read as the area to change) remove the spoon")


async def test_markup_with_a_model_that_does_not_take_it_sends_nothing(tmp_path: Path) -> None:
    request = edit_request(ImageParams("x", model="gpt-image-2"), markup=sheet((400, 600), (0, 0, 9, 9)))
    async with ImagesClient(base_url="http://127.0.0.1:9/v1", api_key=KEY, max_retries=0) as client:
        with pytest.raises(ValidationError, match="does not support the 'markup' parameter"):
            await run_edit(request, client, HistoryStore(tmp_path))


# -- CLI, settings, GIMP job folder --------------------------------------------------------------------------


def test_cli_markup_and_complexity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from gimp_gptimage.cli.main import main

    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    root = Path(__file__).parent.parent / "resources"
    marks = tmp_path / "marks.png"
    Image.fromarray(sheet((400, 600), (300, 200, 360, 230))).save(marks)
    args = ["edit", str(root / "coffee.png"), "--selection", str(root / "coffee-spoon-selection.png")]
    args += ["--prompt", "remove the spoon", "--provider", "local", "--out", str(tmp_path / "out"), "--json"]
    code = main([*args, "--markup", str(marks), "--model", "gpt-image-2.6-flare", "--complexity", "low"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["ok"] and summary["model"] == "gpt-image-2.6-flare"
    assert main([*args, "--markup", str(marks), "--model", "gpt-image-2", "--complexity", "low"]) == 2
    assert "does not support the 'complexity' parameter" in capsys.readouterr().err
    assert main([*args, "--model", "gpt-image-1"]) == 2
    assert "OpenAI shut gpt-image-1 down on 2026-10-23" in capsys.readouterr().err
    assert main([*args, "--model", "gpt-image-2.6-flare", "--output-format", "gif"]) == 2
    assert "'gif' output is not for a raster editor" in capsys.readouterr().err


def test_saved_settings_naming_gpt_image_1_are_migrated_once(tmp_path: Path) -> None:
    old = Settings(providers=[ProviderConfig("openai", "https://api.openai.com/v1", "gpt-image-1")])
    old.defaults.model, old.defaults.input_fidelity = "gpt-image-1", "high"
    store = SettingsStore(tmp_path)
    store.save(old)
    settings = store.load()
    assert (
        settings.providers[0].model == "gpt-image-2.5-sunburst"
        and settings.defaults.model == settings.providers[0].model
    )
    assert settings.defaults.input_fidelity is None  # 2.5 does not take it
    assert len(store.notices) == 2 and all("shut down on 2026-10-23" in n for n in store.notices)
    assert store.load() and store.notices == []  # written back: told once


def test_gimp_job_with_a_markup_layer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The job folder as the plug-in writes it, with the markup layer's pixels: the worker sends them as the
    markup of a 2.6 edit and the inserted result is masked by the selection."""
    sys.path.insert(0, str(PLUGIN_DIR))
    import gptimage_ipc as ipc

    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "home" / var.lower()))
    monkeypatch.setenv("GPTIMAGE_API_KEY", KEY)
    layer, selection = coffee_layer(), spoon_selection()
    h, w = selection.shape
    marks = sheet((h, w), (300, 200, 360, 230))
    entry = {"name": "Photo", "file": "layer.rgba", "width": w, "height": h, "offset_x": 0, "offset_y": 0}
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    with LocalServer() as server:
        params = {"prompt": "remove it", "n": 1, "model": V26, "size": "", "quality": "", "base_url": server.base_url}
        job = {
            "command": "edit",
            "interactive": False,
            "image": {"name": "coffee.xcf", "width": w, "height": h, "base_type": "rgb"},
            "layer": entry,
            "selection": {"file": "selection.gray"},
            "references": [],
            "markup": {**entry, "name": "markup", "file": "markup.rgba"},
            "params": {**params, "complexity": "medium"},
        }
        files = {"layer.rgba": layer.tobytes(), "selection.gray": selection.tobytes(), "markup.rgba": marks.tobytes()}
        ipc.write_job(job_dir, job, files)
        results: list = []
        proc = ipc.start_worker(sys.executable, job_dir)
        ipc.wait_for_job(proc, job_dir, results.append, lambda _p: None, 0.02)
    (result,) = results
    assert result.mask is not None
    x, y = result.offset_x, result.offset_y
    mask = np.frombuffer(result.mask, np.uint8).reshape(result.height, result.width)
    assert np.array_equal(mask == 0, selection[y : y + result.height, x : x + result.width] == 0)
    (entry_dir,) = [p for p in (tmp_path / "home" / "xdg_data_home").rglob("record.json")]
    record = json.loads(entry_dir.read_text())
    assert record["markup"] is True and record["params"]["complexity"] == "medium"


def test_a_script_asking_for_gpt_image_1_is_told_what_to_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(PLUGIN_DIR))
    import gptimage_ipc as ipc

    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / "home" / var.lower()))
    monkeypatch.setenv("GPTIMAGE_API_KEY", KEY)
    h, w = 40, 60
    entry = {"name": "Photo", "file": "layer.rgba", "width": w, "height": h, "offset_x": 0, "offset_y": 0}
    params = {
        "prompt": "x",
        "n": 1,
        "model": "gpt-image-1",
        "size": "",
        "quality": "",
        "base_url": "http://127.0.0.1:9/v1",
    }
    job = {
        "command": "edit",
        "interactive": False,
        "layer": entry,
        "selection": None,
        "references": [],
        "params": params,
    }
    job["image"] = {"name": "a.xcf", "width": w, "height": h, "base_type": "rgb"}
    ipc.write_job(tmp_path, job, {"layer.rgba": bytes(w * h * 4)})
    proc = ipc.start_worker(sys.executable, tmp_path)
    with pytest.raises(ipc.JobError, match=r"OpenAI shut gpt-image-1 down on 2026-10-23\. Use gpt-image-2\.5-sunburst"):
        ipc.wait_for_job(proc, tmp_path, lambda _r: None, lambda _p: None, 0.02)
