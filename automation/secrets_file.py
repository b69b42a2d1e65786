"""The optional secrets file: KEY=VALUE lines a login's variables are read from when the environment lacks them."""

from __future__ import annotations

import stat

from automation.errors import ConfigError
from automation.paths import secrets_file


def secret_file_values() -> dict[str, str]:
    """Optional ~/.config/runbook/secrets.env (KEY=VALUE lines), honoured only if readable by its owner alone.
    Raises ConfigError when others may read it."""
    path = secrets_file()
    if not path.exists():
        return {}
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} is readable by others; run: chmod 600 {path}")
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[key.strip()] = value.strip()
    return values
