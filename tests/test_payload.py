"""Image event payloads decode exactly like json.loads + b64decode, by the faster, sliced path or the exact one."""

from __future__ import annotations

import base64
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gimp_gptimage.api.payload import InvalidBase64, PayloadError, split_image_payload


def event(data: bytes, **extra: object) -> str:
    return json.dumps({"type": "image_edit.completed", "b64_json": base64.b64encode(data).decode(), **extra})


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(["", " ", "\n"]))
def test_round_trip_matches_json_and_base64(data: bytes, spacing: str) -> None:
    text = event(data, size="1024x1024").replace(":", ":" + spacing)
    obj, decoded = split_image_payload(text)
    assert decoded == (data or None)
    assert obj["size"] == "1024x1024" and obj["type"] == "image_edit.completed"


def test_a_large_image_spanning_many_slices_decodes_exactly() -> None:
    data = os.urandom(3 * 1024 * 1024 + 7)
    assert split_image_payload(event(data))[1] == data


def test_escaped_slashes_take_the_exact_path() -> None:
    data = bytes(range(256)) * 10
    text = event(data).replace("/", "\\/")
    assert split_image_payload(text)[1] == data


def test_missing_padding_and_line_breaks_are_tolerated() -> None:
    data = b"hello world!?"
    b64 = base64.b64encode(data).decode().rstrip("=")
    text = json.dumps({"b64_json": b64[:8] + "\n" + b64[8:]})
    assert split_image_payload(text)[1] == data


def test_events_without_an_image_give_none() -> None:
    assert split_image_payload('{"type": "error", "error": {"message": "x"}}') == (
        {"type": "error", "error": {"message": "x"}},
        None,
    )


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"b64_json": "abc'])
def test_non_objects_are_payload_errors(text: str) -> None:
    with pytest.raises(PayloadError):
        split_image_payload(text)


def test_broken_base64_is_its_own_error() -> None:
    with pytest.raises(InvalidBase64):
        split_image_payload('{"b64_json": "%%%%"}')
