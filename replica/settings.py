"""The replica's settings, read from KAPIKO_* variables (make replica passes its own as these).

Each has a default meant for a public replica; a bad value stops the start with a line naming
the variable and what it takes.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "KAPIKO_"


class SettingError(ValueError):
    """A KAPIKO_* variable the replica cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the nginx config and the two processes are made from."""

    host: str = "127.0.0.1"  # where nginx listens (KAPIKO_HOST, make's HOST)
    port: int = 8000  # (KAPIKO_PORT, make's PORT)
    workers: int = 2  # gunicorn's sync workers (KAPIKO_WORKERS)
    replica_dir: Path = Path(".replica")  # rendered config, socket, pid, nginx's temp files
    rate_limit: int = 100  # requests a second per client address, sustained
    rate_burst: int = 200  # requests above the rate a client may send at once before a 429
    exports_per_client: int = 2  # full exports one client address may stream at once
    exports_per_replica: int = 8  # full exports the replica streams at once, all clients
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For names the client
    client_timeout: int = 10  # seconds: headers, body pauses, send pauses, idle keep-alive
    proxy_user: str = ""  # as root: the user nginx's workers run as (default: root itself)

    @property
    def socket(self) -> Path:
        """gunicorn's Unix socket, the only way to it."""
        return self.replica_dir / "gunicorn.sock"


_INTEGERS = {  # field: (variable suffix, smallest value)
    "port": ("PORT", 1),
    "workers": ("WORKERS", 1),
    "rate_limit": ("RATE_LIMIT", 1),
    "rate_burst": ("RATE_BURST", 0),
    "exports_per_client": ("EXPORTS_PER_CLIENT", 1),
    "exports_per_replica": ("EXPORTS_PER_REPLICA", 1),
    "client_timeout": ("CLIENT_TIMEOUT", 1),
}


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The settings the KAPIKO_* variables of `env` (default os.environ) give."""
    env = os.environ if env is None else env
    found: dict[str, object] = {}
    for field, (suffix, least) in _INTEGERS.items():
        if raw := env.get(PREFIX + suffix, "").strip():
            found[field] = _integer(PREFIX + suffix, raw, least)
    if host := env.get(PREFIX + "HOST", "").strip():
        found["host"] = _address(PREFIX + "HOST", host)
    if folder := env.get(PREFIX + "REPLICA_DIR", "").strip():
        found["replica_dir"] = Path(folder)
    if proxies := env.get(PREFIX + "TRUSTED_PROXIES", "").strip():
        found["trusted_proxies"] = _networks(PREFIX + "TRUSTED_PROXIES", proxies)
    if user := env.get(PREFIX + "PROXY_USER", "").strip():
        found["proxy_user"] = user
    settings = Settings(**found)  # type: ignore[arg-type]
    if len(str(settings.socket.resolve())) > 100:  # a Unix socket path holds 107 bytes at most
        raise SettingError(
            f"{PREFIX}REPLICA_DIR is too deep for a Unix socket: {settings.replica_dir}"
        )
    return settings


def _integer(name: str, raw: str, least: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = least - 1
    if value < least:
        raise SettingError(f"{name} must be a whole number of at least {least}, got {raw!r}")
    return value


def _address(name: str, raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise SettingError(f"{name} must be an IP address to listen on, got {raw!r}") from None


def _networks(name: str, raw: str) -> tuple[str, ...]:
    """Addresses or CIDR ranges, separated by commas or spaces."""
    try:
        return tuple(
            str(ipaddress.ip_network(part, strict=False)) for part in raw.replace(",", " ").split()
        )
    except ValueError as error:
        raise SettingError(f"{name} takes addresses or CIDR ranges (10.0.0.0/8): {error}") from None
