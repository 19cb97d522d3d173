"""Rendering nginx vhosts (and the optional pagespeed include) from the model. Pure."""

from __future__ import annotations

from plugins import contract
from plugins.settings.hosts import Backend, host_port
from plugins.settings.site import Site

from .security import (
    CONTENT_SECURITY_POLICY,
    HSTS,
    INTERMEDIATE_CIPHERS,
    PERMISSIONS_POLICY,
    SEARCH_CONTENT_SECURITY_POLICY,
    key_exchange_groups,
    nginx_openssl,
)

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


def _always(site: Site) -> str:
    """`always` puts a header on every status (404s, redirects) from nginx 1.7.5 on."""
    return " always" if site.nginx.version >= (1, 7, 5) else ""


def _hsts(site: Site, out: _Block) -> None:
    if site.scheme == "https" or site.nginx.role == "standalone":
        out.add(f'add_header Strict-Transport-Security "{HSTS}"{_always(site)};')


def _security_headers(site: Site, out: _Block, csp: str = CONTENT_SECURITY_POLICY) -> None:
    # add_header in a location replaces every add_header inherited from the server, so each
    # location that sets Cache-Control repeats these.
    always = _always(site)
    _hsts(site, out)
    out.add(f'add_header X-Content-Type-Options "nosniff"{always};')
    out.add(f'add_header Referrer-Policy "strict-origin-when-cross-origin"{always};')
    out.add(f'add_header Content-Security-Policy "{csp}"{always};')
    out.add(f'add_header Permissions-Policy "{PERMISSIONS_POLICY}"{always};')
    if site.nginx.http3:
        out.add(f"add_header Alt-Svc 'h3=\":{site.nginx.https_port}\"; ma=86400'{always};")


def _location(
    site: Site,
    out: _Block,
    match: str,
    cache: str | None,
    *extra: str,
    csp: str = CONTENT_SECURITY_POLICY,
) -> None:
    out.open(f"location {match}")
    for line in extra:
        out.add(line)
    if cache is not None:
        out.add(f'add_header Cache-Control "{cache}"{_always(site)};')
    _security_headers(site, out, csp)
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
    if version >= (1, 11, 0):
        # A list needs 1.11; before it nginx offers only the one curve, prime256v1.
        out.add(f"ssl_ecdh_curve {key_exchange_groups(nginx_openssl(version))};")
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


# nginx keeps server names in a hash of buckets of 64 bytes by default (Debian's nginx.conf
# leaves it so): a name longer than 46 characters fits no bucket, and `nginx -t` fails.
_DEFAULT_BUCKET = 64
_POINTER = 8


