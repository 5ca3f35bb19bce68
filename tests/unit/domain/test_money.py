"""Exact money (domain/money.py): rupees in at the edges become whole paise, or are refused."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algo_trading.domain import InvalidInputError, format_rupees, paise_to_decimal, rupees_to_paise
from algo_trading.domain.money import round_half_up_paise

# Far beyond any real amount on purpose: Decimal arithmetic rounds at 28 digits by default.
PAISE = st.integers(min_value=-(10**40), max_value=10**40)


def rupee_text(paise: int) -> str:
    """The amount written as a person would, built from integers only."""
    sign = "-" if paise < 0 else ""
    rupees, p = divmod(abs(paise), 100)
    return f"{sign}{rupees}.{p:02d}"


@settings(max_examples=300, deadline=None)
@given(paise=PAISE)
def test_rupees_as_text_or_decimal_become_exact_paise_at_any_size(paise: int) -> None:
    text = rupee_text(paise)
    assert rupees_to_paise(text) == paise
    assert rupees_to_paise(Decimal(text)) == paise
    assert rupees_to_paise(f"  {text}\n") == paise


@settings(max_examples=200, deadline=None)
@given(rupees=PAISE)
def test_whole_rupees_as_int_become_a_hundred_paise_each(rupees: int) -> None:
    assert rupees_to_paise(rupees) == rupees * 100


def test_a_twenty_nine_digit_amount_is_not_rounded_by_the_decimal_context() -> None:
    # Regression: d * 100 in the default 28-digit context gave ...5679000 for ...56789.
    assert rupees_to_paise("12345678901234567890123456789") == 1234567890123456789012345678900


@pytest.mark.parametrize(
    ("text", "paise"),
    [("0.05", 5), ("1234.55", 123_455), ("-0.10", -10), ("1e2", 10_000), ("7.500", 750)],
)
def test_usual_spellings_of_an_amount_are_read_exactly(text: str, paise: int) -> None:
    assert rupees_to_paise(text) == paise


@settings(max_examples=200, deadline=None)
@given(paise=PAISE, extra=st.integers(min_value=1, max_value=9))
def test_an_amount_finer_than_one_paisa_is_refused(paise: int, extra: int) -> None:
    text = f"{rupee_text(paise)}{extra}"
    with pytest.raises(InvalidInputError, match="finer than one paisa"):
        rupees_to_paise(text)
    with pytest.raises(InvalidInputError, match="finer than one paisa"):
        rupees_to_paise(Decimal(text))


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan"), True, False])
def test_floats_and_bools_are_refused_even_when_they_look_whole(value: object) -> None:
    with pytest.raises(InvalidInputError, match="not a float"):
        rupees_to_paise(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["NaN", "Infinity", "-inf", Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")],
    ids=repr,
)
def test_nan_and_infinity_are_refused(value: str | Decimal) -> None:
    with pytest.raises(InvalidInputError, match="finite"):
        rupees_to_paise(value)


@pytest.mark.parametrize("text", ["", "abc", "12,50", "₹10", "1.2.3"])
def test_text_that_is_not_a_number_is_refused_naming_what_it_was(text: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^stop price: .* is not a number$"):
        rupees_to_paise(text, what="stop price")


def test_paise_become_a_two_place_decimal_of_rupees() -> None:
    assert paise_to_decimal(123_455) == Decimal("1234.55")
    assert str(paise_to_decimal(-5)) == "-0.05"
    assert str(paise_to_decimal(100)) == "1.00"


@pytest.mark.parametrize(
    ("amount", "paise"),
    [("2.5", 3), ("-2.5", -3), ("2.4999", 2), ("-2.4999", -2), ("7", 7), ("0.5", 1)],
)
def test_fractional_paise_round_half_away_from_zero(amount: str, paise: int) -> None:
    assert round_half_up_paise(Decimal(amount)) == paise


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "₹0.00"),
        (5, "₹0.05"),
        (99_999, "₹999.99"),
        (100_000, "₹1,000.00"),
        (10_000_000, "₹1,00,000.00"),
        (123_456_789, "₹12,34,567.89"),
        (1_234_567_890_000, "₹12,34,56,78,900.00"),
        (-123_456_789, "-₹12,34,567.89"),
        (-5, "-₹0.05"),
    ],
)
def test_rupees_print_with_indian_digit_grouping(paise: int, text: str) -> None:
    assert format_rupees(paise) == text


INDIAN = re.compile(r"-?₹(\d{1,3}|\d{1,2}(,\d{2})*,\d{3})\.\d{2}")


@settings(max_examples=300, deadline=None)
@given(paise=st.integers(min_value=-(10**18), max_value=10**18))
def test_formatted_rupees_are_grouped_in_lakhs_and_crores_and_read_back_exactly(
    paise: int,
) -> None:
    text = format_rupees(paise)
    assert INDIAN.fullmatch(text), text
    assert text.startswith("-") == (paise < 0)
    assert rupees_to_paise(text.replace("₹", "").replace(",", "")) == paise
