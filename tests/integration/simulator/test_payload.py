"""The simulator's one bounded JSON reader and its typed field readers (payload.py, issue #15):
what a good client sends reads back exactly; anything out of bounds is a RequestError with the
code the caller asked for, never another exception and never unbounded work."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.simulator.accounts import RequestError
from algo_trading.simulator.payload import (
    MAX_DEPTH,
    body_int,
    body_paise,
    body_text,
    decode_body,
    loads_bounded,
)

# Text with the characters a depth scanner could trip on: brackets, quotes, backslashes.
tricky_text = st.text(alphabet=st.sampled_from('[]{}"\\ab\n\u00e9\u0661'), max_size=40)
plain_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**17), max_value=10**17) | tricky_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky_text, inner, max_size=3),
    max_leaves=10,
)


def _nested(depth: int) -> str:
    return "[" * depth + '"]]}}\\"[[{{"' + "]" * depth


@settings(max_examples=200, deadline=None)
@given(value=plain_json)
def test_any_json_a_client_sends_within_bounds_reads_back_exactly(value: Any) -> None:
    text = json.dumps(value)
    assert loads_bounded(text) == value


def test_nesting_is_bounded_and_brackets_inside_strings_do_not_count() -> None:
    assert loads_bounded(_nested(MAX_DEPTH)) is not None
    with pytest.raises(RequestError, match="nested deeper") as refused:
        loads_bounded(_nested(MAX_DEPTH + 1))
    assert refused.value.code == "AB1004"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("9" * 100_000, "characters"),
        ("1e999999", "out of range"),
        ("0e999999", "out of range"),
        ("NaN", "not a JSON number"),
        ("-Infinity", "not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, "nested deeper"),
        ('{"a": 1', "not JSON"),
    ],
)
def test_numbers_and_bodies_out_of_bounds_are_refused(text: str, why: str) -> None:
    with pytest.raises(RequestError, match=why):
        loads_bounded(text)


@pytest.mark.parametrize(
    ("raw", "charset", "why"),
    [
        (b"\xff", None, "not utf-8"),
        (b"{\x00\x00\xd8", "utf-16-le", "not utf-16-le"),
        (b"{}", "x-klingon", "unknown charset"),
        (b"{}", "rot13", "not accepted"),
    ],
)
def test_a_body_in_a_broken_or_unknown_charset_is_refused(
    raw: bytes, charset: str | None, why: str
) -> None:
    with pytest.raises(RequestError, match=why):
        decode_body(raw, charset)


def test_a_body_with_a_utf8_bom_or_in_utf16_is_read() -> None:
    assert decode_body(b"\xef\xbb\xbf{}", None) == "{}"
    assert decode_body('{"a": "é"}'.encode("utf-16"), "UTF-16") == '{"a": "é"}'


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10", 10), ("10.0", 10), (" 7 ", 7), (10, 10), (Decimal("20"), 20), (None, 5), ("", 5)],
)
def test_whole_numbers_read_in_every_form_a_client_sends(value: Any, expected: int) -> None:
    assert body_int({"q": value}, "q", 5) == expected


@pytest.mark.parametrize(
    "value",
    ["1.0e999", "1e999", "\u0661\u0660", "0x10", "1_000", "10.5", True, [1], {}, 10**16],
)
def test_anything_else_as_a_whole_number_is_refused_with_the_callers_code(value: Any) -> None:
    with pytest.raises(RequestError) as refused:
        body_int({"qty": value}, "qty", code="AB9006")
    assert refused.value.code == "AB9006"


@pytest.mark.parametrize(
    ("value", "paise"),
    [("194.50", 19450), ("194.5", 19450), (194, 19400), (Decimal("0.05"), 5), ("1e2", 10000)],
)
def test_rupees_read_to_exact_paise(value: Any, paise: int) -> None:
    assert body_paise({"price": value}, "price") == paise


@pytest.mark.parametrize(
    "value",
    ["1e999999", "1e-999999999", "0.001", "-5", "Infinity", "1" * 40, "\uff11", False, [1]],
)
def test_impossible_rupees_are_refused_with_the_callers_code(value: Any) -> None:
    with pytest.raises(RequestError) as refused:
        body_paise({"price": value}, "price", code="AB9008")
    assert refused.value.code == "AB9008"


@pytest.mark.parametrize("value", [{"a": 1}, [1], True, "x" * 600, "\ud800"])
def test_text_fields_refuse_structures_booleans_huge_text_and_lone_surrogates(value: Any) -> None:
    with pytest.raises(RequestError):
        body_text({"exchange": value}, "exchange")
