"""sslyze against the emitted config, on loopback: haproxy in both topologies and a standalone
nginx, each with the intermediate and the modern profile, must pass sslyze's check against
Mozilla's profile of the same name apart from trusting our self-signed certificate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugins.serverconfig import haproxy, nginx
from tests.support import servers, tls_scan
from tests.support.serverconfig import local_settings, make_site, write_files

pytestmark = pytest.mark.servers

HOST = "blog.example.org"
PROFILES = ("intermediate", "modern")
TOPOLOGIES = ("haproxy-http", "haproxy-tcp", "nginx-standalone")
# What a self-signed certificate cannot pass, and nothing else.
CERTIFICATE_TRUST = "certificate_path_validation"
MOZILLA_GROUPS = {"X25519", "secp256r1", "secp384r1"}
VERSIONS = {"intermediate": ["TLSv1.2", "TLSv1.3"], "modern": ["TLSv1.3"]}


def _haproxy(tmp: Path, pem: Path, topology: str, profile: str) -> tuple[Any, tls_scan.Endpoint]:
    site = make_site(
        **local_settings(tmp, pem, HAPROXY_TOPOLOGY=topology, HAPROXY_TLS_PROFILE=profile)
    )
    write_files(tmp / "build", haproxy.render(site))
    port = site.haproxy.https_port
    process = servers.start_haproxy(
        [tmp / "build" / "haproxy" / "haproxy.cfg"],
        tmp / "haproxy",
        wait_for=[("127.0.0.1", port)],
    )
    return process, tls_scan.Endpoint(
        f"haproxy-{topology}-{profile}", HOST, "127.0.0.1", port, profile
    )


def _nginx(tmp: Path, pem: Path, profile: str) -> tuple[Any, tls_scan.Endpoint]:
    site = make_site(**local_settings(tmp, pem, NGINX_ROLE="standalone", NGINX_TLS_PROFILE=profile))
    write_files(tmp / "build", nginx.render(site))
    conf = servers.write_nginx_main_conf(
        tmp / "nginx", sorted((tmp / "build").glob("nginx/*/site.conf"))
    )
    address, port = site.backends[0].address, site.nginx.https_port
    process = servers.start_nginx(conf, tmp / "nginx", wait_for=[(address, port)])
    return process, tls_scan.Endpoint(f"nginx-standalone-{profile}", HOST, address, port, profile)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Every endpoint started from its emitted config, scanned together once."""
    tmp = tmp_path_factory.mktemp("tls-scan")
    pem = servers.self_signed_pem(tmp / "tls", [HOST])
    processes = []
    endpoints = []
    try:
        for profile in PROFILES:
            for topology in ("http", "tcp"):
                process, endpoint = _haproxy(tmp / f"{topology}-{profile}", pem, topology, profile)
                processes.append(process)
                endpoints.append(endpoint)
            process, endpoint = _nginx(tmp / f"nginx-{profile}", pem, profile)
            processes.append(process)
            endpoints.append(endpoint)
        result = tls_scan.mozilla_check(endpoints)
        for name, summary in sorted(result.items()):
            print(f"sslyze {name}: {summary}")
        yield result
    finally:
        for process in processes:
            servers.stop(process)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_mozilla_profile_passes_but_for_the_self_signed_certificate(report, topology, profile):
    summary = report[f"{topology}-{profile}"]
    assert "error" not in summary, summary
    assert set(summary["issues"]) == {CERTIFICATE_TRUST}, summary["issues"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_only_mozillas_versions_and_groups(report, topology, profile):
    summary = report[f"{topology}-{profile}"]
    assert summary["versions"] == VERSIONS[profile]
    assert set(summary["groups"]) == MOZILLA_GROUPS
