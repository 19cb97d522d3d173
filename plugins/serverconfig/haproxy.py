"""Rendering the complete haproxy config from the model. Pure."""

from __future__ import annotations

from plugins import contract
from plugins.settings.hosts import Backend, host_port
from plugins.settings.site import Site

from .nginx import header
from .security import (
    HSTS,
    INTERMEDIATE_CIPHERS,
    TLS13_SUITES,
    haproxy_openssl,
    key_exchange_groups,
)


def _h2_protocol(site: Site) -> str:
    """The protocol the backends' h2 listener speaks: h2, or SPDY for nginx before 1.9.5."""
    version = site.nginx.version
    if site.haproxy.topology == "tcp" and version < (1, 9, 5):
        # nginx implemented SPDY/2 until 1.5.10 and SPDY/3.1 after it.
        return "spdy/2" if version < (1, 5, 10) else "spdy/3.1"
    return "h2"


def _global(site: Site) -> list[str]:
    haproxy, version = site.haproxy, site.haproxy.version
    socket = f"stats socket {site.balancer.runtime_socket} mode 600 level admin"
    if version >= (1, 8, 0):
        # Lets the next master take over the listening sockets: reloads drop nothing.
        socket += " expose-fd listeners"
    log = f"log {haproxy.log_target} local0"
    if haproxy.log_target == "stdout":
        # One line per message, without a syslog header nobody parses there.
        log = "log stdout format raw local0"
    lines = ["global", f"    {log}", f"    {socket}", "    stats timeout 30s"]
    if version >= (2, 2, 0):
        # (1.8 to 2.1 take the list on each bind line; before 1.8 haproxy offers prime256v1.)
        lines.append(f"    ssl-default-bind-curves {_curves(site)}")
    if haproxy.tls_profile == "intermediate":
        lines.append(f"    ssl-default-bind-ciphers {INTERMEDIATE_CIPHERS}")
    if version >= (1, 9, 0):
        lines.append(f"    ssl-default-bind-ciphersuites {TLS13_SUITES}")
    if version >= (1, 8, 0):
        minimum = "TLSv1.3" if haproxy.tls_profile == "modern" else "TLSv1.2"
        lines.append(
            f"    ssl-default-bind-options prefer-client-ciphers ssl-min-ver {minimum} "
            "no-tls-tickets"
        )
    else:
        lines.append("    ssl-default-bind-options no-sslv3 no-tlsv10 no-tlsv11 no-tls-tickets")
    return lines


def _defaults(site: Site) -> list[str]:
    return [
        "defaults",
        "    log global",
        "    option dontlognull",
        # nginx logs every request with the client's address; haproxy logs what only it sees
        # (errors, timeouts, retries, redispatches). A line per normal request cost 12% of
        # the CPU per proxied request in bench/serve, before any syslog daemon's share.
        "    option dontlog-normal",
        "    retries 3",
        "    option redispatch",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 10s",
        "    timeout queue 30s",
        "    timeout check 5s",
        "    default-server inter 2s fall 3 rise 2",
    ]


def _health_check(site: Site) -> list[str]:
    """An HTTP check of the health file, with the site's Host header (nginx picks the vhost)."""
    if site.haproxy.version >= (2, 2, 0):
        return [
            "    option httpchk",
            f"    http-check send meth GET uri /{contract.HEALTH_FILE} ver HTTP/1.1"
            f" hdr Host {site.host}",
            "    http-check expect status 200",
        ]
    return [
        f"    option httpchk GET /{contract.HEALTH_FILE} HTTP/1.1\\r\\nHost:\\ {site.host}",
        "    http-check expect status 200",
    ]


def _server(site: Site, backend: Backend, port: int, socket: str | None) -> str:
    # A path: haproxy reaches a backend on its own machine over a UNIX socket, which costs
    # both sides much less per request than TCP over loopback.
    line = f"    server {backend.name} {socket or host_port(backend.address, port)} check"
    if site.haproxy.topology == "tcp":
        # Check the HTTP/1.1 listener even for the h2 backend: a check speaks HTTP/1.1.
        if socket is None:
            line += f" port {backend.port}"
        elif port != backend.port:
            # host_port's brackets: haproxy reads a bare IPv6 `addr` up to its last colon.
            address = host_port(backend.address, 0).rsplit(":", 1)[0]
            line += f" addr {address} port {backend.port}"
        if site.real_ip == "proxy_protocol":
            line += " send-proxy check-send-proxy"
    return line


def _alpn(site: Site) -> str:
    protocols = f"{_h2_protocol(site)},http/1.1"
    text = f"alpn {protocols}"
    if site.haproxy.npn:
        text += f" npn {protocols}"
    return text


def _curves(site: Site) -> str:
    return key_exchange_groups(haproxy_openssl(site.haproxy.version))


def _tls_bind(site: Site) -> str:
    """`ssl crt … alpn …` for the https bind line."""
    text = f"ssl crt {site.haproxy.pem} {_alpn(site)}"
    if (1, 8, 0) <= site.haproxy.version < (2, 2, 0):
        text += f" curves {_curves(site)}"
    return text


def _bind(site: Site, port: int) -> str:
    address = site.haproxy.bind_address
    return f"*:{port}" if address == "*" else host_port(address, port)


