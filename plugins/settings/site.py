"""The site's server model: NGINX_* and HAPROXY_* settings, SITEURL and the hosts, validated.

`site_from_settings` is the one way to a `Site`; the render functions of the serverconfig
plugin work from it, and so does the deploy. Everything in a `Site` has passed `rules`.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from . import acme, hosts, redirects, rules
from .acme import Acme
from .errors import SettingsError
from .hosts import Backend, Balancer
from .passwords import deterministic_salt, sha512_crypt
from .redirects import Redirect

log = logging.getLogger(__name__)

Version = tuple[int, int, int]


@dataclass(frozen=True)
class Tls:
    """Certificate files and the Mozilla profile for nginx terminating TLS itself."""

    certificate: str
    certificate_key: str
    trusted_certificate: str | None
    profile: str


@dataclass(frozen=True)
class Pagespeed:
    """ngx_pagespeed directives for the optional include."""

    file_cache_path: str
    rewrite_level: str
    filters: tuple[str, ...]


@dataclass(frozen=True)
class Nginx:
    """How the nginx vhosts look."""

    version: Version
    role: str
    https_port: int
    http3: bool
    tls: Tls
    brotli: bool
    aliases: tuple[str, ...]
    www_redirect: str | None
    static_max_age: int
    acme_root: str
    pagespeed: Pagespeed | None


@dataclass(frozen=True)
class Stats:
    """haproxy's statistics page; the password is kept only as a crypt(3) hash."""

    address: str
    port: int
    uri: str
    realm: str
    refresh: int
    user: str
    password_hash: str

    @property
    def tls(self) -> bool:
        """Off loopback, the page is served over TLS: Basic credentials never cross a network
        in the clear."""
        return not ipaddress.ip_address(self.address).is_loopback


@dataclass(frozen=True)
class Haproxy:
    """How the haproxy config looks."""

    version: Version
    topology: str
    bind_address: str
    http_port: int
    https_port: int
    http_redirect: bool
    pem: str
    tls_profile: str
    npn: bool
    log_target: str
    stats: Stats | None


