"""Price before the click, cost after: the price table, estimates checked against real runs on the local
server (whose usage is known), learning from history, monthly totals, and old history files."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from jobs_samples import edit_request

from gimp_gptimage.api.client import ImagesClient
from gimp_gptimage.api.params import ImageParams
from gimp_gptimage.api.types import Usage
from gimp_gptimage.cost import (
    PRICES,
    LearnedTokens,
    cost_of,
    estimate,
    format_dollars,
    model_family,
    monthly_totals,
    prices_for,
    record_cost,
)
from gimp_gptimage.cost import tokens as builtin
from gimp_gptimage.history import HistoryRecord, HistoryStore, ResultInfo
from gimp_gptimage.jobs.run import GenerateRequest, run_edit, run_generate
from gimp_gptimage.server import LocalServer

pytest_plugins = ["conftest_jobs"]


def _client(server: LocalServer) -> ImagesClient:
    return ImagesClient(base_url=server.base_url, api_key="sk-cost-test", transport=httpx.AsyncHTTPTransport())


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gpt-image-2.6-sunburst", "gpt-image-2.6"),
        ("gpt-image-2.6-flare", "gpt-image-2.6"),
        ("gpt-image-2.6-flare-2027-01-15", "gpt-image-2.6"),  # a snapshot no one has seen yet
        ("gpt-image-2.5-sunburst-2026-09-08", "gpt-image-2.5"),
        ("gpt-image-2.5-flare", "gpt-image-2.5"),
        ("gpt-image-2", "gpt-image-2"),
        ("gpt-image-2-2026-04-21", "gpt-image-2"),
        (" GPT-Image-2 ", "gpt-image-2"),
        ("openai/gpt-image-2", "gpt-image-2"),
        ("gpt-image-1.5", "gpt-image-1.5"),
        ("gpt-image-1-mini", "gpt-image-1-mini"),
        ("gpt-image-1", "gpt-image-1"),
        ("chatgpt-image-latest", "chatgpt-image-latest"),
        ("gpt-image-2.7-sunburst", None),  # a new family is not priced as an old one
        ("gpt-image-25", None),
        ("dall-e-3", None),
    ],
)
def test_every_model_name_finds_its_family(model: str, family: str | None) -> None:
    assert model_family(model) == family


def test_price_table_holds_the_published_prices() -> None:
    for family in ("gpt-image-2.6", "gpt-image-2.5", "gpt-image-2"):
        p = PRICES[family]
        assert p is not None
        assert (p.text_input, p.text_input_cached, p.image_input, p.image_input_cached, p.image_output) == (
            5.00,
            1.25,
            8.00,
            2.00,
            30.00,
        )
    assert prices_for("chatgpt-image-latest") is None  # unknown stays unknown
    assert all(p is None or p.source.startswith(("[O]", "[T]")) for p in PRICES.values())


def test_cost_from_usage() -> None:
    usage = Usage(input_tokens=1200, output_tokens=8320, input_text_tokens=100, input_image_tokens=1100)
    # 100 text x $5 + 1100 image x $8 + 8320 output x $30, per 1M tokens.
    assert cost_of(usage, "gpt-image-2.6-flare", provider="openai") == pytest.approx(
        (100 * 5 + 1100 * 8 + 8320 * 30) / 1e6
    )
    unsplit = Usage(input_tokens=1200, output_tokens=8320)  # no details: all input at the image price
    assert cost_of(unsplit, "gpt-image-2", provider="openai") == pytest.approx((1200 * 8 + 8320 * 30) / 1e6)
    text_out = Usage(input_tokens=0, output_tokens=1100, output_text_tokens=100, output_image_tokens=1000)
    assert cost_of(text_out, "gpt-image-1.5", provider="openai") == pytest.approx((100 * 10 + 1000 * 32) / 1e6)
    assert cost_of(usage, "chatgpt-image-latest", provider="openai") is None
    assert cost_of(usage, "some-relay-model", provider="openai") is None
    assert cost_of(None, "gpt-image-2", provider="openai") is None
    assert cost_of(Usage(input_tokens=5), "gpt-image-2", provider="openai") is None  # no output count: not a cost


def test_dollars_are_never_shown_as_zero() -> None:
    assert format_dollars(0.8412) == "$0.84"
    assert format_dollars(12.5) == "$12.50"
    assert format_dollars(0.0421) == "$0.042"
    assert format_dollars(0.0004) == "<$0.001"
    assert format_dollars(0) == "$0.00"


async def test_estimate_before_equals_cost_after_on_the_local_server(server: LocalServer, tmp_path: Path) -> None:
    """The local server reports deterministic usage; the estimate made before the run is what it costs."""
    history = HistoryStore(tmp_path)
    params = ImageParams(prompt="Remove the spoon", model="gpt-image-2", quality="medium", n=2)
    async with _client(server) as client:
        (first, *_) = await run_edit(edit_request(params), client, history)
    record = history.get(first.history_id).record
    assert record.usage is not None and first.usage == record.usage
    sent = builtin.size_of(record.request_size)
    before = estimate(params, provider=record.provider, sent_sizes=[sent], result_size=record.request_size)
    assert before.source == "estimate" and before.images == 2
    after = record_cost(record)
    assert after is not None and before.dollars == pytest.approx(after)
    # By hand: the usage the server sent, at the gpt-image-2 prices.
    u = record.usage
    assert u.input_text_tokens is not None and u.input_image_tokens is not None and u.output_tokens is not None
    assert after == pytest.approx((u.input_text_tokens * 5 + u.input_image_tokens * 8 + u.output_tokens * 30) / 1e6)
    assert u.output_tokens == 2 * round(1056 * sent[0] * sent[1] / 1024**2)

    learned = LearnedTokens.from_records(e.record for e in history.list())
    assert learned.per_image("gpt-image-2", "medium", record.request_size) == u.output_tokens // 2
    again = estimate(
        params, provider=record.provider, sent_sizes=[sent], result_size=record.request_size, learned=learned
    )
    assert again.source == "history" and again.dollars == pytest.approx(after)


async def test_streamed_usage_counts_every_image_once(server: LocalServer, tmp_path: Path) -> None:
    history = HistoryStore(tmp_path)
    plain = ImageParams(prompt="a lighthouse at dusk", size="1024x1024", quality="low", n=3)
    async with _client(server) as client:
        (whole, *_) = await run_generate(GenerateRequest(plain), client, history)
        (streamed, *_) = await run_generate(
            GenerateRequest(plain.replace(stream=True, partial_images=1)), client, history
        )
    assert whole.usage is not None and whole.usage.output_tokens == 3 * 272
    assert streamed.usage == whole.usage  # input once, the three images' outputs added up
    assert history.get(streamed.history_id).record.usage == whole.usage


def test_estimate_learns_from_the_users_own_results(tmp_path: Path) -> None:
    """A provider that used more tokens than the built-in figure: the next estimate follows the provider."""
    store = HistoryStore(tmp_path)
    params = ImageParams(prompt="a red fox", model="gpt-image-2.6-sunburst", quality="xhigh", size="2048x2048")
    assert (
        estimate(params, provider="openai").source == "unknown" and estimate(params, provider="openai").dollars is None
    )  # no figure for xhigh
    for output in (30_000, 36_000, 33_000):
        entry = store.begin(HistoryRecord(kind="generate", prompt="a red fox", model=params.model, params=params))
        store.add_result(entry, 0, b"\x89PNG\r\n\x1a\n", "png")
        store.finish(entry, usage=Usage(input_tokens=3, output_tokens=output, input_text_tokens=3))
    failed = store.begin(HistoryRecord(kind="generate", model=params.model, params=params))
    store.finish(failed, error="HTTP 500", usage=Usage(input_tokens=3, output_tokens=1))  # never learned from
    learned = LearnedTokens.from_records(e.record for e in store.list())
    # Flare is another model variant: it does not borrow Sunburst's figure.
    assert learned.per_image("gpt-image-2.6-flare", "xhigh", "2048x2048") is None
    found = estimate(params.replace(n=4), provider="openai", learned=learned)
    assert found.source == "history" and found.output_tokens_per_image == 33_000  # the median
    assert found.dollars == pytest.approx((3 * 5 + 4 * 33_000 * 30) / 1e6)
    assert found.exceeds(max_images=4, max_dollars=1.0) and not found.exceeds(max_images=4, max_dollars=None)
    assert (
        estimate(params.replace(model="gpt-image-2.6-sunburst-2027-01-15"), provider="openai", learned=learned).source
        == "history"
    )


def test_builtin_figures_follow_their_sources() -> None:
    assert builtin.output_tokens("gpt-image-1.5", "high", (1024, 1024)) == 4160
    assert builtin.output_tokens("gpt-image-1.5", "medium", (1536, 1024)) == 1584  # OpenAI's 1536 figure
    assert builtin.output_tokens("gpt-image-2", "auto", (1024, 1024)) == 4160  # auto estimated as high
    # 2.6 low/medium: 3.5x the tokens of 2.5 (a relay's report of 3-4x).
    assert builtin.output_tokens("gpt-image-2.6-flare", "low", (1024, 1024)) == round(
        3.5 * builtin.output_tokens("gpt-image-2.5-flare", "low", (1024, 1024))  # type: ignore[operator]
    )
    assert builtin.output_tokens("gpt-image-2.6-flare", "max", (1024, 1024)) is None


def test_monthly_totals() -> None:
    usage = Usage(input_tokens=0, output_tokens=100_000, input_text_tokens=0, input_image_tokens=0)  # $3.00
    records = [
        HistoryRecord(model="gpt-image-2", created_at="2026-12-01T10:00:00.000+00:00", usage=usage, status="done"),
        HistoryRecord(model="gpt-image-2.5-flare", created_at="2026-12-02T10:00:00.000+00:00", usage=usage),
        HistoryRecord(model="relay-x", created_at="2026-12-03T10:00:00.000+00:00", usage=usage),  # unpriced
        HistoryRecord(model="gpt-image-2", created_at="2026-12-04T10:00:00.000+00:00"),  # failed, nothing
        HistoryRecord(model="gpt-image-1", created_at="2026-11-30T23:59:00.000+00:00", usage=usage),
    ]
    records[2] = records[2].replace(results=(ResultInfo(0, "result-0.png"),))  # paid, amount unknown
    dec, nov = monthly_totals(records)
    assert (dec.month, dec.dollars, dec.requests, dec.unpriced) == ("2026-12", pytest.approx(6.0), 2, 1)
    assert (nov.month, nov.dollars, nov.requests) == ("2026-11", pytest.approx(4.0), 1)


def test_history_files_written_before_the_typed_record_still_read(tmp_path: Path) -> None:
    """A record.json exactly as version 1 wrote it: flat usage, a result's extra info, a key of its own."""
    folder = tmp_path / "20261120-101500-abc123"
    folder.mkdir()
    (folder / "result-0.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    old = {
        "kind": "edit",
        "prompt": "Remove the spoon",
        "params": {"model": "gpt-image-2", "n": 1, "size": "1536x1024", "quality": "high", "stream": True},
        "model": "gpt-image-2",
        "provider": "openai",
        "base_url": "https://api.openai.com/v1",
        "layer_size": [600, 400],
        "region": [0, 0, 600, 400],
        "offset": [0, 0],
        "request_size": "1536x1024",
        "references": 0,
        "context": {"mode": "auto", "blend_margin_px": 0},
        "some_future_key": {"kept": True},
        "version": 1,
        "id": folder.name,
        "status": "done",
        "created_at": "2026-11-20T10:15:00.000+00:00",
        "updated_at": "2026-11-20T10:15:40.000+00:00",
        "pid": 4242,
        "results": [{"index": 0, "file": "result-0.png", "bytes": 8, "added_at": "x", "size": [1536, 1024]}],
        "request_id": "req_old",
        "usage": {
            "input_tokens": 1110,
            "output_tokens": 6240,
            "total_tokens": 7350,
            "input_text_tokens": 5,
            "input_image_tokens": 1105,
        },
        "revised_prompts": [],
        "result_size": "1536x1024",
        "output_format": "png",
    }
    (folder / "record.json").write_text(json.dumps(old))
    store = HistoryStore(tmp_path)
    (entry,) = store.list()
    r = entry.record
    assert entry.status == "done" and r.region == (0, 0, 600, 400) and r.layer_size == (600, 400)
    assert r.params is not None and r.params.quality == "high" and r.params.stream is True
    assert r.usage == Usage(1110, 6240, 7350, 5, 1105)
    assert r.results[0].extra == {"size": [1536, 1024]} and entry.results[0].info == r.results[0]
    assert record_cost(r) == pytest.approx((5 * 5 + 1105 * 8 + 6240 * 30) / 1e6)
    store.add_result(entry.id, 1, b"\x89PNG\r\n\x1a\n", "png")  # a rewrite keeps what it does not know
    rewritten = json.loads((folder / "record.json").read_text())
    assert rewritten["some_future_key"] == {"kept": True} and rewritten["usage"]["input_image_tokens"] == 1105
    assert {k for k in old if k != "results"} <= set(rewritten)


def test_a_hand_edited_record_reads_as_missing_values_not_a_crash(tmp_path: Path) -> None:
    folder = tmp_path / "20261120-101500-abc124"
    folder.mkdir()
    bad = {"status": "done", "region": "everywhere", "params": [1], "usage": {"output_tokens": "many"}, "pid": True}
    (folder / "record.json").write_text(json.dumps(bad))
    (entry,) = HistoryStore(tmp_path).list()
    assert entry.record.region is None and entry.record.params is None and entry.record.usage is None
    assert entry.status == "done" and record_cost(entry.record) is None
