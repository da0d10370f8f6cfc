"""The console's defaults, in one place; the command's options refer to these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsoleSettings:
    host: str = "127.0.0.1"  # loopback; in production a TLS reverse proxy sits in front (see the README)
    port: int = 8080
    secure_cookies: bool = False  # set behind HTTPS: the session cookie is then only sent over TLS
    session_max_age_s: int = 8 * 3600
    warrant_valid_s: float = 72 * 3600.0  # a warrant without k approvals by then expires
    login_failures_allowed: int = 5  # per account and per client address, within the window
    login_window_s: float = 900.0
    max_share_bytes: int = 64 * 1024
    min_password_length: int = 10


DEFAULTS = ConsoleSettings()