@dataclass(frozen=True)
class Site:
    """Everything the render functions need, validated."""

    siteurl: str
    scheme: str
    host: str
    release: str
    backends: tuple[Backend, ...]
    balancer: Balancer
    nginx: Nginx
    haproxy: Haproxy
    redirects: tuple[Redirect, ...]
    # None: the certificate is managed otherwise (ACME_ENABLED = False).
    acme: Acme | None

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the site answers to (and a certificate must cover): SITEURL's host, then
        NGINX_SERVER_ALIASES."""
        return tuple(dict.fromkeys((self.host, *self.nginx.aliases)))

    @property
    def real_ip(self) -> str:
        """How nginx learns the client address: "x-forwarded-for", "proxy_protocol" or ""."""
        if self.nginx.role == "standalone":
            return ""
        if self.haproxy.topology == "http":
            return "x-forwarded-for"
        # PROXY protocol on nginx listeners arrived in 1.5.12; older ones cannot be told.
        return "proxy_protocol" if self.nginx.version >= (1, 5, 12) else ""


DEFAULTS: dict[str, Any] = {
    # Debian 12's nginx. Decides the listen syntax: spdy < 1.9.5, `listen … http2` < 1.25.1,
    # `http2 on;` after, and which newer directives may be used at all.
    "NGINX_VERSION": "1.22",
    # "backend": plain listeners behind haproxy (which terminates TLS). "standalone": nginx
    # terminates TLS itself and port 80 redirects to https.
    "NGINX_ROLE": "backend",
    # Standalone role: the TLS port on each backend's address (port 80 is its "port").
    "NGINX_HTTPS_PORT": 443,
    # Standalone role, nginx 1.25.0 and newer: also listen for QUIC and advertise Alt-Svc.
    "NGINX_HTTP3": False,
    "NGINX_TLS_PROFILE": "intermediate",
    "NGINX_TLS_CERTIFICATE": "/etc/ssl/blog/fullchain.pem",
    "NGINX_TLS_CERTIFICATE_KEY": "/etc/ssl/blog/privkey.pem",
    # The issuer chain; when set, OCSP stapling is turned on.
    "NGINX_TLS_TRUSTED_CERTIFICATE": None,
    # Serve the .br siblings the webperf plugin writes (needs libnginx-mod-http-brotli-static).
    "NGINX_BROTLI_STATIC": True,
    # More names the site answers to, besides SITEURL's host.
    "NGINX_SERVER_ALIASES": [],
    # None, "to-www" (example.org → www.example.org) or "to-bare" (the reverse).
    "NGINX_WWW_REDIRECT": None,
    # Cache lifetime (seconds) of static files that are neither HTML nor fingerprinted.
    "NGINX_STATIC_MAX_AGE": 604800,
    # Where certbot (or another ACME client) puts http-01 challenge files.
    "NGINX_ACME_ROOT": "/var/www/acme",
    # Site-wide redirects, {"/old/path/": "/new/path/"}; posts add theirs with :redirect_from:.
    "NGINX_REDIRECTS": {},
    # ngx_pagespeed is retired upstream; webperf does its work at build time instead.
    "NGINX_PAGESPEED": False,
    "NGINX_PAGESPEED_FILE_CACHE_PATH": "/var/cache/ngx_pagespeed",
    "NGINX_PAGESPEED_REWRITE_LEVEL": "PassThrough",
    "NGINX_PAGESPEED_FILTERS": [
        "combine_css",
        "combine_javascript",
        "remove_comments",
        "collapse_whitespace",
    ],
    # Debian 12's haproxy.
    "HAPROXY_VERSION": "2.6",
    # "http": haproxy speaks h2/HTTP/1.1 to clients and keep-alive HTTP/1.1 to backends.
    # "tcp": haproxy only terminates TLS and routes h2 (SPDY) clients to each backend's
    # h2_port and the rest to its port, with the PROXY protocol carrying the client address.
    "HAPROXY_TOPOLOGY": "http",
    # "*" for every address.
    "HAPROXY_BIND_ADDRESS": "*",
    "HAPROXY_HTTP_PORT": 80,
    "HAPROXY_HTTPS_PORT": 443,
    # False serves the site on the plain port instead of redirecting (benchmarks only).
    "HAPROXY_HTTP_REDIRECT": True,
    # Certificate chain and key in one file.
    "HAPROXY_TLS_PEM": "/etc/haproxy/certs/blog.pem",
    "HAPROXY_TLS_PROFILE": "intermediate",
    # Also offer NPN, for clients too old for ALPN (the SPDY era).
    "HAPROXY_NPN": False,
    # The syslog socket haproxy logs to, or "stdout" (its own output: tests, containers).
    "HAPROXY_LOG_TARGET": "/dev/log",
    "HAPROXY_STATS_ADDRESS": "127.0.0.1",
    "HAPROXY_STATS_PORT": 8404,
    "HAPROXY_STATS_URI": "/",
    "HAPROXY_STATS_REALM": "haproxy-stats",
    "HAPROXY_STATS_REFRESH": 10,
    # From the environment (publishconf.py); never committed.
    "HAPROXY_STATS_USER": None,
    "HAPROXY_STATS_PASSWORD": None,
    # publishconf.py sets True: a build without good credentials then fails.
    "HAPROXY_STATS_REQUIRED": False,
}

_PROFILES = ("intermediate", "modern")
_PAGESPEED_LEVELS = ("PassThrough", "CoreFilters", "OptimizeForBandwidth")
_MIN_PASSWORD = 12
# `openssl passwd` hashes only the first 256 bytes: a longer password would never log in.
_MAX_PASSWORD_BYTES = 256


def _stats(merged: Mapping[str, Any]) -> Stats | None:
    user, password = merged["HAPROXY_STATS_USER"], merged["HAPROXY_STATS_PASSWORD"]
    required = rules.boolean("HAPROXY_STATS_REQUIRED", merged["HAPROXY_STATS_REQUIRED"])
    if not user and not password:
        if required:
            raise SettingsError(
                "HAPROXY_STATS_USER/HAPROXY_STATS_PASSWORD",
                None,
                "credentials for the stats page: set the HAPROXY_STATS_USER and "
                "HAPROXY_STATS_PASSWORD environment variables for a publish build",
            )
        log.info("serverconfig: no stats credentials, the haproxy stats page is left out")
        return None
    user = rules.user_name("HAPROXY_STATS_USER", user)
    password = rules.password("HAPROXY_STATS_PASSWORD", password)
    if user == password or password.lower() in ("admin", "password", "haproxy"):
        raise SettingsError(
            "HAPROXY_STATS_PASSWORD",
            password,
            "a password that is not a default or the user",
            secret=True,
        )
    if len(password) < _MIN_PASSWORD:
        raise SettingsError(
            "HAPROXY_STATS_PASSWORD",
            f"<hidden, {len(password)} characters>",
            f"at least {_MIN_PASSWORD} characters",
        )
    if len(password.encode()) > _MAX_PASSWORD_BYTES:
        raise SettingsError(
            "HAPROXY_STATS_PASSWORD",
            f"<hidden, {len(password.encode())} bytes>",
            f"at most {_MAX_PASSWORD_BYTES} bytes (openssl passwd ignores the rest)",
        )
    return Stats(
        address=rules.ip_address("HAPROXY_STATS_ADDRESS", merged["HAPROXY_STATS_ADDRESS"]),
        port=rules.port("HAPROXY_STATS_PORT", merged["HAPROXY_STATS_PORT"]),
        uri=rules.url_path("HAPROXY_STATS_URI", merged["HAPROXY_STATS_URI"]),
        realm=rules.word("HAPROXY_STATS_REALM", merged["HAPROXY_STATS_REALM"]),
        refresh=rules.integer("HAPROXY_STATS_REFRESH", merged["HAPROXY_STATS_REFRESH"], 1, 3600),
        user=user,
        password_hash=sha512_crypt(password, deterministic_salt(user, password)),
    )


def _nginx(merged: Mapping[str, Any], host: str) -> Nginx:
    version = rules.version("NGINX_VERSION", merged["NGINX_VERSION"])
    role = rules.choice("NGINX_ROLE", merged["NGINX_ROLE"], ("backend", "standalone"))
    profile = rules.choice("NGINX_TLS_PROFILE", merged["NGINX_TLS_PROFILE"], _PROFILES)
    if role == "standalone" and profile == "modern" and version < (1, 13, 0):
        raise SettingsError(
            "NGINX_TLS_PROFILE", profile, "'intermediate' for nginx before 1.13 (no TLSv1.3)"
        )
    http3 = rules.boolean("NGINX_HTTP3", merged["NGINX_HTTP3"])
    if http3 and (role != "standalone" or version < (1, 25, 0)):
        raise SettingsError(
            "NGINX_HTTP3",
            http3,
            "False unless NGINX_ROLE is 'standalone' and NGINX_VERSION >= 1.25",
        )
    trusted = merged["NGINX_TLS_TRUSTED_CERTIFICATE"]
    tls = Tls(
        certificate=rules.file_path("NGINX_TLS_CERTIFICATE", merged["NGINX_TLS_CERTIFICATE"]),
        certificate_key=rules.file_path(
            "NGINX_TLS_CERTIFICATE_KEY", merged["NGINX_TLS_CERTIFICATE_KEY"]
        ),
        trusted_certificate=None
        if trusted is None
        else rules.file_path("NGINX_TLS_TRUSTED_CERTIFICATE", trusted),
        profile=profile,
    )
    aliases_value = merged["NGINX_SERVER_ALIASES"]
    if not isinstance(aliases_value, list | tuple):
        raise SettingsError("NGINX_SERVER_ALIASES", aliases_value, "a list of hostnames")
    aliases = tuple(
        rules.hostname(f"NGINX_SERVER_ALIASES[{i}]", alias) for i, alias in enumerate(aliases_value)
    )
    www = merged["NGINX_WWW_REDIRECT"]
    if www is not None:
        www = rules.choice("NGINX_WWW_REDIRECT", www, ("to-www", "to-bare"))
        if www == "to-bare" and not host.startswith("www."):
            raise SettingsError(
                "NGINX_WWW_REDIRECT", www, f"'to-www' or None: SITEURL's host {host} has no www."
            )
        if www == "to-www" and host.startswith("www."):
            raise SettingsError(
                "NGINX_WWW_REDIRECT", www, f"'to-bare' or None: SITEURL's host {host} is www."
            )
    pagespeed = None
    if rules.boolean("NGINX_PAGESPEED", merged["NGINX_PAGESPEED"]):
        filters = merged["NGINX_PAGESPEED_FILTERS"]
        if not isinstance(filters, list | tuple) or not filters:
            raise SettingsError(
                "NGINX_PAGESPEED_FILTERS", filters, "a non-empty list of filter names"
            )
        pagespeed = Pagespeed(
            file_cache_path=rules.folder_path(
                "NGINX_PAGESPEED_FILE_CACHE_PATH", merged["NGINX_PAGESPEED_FILE_CACHE_PATH"]
            ),
            rewrite_level=rules.choice(
                "NGINX_PAGESPEED_REWRITE_LEVEL",
                merged["NGINX_PAGESPEED_REWRITE_LEVEL"],
                _PAGESPEED_LEVELS,
            ),
            filters=tuple(
                rules.word(f"NGINX_PAGESPEED_FILTERS[{i}]", f) for i, f in enumerate(filters)
            ),
        )
    return Nginx(
        version=version,
        role=role,
        https_port=rules.port("NGINX_HTTPS_PORT", merged["NGINX_HTTPS_PORT"]),
        http3=http3,
        tls=tls,
        brotli=rules.boolean("NGINX_BROTLI_STATIC", merged["NGINX_BROTLI_STATIC"]),
        aliases=aliases,
        www_redirect=www,
        static_max_age=rules.integer(
            "NGINX_STATIC_MAX_AGE", merged["NGINX_STATIC_MAX_AGE"], 0, 31536000
        ),
        acme_root=rules.folder_path("NGINX_ACME_ROOT", merged["NGINX_ACME_ROOT"]),
        pagespeed=pagespeed,
    )


def _haproxy(merged: Mapping[str, Any], acme_settings: Acme | None) -> Haproxy:
    bind = merged["HAPROXY_BIND_ADDRESS"]
    haproxy = Haproxy(
        version=rules.version("HAPROXY_VERSION", merged["HAPROXY_VERSION"]),
        topology=rules.choice("HAPROXY_TOPOLOGY", merged["HAPROXY_TOPOLOGY"], ("http", "tcp")),
        bind_address="*" if bind == "*" else rules.ip_address("HAPROXY_BIND_ADDRESS", bind),
        http_port=rules.port("HAPROXY_HTTP_PORT", merged["HAPROXY_HTTP_PORT"]),
        https_port=rules.port("HAPROXY_HTTPS_PORT", merged["HAPROXY_HTTPS_PORT"]),
        http_redirect=rules.boolean("HAPROXY_HTTP_REDIRECT", merged["HAPROXY_HTTP_REDIRECT"]),
        pem=rules.file_path("HAPROXY_TLS_PEM", merged["HAPROXY_TLS_PEM"]),
        tls_profile=rules.choice("HAPROXY_TLS_PROFILE", merged["HAPROXY_TLS_PROFILE"], _PROFILES),
        npn=rules.boolean("HAPROXY_NPN", merged["HAPROXY_NPN"]),
        log_target=rules.log_target("HAPROXY_LOG_TARGET", merged["HAPROXY_LOG_TARGET"]),
        stats=_stats(merged),
    )
    listeners = {
        "HAPROXY_HTTP_PORT": (haproxy.bind_address, haproxy.http_port),
        "HAPROXY_HTTPS_PORT": (haproxy.bind_address, haproxy.https_port),
    }
    if haproxy.stats is not None:
        listeners["HAPROXY_STATS_PORT"] = (haproxy.stats.address, haproxy.stats.port)
    if acme_settings is not None:
        # certbot's standalone server listens on loopback on the balancer, beside haproxy.
        listeners["ACME_CHALLENGE_PORT"] = ("127.0.0.1", acme_settings.challenge_port)
    rules.distinct_ports("haproxy", listeners)
    return haproxy


def siteurl_parts(value: object) -> tuple[str, str, str]:
    """SITEURL → (itself without a trailing slash, scheme, host).

    Only `scheme://host[:port][/path]` passes, whole: the URL is written into every config's
    header line, and urlsplit quietly drops tabs and newlines a config would not.
    """
    allowed = "an http:// or https:// URL: a host name, an optional port and path, nothing else"
    if not isinstance(value, str) or not value.isascii():
        raise SettingsError("SITEURL", value, allowed)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise SettingsError("SITEURL", value, allowed) from None
    host = parts.hostname or ""
    netloc = host if port is None else f"{host}:{port}"
    if (
        parts.scheme not in ("http", "https")
        or parts.netloc.lower() != netloc
        or value != f"{parts.scheme}://{parts.netloc}{parts.path}"
    ):
        raise SettingsError("SITEURL", value, allowed)
    rules.hostname("SITEURL host", host)
    if port is not None:
        rules.port("SITEURL port", port)
    if parts.path:
        rules.url_path("SITEURL path", parts.path)
    return value.rstrip("/"), parts.scheme, host


PREFIXES = ("NGINX_", "HAPROXY_")


def merged_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """DEFAULTS overlaid with what the settings file gave; unknown NGINX_/HAPROXY_ names fail."""
    ours = {k: v for k, v in settings.items() if k.startswith(PREFIXES)}
    rules.known_keys("a setting of the server config", ours, DEFAULTS)
    return {**DEFAULTS, **ours}


def site_from_settings(settings: Mapping[str, Any]) -> Site:
    """Validate every setting the server config reads and return the model."""
    merged = merged_settings(settings)
    siteurl, scheme, host = siteurl_parts(settings.get("SITEURL"))
    release = settings.get("RELEASE_ID", "dev")
    if not isinstance(release, str) or not rules.word("RELEASE_ID", release):
        raise SettingsError("RELEASE_ID", release, "one word")
    acme_settings = acme.acme_from_settings(settings)
    haproxy = _haproxy(merged, acme_settings)
    nginx = _nginx(merged, host)
    backends = hosts.backends(settings.get("BACKENDS"), tcp=haproxy.topology == "tcp")
    for index, backend in enumerate(backends):
        if nginx.role == "standalone" and nginx.https_port == backend.port:
            raise SettingsError(
                "NGINX_HTTPS_PORT",
                nginx.https_port,
                f"a port other than BACKENDS[{index}]['port'], where plain HTTP redirects",
            )
        if backend.socket is not None and nginx.role == "standalone":
            raise SettingsError(
                f"BACKENDS[{index}]['socket']",
                backend.socket,
                "None: NGINX_ROLE 'standalone' has no haproxy in front to use it",
            )
    return Site(
        siteurl=siteurl,
        scheme=scheme,
        host=host,
        release=release,
        backends=backends,
        balancer=hosts.balancer(settings.get("BALANCER")),
        nginx=nginx,
        haproxy=haproxy,
        redirects=tuple(redirects.from_setting(merged["NGINX_REDIRECTS"])),
        acme=acme_settings,
    )
