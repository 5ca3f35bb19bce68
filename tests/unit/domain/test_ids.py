"""Client order ids: what every database column and broker tag can hold, or a typed refusal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain.errors import OrderError
from algo_trading.domain.ids import CLIENT_ORDER_ID_MAX_LEN, check_client_order_id

_LEGAL = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pytest.mark.parametrize(
    "value", ["O000001", "c1a2b3-2", "ema_cross-7f3a9c", "Z" * CLIENT_ORDER_ID_MAX_LEN]
)
def test_ids_of_letters_digits_dash_and_underscore_up_to_the_column_width_are_kept(
    value: str,
) -> None:
    assert check_client_order_id(value) == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "non-empty"),
        ("A" * (CLIENT_ORDER_ID_MAX_LEN + 1), "65 characters, the most is 64"),
        ("a" * 10_000, "10000 characters"),
        ("a b", "' '"),
        ("a'b", '"\'"'),
        ("a;DROP", "';'"),
        ("a%", "'%'"),
        ("a\x00b", "'\\\\x00'"),
        ("a\n", "'\\\\n'"),
        ("é1", "'é'"),
        ("١٢٣", "'١'"),  # Arabic-Indic digits: digits to str.isdigit, not to a broker
        ("=1+1", "'='"),
        ("a.b", "'.'"),
    ],
)
def test_an_id_a_column_or_a_tag_cannot_hold_is_an_order_error_naming_why(
    value: str, reason: str
) -> None:
    with pytest.raises(OrderError, match=reason):
        check_client_order_id(value)


@settings(max_examples=300)
@given(st.text(max_size=80))
def test_any_text_is_either_a_legal_id_or_an_order_error(value: str) -> None:
    if _LEGAL.fullmatch(value):
        assert check_client_order_id(value) == value
    else:
        with pytest.raises(OrderError, match="client order id"):
            check_client_order_id(value)
