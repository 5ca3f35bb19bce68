"""Find a strategy by built-in name or by the path of a user's Python file, and build it with
its parameters. A user's file is run as a module; any problem in it is one clear line."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

from algo_trading.domain.errors import ConfigError
from algo_trading.domain.orders import ProductType
from algo_trading.strategy import BUILTIN_STRATEGIES, Strategy, parse_params

__all__ = ["build_strategy", "resolve_strategy"]


def resolve_strategy(name_or_file: str) -> type[Strategy]:
    """`sma_crossover`, `path/to/mine.py` or `path/to/mine.py:ClassName`."""
    if name_or_file in BUILTIN_STRATEGIES:
        return BUILTIN_STRATEGIES[name_or_file]
    path_text, _, class_name = name_or_file.partition(":")
    if not path_text.endswith(".py"):
        known = ", ".join(sorted(BUILTIN_STRATEGIES))
        raise ConfigError(
            f"unknown strategy {name_or_file!r} (built-in: {known}; or give the path of a .py file)"
        )
    return _load_file(Path(path_text), class_name or None)


def _load_file(path: Path, class_name: str | None) -> type[Strategy]:
    if not path.is_file():
        raise ConfigError(f"strategy file {path}: no such file")
    digest = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()[:12]
    module_name = f"algo_trading_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"strategy file {path}: cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise ConfigError(
            f"strategy file {path}, line {exc.lineno}: syntax error: {exc.msg}"
        ) from None
    except Exception as exc:  # the user's module raised while loading
        sys.modules.pop(module_name, None)
        line = _user_line(exc, path)
        raise ConfigError(
            f"strategy file {path}{line}: {type(exc).__name__} while loading: {exc}"
        ) from None
    found = {
        name: obj
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and issubclass(obj, Strategy) and obj.__module__ == module_name
    }
    if class_name is not None:
        if class_name not in found:
            raise ConfigError(f"strategy file {path}: no Strategy subclass named {class_name!r}")
        return found[class_name]
    if len(found) != 1:
        what = "no Strategy subclass" if not found else f"several ({', '.join(sorted(found))})"
        raise ConfigError(
            f"strategy file {path}: defines {what}; name one as FILE.py:ClassName"
            if found
            else f"strategy file {path}: defines {what}"
        )
    return next(iter(found.values()))


def _user_line(exc: BaseException, path: Path) -> str:
    tb = exc.__traceback__
    line = ""
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename).resolve() == path.resolve():
            line = f", line {tb.tb_lineno}"
        tb = tb.tb_next
    return line


def build_strategy(
    cls: type[Strategy],
    raw_params: dict[str, str],
    *,
    symbols: tuple[str, ...] = (),
    quantity: int = 1,
    product: ProductType | None = None,
) -> Strategy:
    name = getattr(cls, "name", cls.__name__)
    params: Any = parse_params(name, cls.Params, raw_params)
    try:
        return cls(params, symbols=symbols, quantity=quantity, product=product)
    except ConfigError:
        raise
    except Exception as exc:  # a user's constructor raised
        raise ConfigError(
            f"strategy {name}: {type(exc).__name__} while building it: {exc}"
        ) from None
