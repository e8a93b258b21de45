"""Answers that are not what was asked for: a chat message instead of images, fewer images than `n`, and a
body that stops halfway. Each is named for what it is, and whatever did arrive is kept."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import httpx
import pytest
from conftest_api import API, KEY, Script, Sleeps, json_answer, sse_answer
from faults_helpers import KEY as FAULT_KEY
from faults_helpers import RecordedServer, one_line_error, run_cli
from jobs_samples import COFFEE, SPOON, write_spoon_job

import gimp_gptimage
from gimp_gptimage.api import APITimeoutError, ImageParams, ImagesClient, ResultError, Timeouts, explain
from gimp_gptimage.api.types import arrival_note
from gimp_gptimage.server import Fault
from gimp_gptimage.settings import Settings, SettingsStore

pytest_plugins = ["conftest_faults"]

CHAT = {
    "id": "chatcmpl-123",
    "object": "chat.completion",
    "created": 1677652288,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "\n\nHello there!"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
}


async def generate(script: Script, **params: object) -> None:
    async with ImagesClient(base_url=API, api_key=KEY, transport=script.transport, sleep=Sleeps()) as client:
        await client.generate(params=ImageParams("x", **params))  # type: ignore[arg-type]


# -- a chat completion instead of images -------------------------------------------------------------------


async def test_a_chat_completion_answer_is_named_for_what_it_is() -> None:
    with pytest.raises(ResultError) as caught:
        await generate(Script(json_answer(CHAT)))
    assert caught.value.message == (
        "The provider answered with a chat message instead of images; use its Images API endpoint."
    )
    assert "no images" not in caught.value.message


async def test_a_markdown_image_link_in_the_chat_text_is_named_but_not_fetched() -> None:
    content = "Parameters: size 1024x1024\n\n![preview](https://cdn.example.com/p/abc.png)\n\nTask id 42"
    answer = {**CHAT, "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    script = Script(json_answer(answer))
    with pytest.raises(ResultError, match="chat message instead of images") as caught:
        await generate(script)
    assert "https://cdn.example.com/p/abc.png" in caught.value.message and "not downloaded" in caught.value.message
    assert len(script.requests) == 1  # only the request itself: the link was not fetched


async def test_a_streamed_chat_answer_is_named_too() -> None:
    chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}
    with pytest.raises(ResultError, match="chat message instead of images"):
        await generate(Script(sse_answer([(None, json.dumps(chunk))])), stream=True)


def test_the_cli_names_a_relays_chat_answer_and_its_link(api: RecordedServer, home: Path) -> None:
    api.faults.add(Fault("chat"))
    proc = run_cli(
        "generate", "--prompt", "a red fox", "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=FAULT_KEY
    )
    line = one_line_error(proc, 1)
    assert "answered with a chat message instead of images; use its Images API endpoint" in line
    assert "https://cdn.example.com/preview/task-42.png" in line and "not downloaded" in line
    assert not (home / "out").exists()  # nothing was guessed from the text


# -- fewer images than asked for ---------------------------------------------------------------------------


def test_the_shortfall_wording_is_one_sentence() -> None:
    assert arrival_note(1, 2) == "1 of 2 images arrived"
    assert arrival_note(0, 1) == "0 of 1 image arrived"
    assert arrival_note(2, 2) is None


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_a_clean_answer_with_fewer_images_keeps_them_and_counts_the_missing(
    api: RecordedServer, stream: bool
) -> None:
    api.faults.add(Fault("fewer"))
    async with ImagesClient(base_url=api.base_url, api_key=FAULT_KEY) as client:
        result = await client.generate(params=ImageParams("two boats", n=2, stream=stream))
    assert [image.index for image in result.images] == [0]
    assert result.requested == 2 and result.shortfall() == "1 of 2 images arrived"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    shutil.copy(COFFEE, tmp_path / COFFEE.name)
    shutil.copy(SPOON, tmp_path / SPOON.name)
    return tmp_path


def test_the_cli_writes_what_arrived_says_what_is_missing_and_exits_1(api: RecordedServer, home: Path) -> None:
    api.faults.add(Fault("fewer"))
    args = ["edit", COFFEE.name, "--selection", SPOON.name, "--prompt", "Remove the spoon", "-n", "2", "--json"]
    proc = run_cli(*args, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=FAULT_KEY)
    line = one_line_error(proc, 1)
    assert line.startswith("1 of 2 images arrived")
    summary = json.loads(proc.stdout)
    assert summary["ok"] is False and summary["requested"] == 2 and summary["exit_status"] == 1
    (written,) = summary["results"]
    assert (home / written["path"]).is_file() and written["index"] == 0


def test_the_batch_procedure_reports_the_shortfall_and_inserts_what_arrived(
    api: RecordedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(Path(gimp_gptimage.__file__).parent / "plugin" / "gptimage"))
    import gptimage_ipc as ipc

    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("GPTIMAGE_API_KEY", FAULT_KEY)
    settings = Settings()
    settings.defaults.stream = False
    SettingsStore().save(settings)
    api.faults.add(Fault("fewer"))
    job_dir = ipc.create_job_dir()
    try:
        proc = ipc.start_worker(sys.executable, job_dir)
        write_spoon_job(job_dir, n=2, base_url=api.base_url)
        inserted: list[object] = []
        ipc.wait_for_job(proc, job_dir, inserted.append, lambda progress: None, interval=0.05)
        assert proc.wait(30) == 0
        assert len(inserted) == 1
        assert ipc.read_done(job_dir) == {"ok": True, "note": "1 of 2 images arrived"}
    finally:
        ipc.remove_job_dir(job_dir)


# -- a body that stops halfway -----------------------------------------------------------------------------


async def test_a_body_that_stalls_is_given_up_after_the_stall_limit_not_the_read_timeout(
    api: RecordedServer,
) -> None:
    api.faults.add(Fault("stall", seconds=5))
    timeouts = Timeouts(read=600, stall=0.3)
    async with ImagesClient(base_url=api.base_url, api_key=FAULT_KEY, timeouts=timeouts) as client:
        with pytest.raises(APITimeoutError) as caught:
            await client.generate(params=ImageParams("x"))
    error = caught.value
    assert "stopped sending in the middle of the answer" in error.message and "0.3 s" in error.message
    assert error.failure == "broken" and error.request_id
    assert explain(error).title == "The provider did not answer in time"
    assert api.image_requests() == 1  # a body had begun: the image may be billed, so it is not asked again


async def test_a_pause_shorter_than_the_stall_limit_is_waited_for(api: RecordedServer) -> None:
    api.faults.add(Fault("stall", seconds=0.3))
    async with ImagesClient(base_url=api.base_url, api_key=FAULT_KEY, timeouts=Timeouts(stall=5)) as client:
        result = await client.generate(params=ImageParams("x"))
    assert len(result.images) == 1


async def test_a_stream_keeps_its_own_limit(api: RecordedServer) -> None:
    api.faults.add(Fault("stall", seconds=0.6))
    timeouts = Timeouts(stall=0.1)  # would end a plain answer; a stream's pauses fall under `read`
    async with ImagesClient(base_url=api.base_url, api_key=FAULT_KEY, timeouts=timeouts) as client:
        result = await client.generate(params=ImageParams("x", stream=True, partial_images=1))
    assert len(result.images) == 1


async def test_a_result_link_that_stalls_is_fetched_again(relay: RecordedServer) -> None:
    relay.faults.add(Fault("stall", seconds=5, endpoint="results"))
    async with ImagesClient(base_url=relay.base_url, api_key=FAULT_KEY, timeouts=Timeouts(stall=0.3)) as client:
        result = await client.generate(params=ImageParams("x"))
    assert len(result.images) == 1 and result.images[0].source_url
    assert len(relay.recorder.paths("/v1/files/results/")) == 2  # the stalled GET, then the one that worked


def test_the_cli_stall_timeout_option(api: RecordedServer, home: Path) -> None:
    api.faults.add(Fault("stall", seconds=5))
    args = ["generate", "--prompt", "a red fox", "--stall-timeout", "0.3"]
    proc = run_cli(*args, "--base-url", api.base_url, home=home, GPTIMAGE_API_KEY=FAULT_KEY)
    line = one_line_error(proc, 1)
    assert "stopped sending in the middle of the answer" in line and "0.3 s" in line


def test_a_stall_fault_parses_from_the_serve_syntax() -> None:
    assert Fault.parse("stall:2.5") == Fault("stall", seconds=2.5)
    assert Fault.parse("fewer:2") == Fault("fewer", events=2)


async def test_a_wait_before_the_body_still_falls_under_the_read_timeout() -> None:
    # The stall limit starts with the body; the wait for the answer itself stays the read timeout.
    with pytest.raises(APITimeoutError, match="read timeout of 600 s"):
        await generate(Script(httpx.ReadTimeout("slow")))
