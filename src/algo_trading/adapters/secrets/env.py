"""The default secret store: environment variables named ALGO_<NAME> (DESIGN.md, "Settings").

The mapping is handed in (the composition root passes `os.environ`), so importing this module
reads nothing and tests never touch the real environment.
"""

from __future__ import annotations

from collections.abc import Mapping

from algo_trading.adapters.logs import register_secret
from algo_trading.domain.errors import ConfigError

__all__ = ["EnvSecretStore"]


class EnvSecretStore:
    """`get("angelone_mpin")` reads ALGO_ANGELONE_MPIN; a missing or empty variable is a
    ConfigError naming the variable, never a value."""

    def __init__(self, environ: Mapping[str, str], *, prefix: str = "ALGO_") -> None:
        self._environ = environ
        self._prefix = prefix

    def variable(self, name: str) -> str:
        return f"{self._prefix}{name.upper()}"

    def get(self, name: str) -> str:
        var = self.variable(name)
        value = self._environ.get(var, "")
        if not value:
            raise ConfigError(f"secret {name}: set the environment variable {var}")
        register_secret(value)  # every value handed out is masked in every log record
        return value

    def __repr__(self) -> str:
        return f"EnvSecretStore(prefix={self._prefix!r})"
