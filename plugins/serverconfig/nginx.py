"""Rendering nginx vhosts (and the optional pagespeed include) from the model. Pure."""

from __future__ import annotations

from .model import Backend, Site, host_port

ERROR_PAGE = "/404.html"
HEALTH_CHECK = "/healthz.txt"
# Paths the vhost has an exact `location =` for: a redirect from one would duplicate it.
EXACT_LOCATIONS = {ERROR_PAGE: "the 404 page", HEALTH_CHECK: "the release's health check"}

# Mozilla's intermediate profile (v5.7) without the DHE suites: those need an ssl_dhparam
# file we do not ship, and every client that could use them also speaks ECDHE.
INTERMEDIATE_CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
FINGERPRINTED = r"\.[0-9a-f]{10}\.[a-z0-9]+$"
HSTS_MAX_AGE = 63072000
# Types whose responses get "; charset=utf-8" (text/html always does).
CHARSET_TYPES = (
    "text/css text/plain text/xml application/javascript application/json "
    "application/atom+xml application/rss+xml application/xml image/svg+xml"
)


def header(site: Site) -> str:
    """The first line of every generated file."""
    return f"# generated from the Pelican settings for {site.siteurl}; do not edit\n"


def _h2_token(version: tuple[int, int, int]) -> str:
    """What nginx calls its multiplexed protocol at `version`, for `listen`."""
    return "spdy" if version < (1, 9, 5) else "http2"


