"""nginx's configuration for a replica: nginx.conf.template with the settings filled in."""

from __future__ import annotations

import os
import re
from pathlib import Path

from replica.settings import Settings

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
RETRY_AFTER_S = 1  # a client over a limit has a free slot or token again within about a second
# Headers a browser script may read: the app's own (service/headers.py EXPOSED_HEADERS; a test
# keeps the two the same) and Retry-After, which is not safelisted and is what a 429 is about.
EXPOSED_HEADERS = ("Content-Disposition", "ETag", "Link", "Retry-After")
CORS = (
    "add_header Access-Control-Allow-Origin * always;\n"
    f'            add_header Access-Control-Expose-Headers "{", ".join(EXPOSED_HEADERS)}" always;'
)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def nginx_conf(settings: Settings, access_log: bool = True) -> str:
    """The rendered configuration; paths are absolute, so nginx may start from any folder."""
    folder = settings.replica_dir.resolve()
    values = {
        "replica_dir": str(folder),
        "socket": str(folder / settings.socket.name),
        "listen": _listen(settings.host, settings.port),
        "user_line": _user_line(settings.proxy_user),
        "access_log": "/dev/stdout kapiko" if access_log else "off",
        "real_ip_lines": "\n".join(
            f"    set_real_ip_from {network};" for network in settings.trusted_proxies
        )
        or "    # (none configured: every client is the address it connects from)",
        "rate_limit": str(settings.rate_limit),
        "rate_burst": str(settings.rate_burst),
        "exports_per_client": str(settings.exports_per_client),
        "exports_per_replica": str(settings.exports_per_replica),
        "export_workers": str(max(1, settings.workers - 1)),
        "client_timeout": str(settings.client_timeout),
        "retry_after": str(RETRY_AFTER_S),
        "cors": CORS,
    }
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], TEMPLATE.read_text())


def _listen(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _user_line(user: str) -> str:
    """nginx's `user`: it matters only when the master runs as root, where nginx would switch
    its workers to nobody, who cannot reach a replica folder under a private home; so as root
    the workers stay root unless PROXY_USER names the user to switch to."""
    if os.geteuid() != 0:
        return "# (not root: the workers run as this user)"
    return f"user {user or 'root'};"