def _plain_http(site: Site) -> list[str]:
    """Port 80: ACME challenges to certbot (standalone, on the balancer's loopback), everyone
    else to https (or, without the redirect, to the site)."""
    acme = site.acme is not None
    lines = ["    acl acme_challenge path_beg /.well-known/acme-challenge/"] if acme else []
    if site.haproxy.http_redirect:
        unless = " unless acme_challenge" if acme else ""
        lines.append(f"    http-request redirect scheme https code 301{unless}")
    if acme:
        lines.append("    use_backend be_acme if acme_challenge")
    return lines


def _acme_backend(site: Site) -> list[str]:
    """Where the challenge route goes: certbot listens there only while it asks the CA, so
    no health check (haproxy answers 503 the rest of the time)."""
    if site.acme is None:
        return []
    return [
        "",
        "backend be_acme",
        "    mode http",
        f"    server certbot {host_port('127.0.0.1', site.acme.challenge_port)}",
    ]


def _http_topology(site: Site) -> list[str]:
    haproxy, version = site.haproxy, site.haproxy.version
    lines = ["frontend fe_http", "    mode http", f"    bind {_bind(site, haproxy.http_port)}"]
    lines.append("    option httplog")
    lines += _plain_http(site)
    if not haproxy.http_redirect:
        lines.append("    default_backend be_web")
    lines += [
        "",
        "frontend fe_https",
        "    mode http",
        f"    bind {_bind(site, haproxy.https_port)} {_tls_bind(site)}",
        "    option httplog",
        "    http-request set-header X-Forwarded-Proto https",
    ]
    if version >= (2, 2, 0) and site.scheme == "https":
        # nginx sends HSTS with its replies; this also covers the ones haproxy makes itself
        # (503, 504, denials), which http-response would not. (Not a 400 for a request it
        # cannot parse: its HTTP/1 layer sends that as fixed text nothing can amend.)
        lines.append(f'    http-after-response set-header Strict-Transport-Security "{HSTS}"')
    if version >= (2, 6, 0):
        # On a reload the old process otherwise closes idle kept-alive client connections,
        # racing a request the client is sending on one; this answers it with a close.
        lines.append("    option idle-close-on-response")
    lines += [
        "    default_backend be_web",
        "",
        "backend be_web",
        "    mode http",
        "    balance roundrobin",
        "    option forwardfor",
        "    option http-keep-alive",
    ]
    if version >= (1, 6, 0):
        lines.append("    http-reuse safe")
    if version >= (2, 0, 0):
        # Retrying is only safe for requests that change nothing.
        lines.append("    retry-on conn-failure empty-response response-timeout 502 503 504")
        lines.append("    http-request disable-l7-retry unless METH_GET")
    lines += _health_check(site)
    lines += [_server(site, b, b.port, b.socket) for b in site.backends]
    return lines + _acme_backend(site)


def _tcp_topology(site: Site) -> list[str]:
    haproxy = site.haproxy
    h2 = _h2_protocol(site)
    lines = ["frontend fe_http", f"    bind {_bind(site, haproxy.http_port)}"]
    if haproxy.http_redirect:
        lines += ["    mode http", "    option httplog", *_plain_http(site)]
    else:
        # A plain TCP frontend cannot route by path: the backends' nginx answers challenges
        # from NGINX_ACME_ROOT instead.
        lines += ["    mode tcp", "    option tcplog", "    default_backend be_http1"]
    route = f"{{ ssl_fc_alpn -i {h2} }}"
    if haproxy.npn:
        route += f" || {{ ssl_fc_npn -i {h2} }}"
    lines += [
        "",
        "frontend fe_https",
        "    mode tcp",
        f"    bind {_bind(site, haproxy.https_port)} {_tls_bind(site)}",
        "    option tcplog",
        f"    use_backend be_h2 if {route}",
        "    default_backend be_http1",
    ]
    for name, listener in (("be_h2", "h2_"), ("be_http1", "")):
        lines += ["", f"backend {name}", "    mode tcp", "    balance roundrobin"]
        lines += _health_check(site)
        lines += [
            _server(site, b, getattr(b, f"{listener}port"), getattr(b, f"{listener}socket"))
            for b in site.backends
        ]
    return lines + (_acme_backend(site) if haproxy.http_redirect else [])


def _stats(site: Site) -> list[str]:
    stats = site.haproxy.stats
    if stats is None:
        return []
    bind = host_port(stats.address, stats.port)
    if stats.tls:
        bind += f" ssl crt {site.haproxy.pem} alpn http/1.1"
    return [
        "",
        "userlist stats_users",
        f"    user {stats.user} password {stats.password_hash}",
        "",
        "listen stats",
        "    mode http",
        f"    bind {bind}",
        "    option httplog",
        "    stats enable",
        f"    stats uri {stats.uri}",
        f"    stats realm {stats.realm}",
        f"    stats refresh {stats.refresh}s",
        "    stats hide-version",
        f"    http-request auth realm {stats.realm} unless {{ http_auth(stats_users) }}",
    ]


def config(site: Site) -> str:
    """The whole haproxy.cfg."""
    topology = _http_topology(site) if site.haproxy.topology == "http" else _tcp_topology(site)
    lines = [*_global(site), "", *_defaults(site), "", *topology, *_stats(site)]
    return header(site) + "\n".join(lines) + "\n"


def render(site: Site) -> dict[str, str]:
    """{path under DEPLOY_BUILD_PATH: text} for haproxy."""
    return {contract.HAPROXY_CONFIG: config(site)}
