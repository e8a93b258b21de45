"""The incremental SSE parser: line endings, comments, [DONE], and chunks cut anywhere."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gimp_gptimage.api.sse import SSEEvent, SSELineTooLong, SSEParser, aiter_sse


def parse_all(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    return events + parser.close()


STREAM = (
    b": keep-alive comment\n"
    b"\n"
    b"event: image_edit.partial_image\n"
    b'data: {"type":"image_edit.partial_image","b64_json":"QUJD","partial_image_index":0}\n'
    b"\n"
    b":\n"
    b"event: image_edit.completed\r\n"
    b'data: {"type":"image_edit.completed","b64_json":"REVG","note":"caf\xc3\xa9 \xe2\x9c\x93"}\r\n'
    b"\r\n"
    b"data: first line\r"
    b"data: second line\r"
    b"\r"
    b"data: [DONE]\n"
    b"\n"
)


def expected_events() -> list[SSEEvent]:
    return [
        SSEEvent(
            "image_edit.partial_image",
            '{"type":"image_edit.partial_image","b64_json":"QUJD","partial_image_index":0}',
        ),
        SSEEvent("image_edit.completed", '{"type":"image_edit.completed","b64_json":"REVG","note":"café ✓"}'),
        SSEEvent(None, "first line\nsecond line"),
        SSEEvent(None, "[DONE]"),
    ]


def test_whole_stream_with_comments_crlf_cr_and_done() -> None:
    assert parse_all([STREAM]) == expected_events()


def test_every_single_split_point_gives_the_same_events() -> None:
    for cut in range(len(STREAM) + 1):
        assert parse_all([STREAM[:cut], STREAM[cut:]]) == expected_events(), cut


def test_byte_by_byte_feeding() -> None:
    assert parse_all([STREAM[i : i + 1] for i in range(len(STREAM))]) == expected_events()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_arbitrary_chunking_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert parse_all(chunks) == expected_events()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["image_generation.partial_image", "image_generation.completed"])),
            st.lists(
                st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=30),
                min_size=1,
                max_size=3,
            ),
        ),
        max_size=6,
    ),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.data(),
)
def test_generated_streams_round_trip(events, newline: bytes, data) -> None:
    raw = b""
    for name, lines in events:
        if name is not None:
            raw += b"event: " + name.encode() + newline
        for line in lines:
            raw += b"data: " + line.encode("utf-8") + newline
        raw += newline
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=20)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert parse_all(chunks) == [SSEEvent(name, "\n".join(lines)) for name, lines in events]


def test_field_without_space_and_without_colon() -> None:
    events = parse_all([b"event:x\ndata:no space\ndata\n\n"])
    assert events == [SSEEvent("x", "no space\n")]


def test_only_one_leading_space_is_removed() -> None:
    assert parse_all([b"data:  two spaces\n\n"]) == [SSEEvent(None, " two spaces")]


def test_unknown_fields_and_retry_are_ignored_and_id_is_kept() -> None:
    events = parse_all([b"retry: 100\nfoo: bar\nid: 7\ndata: x\n\ndata: y\n\n"])
    assert events == [SSEEvent(None, "x", "7"), SSEEvent(None, "y", "7")]


def test_event_name_without_data_is_not_dispatched_and_does_not_leak() -> None:
    assert parse_all([b"event: ping\n\ndata: z\n\n"]) == [SSEEvent(None, "z")]


def test_keep_alive_blank_lines_produce_nothing() -> None:
    assert parse_all([b"\n\n\r\n\r\n:ping\n\n"]) == []


def test_unterminated_last_event_is_delivered_on_close() -> None:
    assert parse_all([b"event: e\ndata: tail"]) == [SSEEvent("e", "tail")]


def test_cr_at_chunk_end_followed_by_lf_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n\r") == [SSEEvent(None, "a")]
    assert parser.feed(b"\ndata: b\n\n") == [SSEEvent(None, "b")]


def test_utf8_character_split_across_chunks() -> None:
    raw = "data: ✓é\n\n".encode()
    assert parse_all([raw[:8], raw[8:]]) == [SSEEvent(None, "✓é")]


def test_large_line_in_many_chunks_is_linear() -> None:
    payload = b"A" * 4_000_000
    raw = b"data: " + payload + b"\n\n"
    chunks = [raw[i : i + 4096] for i in range(0, len(raw), 4096)]
    events = parse_all(chunks)
    assert len(events) == 1 and len(events[0].data) == len(payload)


async def test_aiter_sse_yields_each_event_as_soon_as_it_is_complete() -> None:
    seen_before_next_chunk: list[int] = []
    received: list[SSEEvent] = []

    async def chunks():
        yield b"data: 1\n\ndata: "
        seen_before_next_chunk.append(len(received))
        yield b"2\n\n"

    async for event in aiter_sse(chunks()):
        received.append(event)
    assert received == [SSEEvent(None, "1"), SSEEvent(None, "2")]
    assert seen_before_next_chunk == [1]


def test_a_line_beyond_the_limit_is_refused() -> None:
    parser = SSEParser(max_line_bytes=1000)
    assert parser.feed(b"data: " + b"A" * 900 + b"\n\n") == [SSEEvent(None, "A" * 900)]
    with pytest.raises(SSELineTooLong, match="longer than 1,000 bytes"):
        parser.feed(b"data: " + b"A" * 1200)


def test_empty_chunk_between_cr_and_lf_keeps_one_line_end() -> None:
    parser = SSEParser()
    events = parser.feed(b"data: a\r") + parser.feed(b"") + parser.feed(b"\ndata: b\r\n\r\n")
    assert events == [SSEEvent(None, "a\nb")]