class _Block:
    """Indented nginx text, one directive per line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def add(self, text: str) -> None:
        self.lines.append("    " * self.depth + text if text else "")

    def open(self, text: str) -> None:
        self.add(text + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.add("}")


def _listens(site: Site, backend: Backend, *, primary: bool = True) -> list[str]:
    """`listen` directives of a server block; socket options go on the `primary` one only."""
    nginx, version = site.nginx, site.nginx.version
    if nginx.role == "standalone":
        tls = host_port(backend.address, nginx.https_port)
        result = [
            f"listen {tls} ssl;"
            if version >= (1, 25, 1)
            else f"listen {tls} ssl {_h2_token(version)};"
        ]
        if nginx.http3:
            result.append(f"listen {tls} quic{' reuseport' if primary else ''};")
        return result
    proxy = " proxy_protocol" if site.real_ip == "proxy_protocol" else ""
    result = [f"listen {host_port(backend.address, backend.port)}{proxy};"]
    if backend.socket is not None:
        result.append(f"listen unix:{backend.socket}{proxy};")
    if site.haproxy.topology == "tcp" and backend.h2_port is not None:
        h2 = "" if version >= (1, 25, 1) else f" {_h2_token(version)}"
        result.append(f"listen {host_port(backend.address, backend.h2_port)}{h2}{proxy};")
        if backend.h2_socket is not None:
            result.append(f"listen unix:{backend.h2_socket}{h2}{proxy};")
    return result


def _security_headers(site: Site, out: _Block) -> None:
    # add_header in a location replaces every add_header inherited from the server, so each
    # location that sets Cache-Control repeats these; `always` puts them on 404s too.
    always = " always" if site.nginx.version >= (1, 7, 5) else ""
    if site.scheme == "https" or site.nginx.role == "standalone":
        out.add(f'add_header Strict-Transport-Security "max-age={HSTS_MAX_AGE}"{always};')
    out.add(f'add_header X-Content-Type-Options "nosniff"{always};')
    out.add(f'add_header Referrer-Policy "strict-origin-when-cross-origin"{always};')
    out.add(f'add_header Content-Security-Policy "{CONTENT_SECURITY_POLICY}"{always};')
    if site.nginx.http3:
        out.add(f"add_header Alt-Svc 'h3=\":{site.nginx.https_port}\"; ma=86400'{always};")


def _location(site: Site, out: _Block, match: str, cache: str | None, *extra: str) -> None:
    out.open(f"location {match}")
    for line in extra:
        out.add(line)
    if cache is not None:
        always = " always" if site.nginx.version >= (1, 7, 5) else ""
        out.add(f'add_header Cache-Control "{cache}"{always};')
    _security_headers(site, out)
    out.close()


def _tls(site: Site, out: _Block) -> None:
    tls, version = site.nginx.tls, site.nginx.version
    if version >= (1, 25, 1):
        out.add("http2 on;")
    if site.nginx.http3:
        out.add("http3 on;")
    out.add(f"ssl_certificate {tls.certificate};")
    out.add(f"ssl_certificate_key {tls.certificate_key};")
    out.add("ssl_session_timeout 1d;")
    out.add("ssl_session_cache shared:MozSSL:10m;")
    if version >= (1, 5, 9):
        out.add("ssl_session_tickets off;")
    if tls.profile == "modern":
        out.add("ssl_protocols TLSv1.3;")
    else:
        protocols = "TLSv1.2 TLSv1.3" if version >= (1, 13, 0) else "TLSv1.2"
        out.add(f"ssl_protocols {protocols};")
        out.add(f"ssl_ciphers {INTERMEDIATE_CIPHERS};")
    out.add("ssl_prefer_server_ciphers off;")
    if tls.trusted_certificate is not None:
        out.add("ssl_stapling on;")
        out.add("ssl_stapling_verify on;")
        out.add(f"ssl_trusted_certificate {tls.trusted_certificate};")


def _names(site: Site) -> tuple[str, str | None]:
    """The server_name list of the site and the name the www redirect answers for, if any."""
    nginx = site.nginx
    names = [site.host, *nginx.aliases]
    other = None
    if nginx.www_redirect == "to-www":
        other = site.host
        names = [name for name in names if name != site.host]
        names.insert(0, "www." + site.host)
    elif nginx.www_redirect == "to-bare":
        other = site.host
        names = [name for name in names if name != site.host]
        names.insert(0, site.host.removeprefix("www."))
    return " ".join(dict.fromkeys(names)), other


def _canonical_host(site: Site) -> str:
    if site.nginx.www_redirect == "to-www":
        return "www." + site.host
    if site.nginx.www_redirect == "to-bare":
        return site.host.removeprefix("www.")
    return site.host


def _acme(site: Site, out: _Block) -> None:
    out.open("location ^~ /.well-known/acme-challenge/")
    out.add(f"root {site.nginx.acme_root};")
    out.add("default_type text/plain;")
    out.add("try_files $uri =404;")
    out.close()


def vhost(site: Site, backend: Backend) -> str:
    """The complete vhost of one backend, for nginx's `http {}` context."""
    nginx = site.nginx
    out = _Block()
    server_names, www_other = _names(site)
    canonical = _canonical_host(site)
    if nginx.role == "standalone":
        https_port = "" if nginx.https_port == 443 else f":{nginx.https_port}"
        out.add("# Plain HTTP only answers ACME challenges and sends everyone else to https.")
        out.open("server")
        out.add(f"listen {host_port(backend.address, backend.port)};")
        out.add(f"server_name {server_names}{' ' + www_other if www_other else ''};")
        out.add("server_tokens off;")
        _acme(site, out)
        out.open("location /")
        out.add(f"return 301 https://{canonical}{https_port}$request_uri;")
        out.close()
        out.close()
        out.add("")
    if www_other is not None:
        scheme = "https" if nginx.role == "standalone" else site.scheme
        out.open("server")
        for listen in _listens(site, backend, primary=False):
            out.add(listen)
        out.add(f"server_name {www_other};")
        out.add("server_tokens off;")
        if nginx.role == "standalone":
            _tls(site, out)
        out.add(f"return 301 {scheme}://{canonical}$request_uri;")
        out.close()
        out.add("")

    out.open("server")
    for listen in _listens(site, backend):
        out.add(listen)
    out.add(f"server_name {server_names};")
    out.add(f"root {backend.live_root};")
    out.add("index index.html;")
    out.add("server_tokens off;")
    out.add("port_in_redirect off;")
    if nginx.version >= (1, 11, 8):
        out.add("absolute_redirect off;")
    if nginx.role == "standalone":
        _tls(site, out)
    if site.real_ip:
        out.add("# The client address as haproxy saw it.")
        out.add(f"set_real_ip_from {site.balancer.address};")
        if backend.socket is not None:
            out.add("set_real_ip_from unix:;")
        header_name = "proxy_protocol" if site.real_ip == "proxy_protocol" else "X-Forwarded-For"
        out.add(f"real_ip_header {header_name};")
    out.add("# Headers and a small file leave in one TCP segment, so haproxy wakes once per reply.")
    out.add("sendfile on;")
    out.add("tcp_nopush on;")
    out.add("charset utf-8;")
    out.add(f"charset_types {CHARSET_TYPES};")
    out.add("gzip_static on;")
    out.add("gzip_vary on;")
    if nginx.brotli:
        out.add("brotli_static on;")
    if nginx.pagespeed is not None:
        out.add(f"include {backend.root.rstrip('/')}/nginx/pagespeed.conf;")
    out.add(f"error_page 404 {ERROR_PAGE};")
    _security_headers(site, out)
    out.add("")
    _location(site, out, f"= {ERROR_PAGE}", "no-cache", "internal;")
    _location(site, out, f"= {HEALTH_CHECK}", "no-store", "default_type text/plain;")
    _acme(site, out)
    _location(site, out, "^~ /.well-known/", "no-cache")
    out.add("# Dotfiles (.git, .htaccess, editor droppings) are never served.")
    _location(site, out, r"~ /\.", None, "deny all;")
    for source, target in ((r.source, r.target) for r in site.redirects):
        out.open(f"location = {source}")
        out.add(f"return 301 {target};")
        out.close()
    out.add("# Fingerprinted names change with their content: cache them for good.")
    _location(
        site, out, f'~ "{FINGERPRINTED}"', "public, max-age=31536000, immutable", "access_log off;"
    )
    out.add("# Pages and feeds change in place: caches must ask again every time.")
    _location(site, out, r"~* \.(?:html|txt|json)$", "no-cache")
    _location(
        site, out, r"~* \.atom$", "no-cache", "types { }", "default_type application/atom+xml;"
    )
    _location(site, out, r"~* \.xml$", "no-cache", "types { }", "default_type application/xml;")
    _location(
        site, out, "/", f"public, max-age={nginx.static_max_age}", "try_files $uri $uri/ =404;"
    )
    out.close()
    return header(site) + "\n".join(out.lines) + "\n"