def _names_hash_bucket_size(names: list[str]) -> int | None:
    """The server_names_hash_bucket_size the longest name needs, if more than the default.

    nginx needs room for a name's entry (a pointer, the name and two bytes, aligned to a
    pointer) plus the bucket's end marker, and rounds the size up to a cache line.
    """
    longest = max(len(name) for name in names)
    needed = _POINTER + -(-(longest + 2) // _POINTER) * _POINTER + _POINTER
    if needed <= _DEFAULT_BUCKET:
        return None
    return -(-needed // _DEFAULT_BUCKET) * _DEFAULT_BUCKET


def _plain_http_server(site: Site, backend: Backend, out: _Block, names: str) -> None:
    """Standalone role: port 80 answers ACME challenges and sends everyone else to https."""
    nginx = site.nginx
    https_port = "" if nginx.https_port == 443 else f":{nginx.https_port}"
    out.add("# Plain HTTP only answers ACME challenges and sends everyone else to https.")
    out.open("server")
    out.add(f"listen {host_port(backend.address, backend.port)};")
    out.add(f"server_name {names};")
    out.add("server_tokens off;")
    _acme(site, out)
    out.open("location /")
    out.add(f"return 301 https://{_canonical_host(site)}{https_port}$request_uri;")
    out.close()
    out.close()
    out.add("")


def _www_redirect_server(site: Site, backend: Backend, out: _Block, other: str) -> None:
    """The name NGINX_WWW_REDIRECT sends to the canonical one."""
    standalone = site.nginx.role == "standalone"
    scheme = "https" if standalone else site.scheme
    out.open("server")
    for listen in _listens(site, backend, primary=False):
        out.add(listen)
    out.add(f"server_name {other};")
    out.add("server_tokens off;")
    if standalone:
        _tls(site, out)
    # Without it the other name would never learn HSTS: it only ever answers redirects.
    _hsts(site, out)
    out.add(f"return 301 {scheme}://{_canonical_host(site)}$request_uri;")
    out.close()
    out.add("")


def _site_settings(site: Site, backend: Backend, out: _Block) -> None:
    """The site's server block up to its locations: root, TLS, client address, compression."""
    nginx = site.nginx
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
        out.add(f"include {backend.root / 'nginx' / 'pagespeed.conf'};")
    out.add(f"error_page 404 /{contract.ERROR_PAGE};")
    _security_headers(site, out)
    out.add("")


def _site_locations(site: Site, out: _Block) -> None:
    """Health file, ACME, dotfiles, redirects, and caching by kind of file."""
    _location(site, out, f"= /{contract.ERROR_PAGE}", "no-cache", "internal;")
    _location(site, out, f"= /{contract.HEALTH_FILE}", "no-store", "default_type text/plain;")
    _acme(site, out)
    _location(site, out, "^~ /.well-known/", "no-cache")
    out.add("# Dotfiles (.git, .htaccess, editor droppings) are never served.")
    _location(site, out, r"~ /\.", None, "deny all;")
    out.add("# Search runs Pagefind's WebAssembly: only the search page and Pagefind's files may.")
    for match in (f"= /{contract.SEARCH_PAGE}", f"^~ /{contract.SEARCH_BUNDLE}/"):
        _location(site, out, match, "no-cache", csp=SEARCH_CONTENT_SECURITY_POLICY)
    for source, target in ((r.source, r.target) for r in site.redirects):
        out.open(f"location = {source}")
        out.add(f"return 301 {target};")
        out.close()
    out.add("# Fingerprinted names change with their content: cache them for good.")
    _location(
        site,
        out,
        f'~ "{contract.FINGERPRINTED}"',
        "public, max-age=31536000, immutable",
        "access_log off;",
    )
    out.add("# Pages and feeds change in place: caches must ask again every time.")
    _location(site, out, r"~* \.(?:html|txt|json)$", "no-cache")
    _location(
        site, out, r"~* \.atom$", "no-cache", "types { }", "default_type application/atom+xml;"
    )
    _location(site, out, r"~* \.xml$", "no-cache", "types { }", "default_type application/xml;")
    _location(
        site,
        out,
        "/",
        f"public, max-age={site.nginx.static_max_age}",
        "try_files $uri $uri/ =404;",
    )


def vhost(site: Site, backend: Backend) -> str:
    """The complete vhost of one backend, for nginx's `http {}` context."""
    out = _Block()
    server_names, www_other = _names(site)
    bucket = _names_hash_bucket_size([*server_names.split(), *([www_other] if www_other else [])])
    if bucket is not None:
        out.add("# A server name longer than nginx's default hash bucket holds.")
        out.add(f"server_names_hash_bucket_size {bucket};")
        out.add("")
    if site.nginx.role == "standalone":
        _plain_http_server(
            site, backend, out, f"{server_names}{' ' + www_other if www_other else ''}"
        )
    if www_other is not None:
        _www_redirect_server(site, backend, out, www_other)
    out.open("server")
    for listen in _listens(site, backend):
        out.add(listen)
    out.add(f"server_name {server_names};")
    _site_settings(site, backend, out)
    _site_locations(site, out)
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
    files = {contract.vhost_path(b.name): vhost(site, b) for b in site.backends}
    if site.nginx.pagespeed is not None:
        files.update({contract.pagespeed_path(b.name): pagespeed(site) for b in site.backends})
    return dict(sorted(files.items()))
