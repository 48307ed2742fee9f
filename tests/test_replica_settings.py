"""replica/settings.py and replica/nginx_conf.py: KAPIKO_* variables into a config nginx accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from replica.nginx_conf import nginx_conf
from replica.settings import SettingError, Settings, settings_from_env
from replica.supervise import find_nginx


def test_defaults_are_generous_and_every_variable_is_read() -> None:
    assert settings_from_env({}) == Settings()
    env = {
        "KAPIKO_HOST": "0.0.0.0", "KAPIKO_PORT": "8080", "KAPIKO_WORKERS": "4",
        "KAPIKO_RATE_LIMIT": "20", "KAPIKO_RATE_BURST": "0", "KAPIKO_EXPORTS_PER_CLIENT": "1",
        "KAPIKO_EXPORTS_PER_REPLICA": "3", "KAPIKO_CLIENT_TIMEOUT": "5",
        "KAPIKO_TRUSTED_PROXIES": "10.0.0.1, 192.168.0.0/16 ::1", "KAPIKO_REPLICA_DIR": "/tmp/r",
    }  # fmt: skip
    assert settings_from_env(env) == Settings(
        host="0.0.0.0", port=8080, workers=4, rate_limit=20, rate_burst=0,
        exports_per_client=1, exports_per_replica=3, client_timeout=5,
        trusted_proxies=("10.0.0.1/32", "192.168.0.0/16", "::1/128"), replica_dir=Path("/tmp/r"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("KAPIKO_RATE_LIMIT", "0", "KAPIKO_RATE_LIMIT must be a whole number of at least 1"),
        ("KAPIKO_CLIENT_TIMEOUT", "ten", "KAPIKO_CLIENT_TIMEOUT must be a whole number"),
        ("KAPIKO_HOST", "localhost", "KAPIKO_HOST must be an IP address"),
        ("KAPIKO_TRUSTED_PROXIES", "10.0.0.0/33", "KAPIKO_TRUSTED_PROXIES takes addresses"),
        ("KAPIKO_REPLICA_DIR", "/tmp/" + "d" * 120, "too deep for a Unix socket"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingError, match=says):
        settings_from_env({name: value})


def test_python_m_replica_exits_2_on_a_bad_setting() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "replica"],
        env={**os.environ, "KAPIKO_RATE_BURST": "-1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "KAPIKO_RATE_BURST" in done.stderr


def test_the_rendered_config_is_valid_nginx_and_holds_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        replica_dir=tmp_path, port=18080, workers=3, rate_limit=7, rate_burst=9,
        trusted_proxies=("10.0.0.0/8", "::1/128"), client_timeout=4, host="::",
    )  # fmt: skip
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(settings))
    text = conf.read_text()
    assert "{{" not in text and f"server unix:{tmp_path}/gunicorn.sock" in text
    assert "set_real_ip_from 10.0.0.0/8;" in text and "set_real_ip_from ::1/128;" in text
    assert "rate=7r/s" in text and "burst=9 nodelay" in text and "max_conns=2;" in text
    assert "client_header_timeout 4s;" in text and "listen [::]:18080" in text
    checked = subprocess.run(
        [find_nginx(), "-t", "-q", "-e", "stderr", "-p", str(tmp_path), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr


def test_nginx_is_installed_for_the_replica() -> None:
    assert shutil.which("nginx") or Path("/usr/sbin/nginx").exists(), "run make proxy-deps"
