"""How every command answers a user's mistake: one `error:` line on stderr and exit code 2.

The message is made one printable line here, whatever it quotes: a file name, a symbol or a
cell of a user's file must not put a second line or a terminal control code on the screen."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, NoReturn, TypeVar

import click

from algo_trading.domain.errors import AlgoTradingError

__all__ = ["OneLineCommand", "fail", "one_line", "user_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def one_line(message: str) -> str:
    """`message` with every character that does not print (newlines, escapes) shown as `?`."""
    return "".join(ch if ch.isprintable() else "?" for ch in message)


def fail(message: str) -> NoReturn:
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(2)


def user_errors(fn: F) -> F:
    """Turn an AlgoTradingError raised by the command into one line and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AlgoTradingError as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


class OneLineCommand(click.Command):
    """A command whose usage errors (a missing or unknown option) are one `error:` line and
    exit code 2, like every other user error, instead of click's usage block."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            fail(exc.format_message())