def pagespeed(site: Site) -> str:
    """The ngx_pagespeed include, only meaningful with the module loaded."""
    assert site.nginx.pagespeed is not None
    options = site.nginx.pagespeed
    lines = [
        "pagespeed on;",
        f"pagespeed FileCachePath {options.file_cache_path};",
        f"pagespeed RewriteLevel {options.rewrite_level};",
        f"pagespeed EnableFilters {','.join(options.filters)};",
        "# Beacons and pagespeed resources must reach the module, not the file system.",
        'location ~ "\\.pagespeed\\.([a-z]\\.)?[a-z]{2}\\.[^.]{10}\\.[^.]+" {',
        '    add_header "" "";',
        "}",
        'location ~ "^/pagespeed_static/" { }',
        'location ~ "^/ngx_pagespeed_beacon$" { }',
    ]
    return header(site) + "\n".join(lines) + "\n"


def render(site: Site) -> dict[str, str]:
    """{path under DEPLOY_BUILD_PATH: text} for every nginx file of the site."""
    files = {f"nginx/{b.name}/site.conf": vhost(site, b) for b in site.backends}
    if site.nginx.pagespeed is not None:
        files.update({f"nginx/{b.name}/pagespeed.conf": pagespeed(site) for b in site.backends})
    return dict(sorted(files.items()))
