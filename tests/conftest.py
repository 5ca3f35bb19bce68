"""Suite-wide settings.

Hypothesis' default 200 ms deadline per example turns a slow moment of a shared 2-core CI
machine into a failure that says nothing about the code; the properties are about results, not
time, so no example has a deadline here.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("algo-trading", deadline=None)
settings.load_profile("algo-trading")
