"""Fast construction of frozen slotted dataclasses on the hot path.

A frozen dataclass's generated `__init__` sets each field through `object.__setattr__`, which
costs three to four times a plain attribute store; the order path makes several such objects
per order (reports, fills, snapshots). A builder fills a *twin* instead (a class with exactly
the same slots and nothing else, so plain stores work) and then turns it into the frozen class
by `__class__` assignment, which CPython allows between classes of identical layout. What comes
out is an ordinary instance of the frozen class: equal, hashed, replaced, pickled and refused
assignment exactly like one built by its constructor.
"""

from __future__ import annotations

from typing import Any

__all__ = ["twin"]


def twin(cls: type) -> Any:
    """A mutable class with `cls`'s slots and nothing else (see the module's docstring)."""
    slots = cls.__dict__.get("__slots__")
    if not slots or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__name__}: a builder twin needs a slotted class on object")
    return type(f"_{cls.__name__}Twin", (), {"__slots__": tuple(slots)})
