"""Defaults and validation for every ACME_* setting: how `fab setup` / `fab certificate` get
the balancer's certificate from an ACME CA with Debian's certbot, and how it renews.

certbot runs on the balancer in standalone mode, on a loopback port; haproxy's port-80
frontend sends `/.well-known/acme-challenge/` there (plugins/serverconfig/haproxy.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import rules
from .errors import SettingsError

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETS_ENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

DEFAULTS: dict[str, Any] = {
    # False: no certbot and no challenge route; HAPROXY_TLS_PEM is managed otherwise.
    "ACME_ENABLED": True,
    # The CA's ACME directory.
    "ACME_DIRECTORY_URL": LETS_ENCRYPT,
    # Let's Encrypt's staging CA instead (untrusted certificates, generous rate limits): for
    # trying a new setup without using up the production rate limits.
    "ACME_STAGING": False,
    # Where the CA sends expiry warnings; None registers without one.
    "ACME_EMAIL": None,
    # The loopback port certbot's standalone server answers HTTP-01 challenges on.
    "ACME_CHALLENGE_PORT": 8402,
    # certbot's --config-dir on the balancer (accounts, live/<name>/, renewal conf, hooks).
    "ACME_CONFIG_DIR": "/etc/letsencrypt",
    # A CA file on the balancer that certbot trusts the ACME server's own HTTPS with, for a
    # private CA; None: the system's trust store (right for Let's Encrypt).
    "ACME_CA_BUNDLE": None,
}
PREFIX = "ACME_"


@dataclass(frozen=True)
class Acme:
    """Where the certificate comes from and how certbot runs on the balancer."""

    directory_url: str
    email: str | None
    challenge_port: int
    config_dir: str
    ca_bundle: str | None

    @property
    def renewal_hook(self) -> str:
        """The deploy hook certbot runs after every renewal (all of renewal-hooks/deploy/)."""
        return f"{self.config_dir}/renewal-hooks/deploy/blog-haproxy"

    def lineage(self, name: str) -> str:
        """Where certbot keeps the current certificate named `name`."""
        return f"{self.config_dir}/live/{name}"


def acme_from_settings(settings: Mapping[str, Any]) -> Acme | None:
    """Check every ACME_* value; None when ACME_ENABLED is False."""
    ours = {k: v for k, v in settings.items() if k.startswith(PREFIX)}
    rules.known_keys("a setting of ACME certificates", ours, DEFAULTS)
    merged = {**DEFAULTS, **ours}
    if not rules.boolean("ACME_ENABLED", merged["ACME_ENABLED"]):
        return None
    directory = rules.https_url("ACME_DIRECTORY_URL", merged["ACME_DIRECTORY_URL"])
    if rules.boolean("ACME_STAGING", merged["ACME_STAGING"]):
        if directory != LETS_ENCRYPT:
            raise SettingsError(
                "ACME_STAGING", True, "False when ACME_DIRECTORY_URL names another CA"
            )
        directory = LETS_ENCRYPT_STAGING
    email, bundle = merged["ACME_EMAIL"], merged["ACME_CA_BUNDLE"]
    return Acme(
        directory_url=directory,
        email=None if email is None else rules.email("ACME_EMAIL", email),
        challenge_port=rules.port("ACME_CHALLENGE_PORT", merged["ACME_CHALLENGE_PORT"]),
        config_dir=rules.folder_path("ACME_CONFIG_DIR", merged["ACME_CONFIG_DIR"]),
        ca_bundle=None if bundle is None else rules.file_path("ACME_CA_BUNDLE", bundle),
    )
