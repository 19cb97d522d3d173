"""`fab check`: the generated config against the real nginx and haproxy on this machine, and
the days left of the certificates it serves with.

A workstation has no certificate where the balancer keeps the real one: a certificate path
the config names that does not exist here is checked with a throwaway self-signed one, and
the result says so. A build made with other settings (the development build checked under
production names) fails, naming the site it was built for.

The certificates the site is served with are read over SSH on each host that serves them
(the balancer; each backend too in the standalone role) when it answers within REACH_TIMEOUT;
a host that cannot be reached is one line, not a failure (a workstation often cannot reach
it). Under 14 days left is a warning, not a failure: it is renewal's problem, not the
config's, and a check that failed on it would hold back the publish of a post.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from fabric import Config

from deploy.errors import DeployError
from deploy.hosts.ssh import connect, why_unreachable
from deploy.inventory import Inventory
from deploy.release import certificates
from deploy.release.backend import test_main_conf
from plugins import contract
from plugins.settings.hosts import Backend, Balancer
from plugins.settings.site import Site

# The first line of every generated file (plugins/serverconfig/nginx.py, `header`).
GENERATED_FROM = re.compile(r"^# generated from the Pelican settings for (\S+); do not edit$")
# Certificate paths: haproxy's `crt`, nginx's ssl_certificate and ssl_certificate_key.
HAPROXY_CERTIFICATE = re.compile(r"(?<= crt )(/\S+)")
NGINX_CERTIFICATE = re.compile(
    r"(?<=ssl_certificate )(/\S+)(?=;)|(?<=ssl_certificate_key )(/\S+)(?=;)"
)
# Seconds to connect, be greeted and log in to a host before going on without it.
REACH_TIMEOUT = 5


def check(inventory: Inventory, config: Config) -> list[tuple[str, bool, str]]:
    """(what, passed, output) for each vhost, the haproxy config and each certificate;
    skipped binaries and unreachable hosts say so. `config`: how to reach hosts."""
    results = []
    nginx, haproxy = shutil.which("nginx"), shutil.which("haproxy")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for backend in inventory.backends:
            vhost = inventory.deploy.build_path / contract.vhost_path(backend.name)
            what = f"nginx -t {vhost}"
            if (problem := _not_built_for(inventory, vhost)) is not None:
                results.append((what, False, problem))
            elif nginx is None:
                results.append((what, True, "skipped: no nginx binary here"))
            else:
                text, notes = _throwaway_certificates(
                    vhost.read_text(encoding="utf-8"), NGINX_CERTIFICATE, work
                )
                checked = work / f"{backend.name}.conf"
                checked.write_text(text, encoding="utf-8")
                conf = work / f"{backend.name}-nginx.conf"
                conf.write_text(test_main_conf(inventory, checked), encoding="utf-8")
                # nginx's own prefix, not the temp dir: Debian's modules-enabled files load
                # modules by a path relative to it ("modules/ngx_http_....so").
                argv = [nginx, "-t", "-q", "-e", "stderr", "-c", str(conf)]
                results.append((what, *_run(argv, notes)))
        cfg = inventory.deploy.build_path / contract.HAPROXY_CONFIG
        what = f"haproxy -c {cfg}"
        if (problem := _not_built_for(inventory, cfg)) is not None:
            results.append((what, False, problem))
        elif haproxy is None:
            results.append((what, True, "skipped: no haproxy binary here"))
        else:
            text, notes = _throwaway_certificates(
                cfg.read_text(encoding="utf-8"), HAPROXY_CERTIFICATE, work
            )
            checked = work / Path(contract.HAPROXY_CONFIG).name
            checked.write_text(text, encoding="utf-8")
            results.append((what, *_run([haproxy, "-c", "-f", str(checked)], notes)))
    return results + _local_certificates(inventory) + _served_certificates(inventory, config)


def _local_certificates(inventory: Inventory) -> list[tuple[str, bool, str]]:
    """Days left of each certificate the config names that is on this machine."""
    site = inventory.site
    paths = [site.haproxy.pem]
    if site.nginx.role == "standalone":
        paths.append(site.nginx.tls.certificate)
    results = []
    for path in dict.fromkeys(paths):
        if not Path(path).is_file():
            continue
        try:
            results.append(_reported(certificates.local_certificate(Path(path))))
        except (OSError, ValueError) as error:
            results.append((f"certificate {path}", False, f"unreadable: {error}"))
    return results


def _served_certificates(inventory: Inventory, config: Config) -> list[tuple[str, bool, str]]:
    """Days left of each certificate the site is served with, read where it is served."""
    results = []
    for host in certificates.serving_hosts(inventory.site):
        results += _served_by(inventory.site, host, config)
    return results


def _served_by(site: Site, host: Balancer | Backend, config: Config) -> list[tuple[str, bool, str]]:
    """Days left of each certificate `host` serves, when it answers."""
    what = f"certificates served by {certificates.server(host)}"
    conn = connect(host.ssh, config, timeout=REACH_TIMEOUT)
    try:
        if (reason := why_unreachable(conn)) is not None:
            login = f"{host.ssh.user}@{host.ssh.host}:{host.ssh.port}"
            return [(what, True, f"skipped: {login} is not reachable over SSH ({reason})")]
        served = certificates.served(site, host, conn)
    except DeployError as error:
        return [(what, True, f"WARNING: not read: {error}")]
    finally:
        conn.close()
    return [_reported(certificate) for certificate in served]


def _reported(certificate: certificates.Certificate) -> tuple[str, bool, str]:
    """A certificate as a passed check: its names, then its days left (a warning under 14)."""
    names, expiry = certificate.report()
    return names, True, expiry.strip()


def _not_built_for(inventory: Inventory, path: Path) -> str | None:
    """Why `path` cannot be checked for these settings, or None."""
    if not path.is_file():
        return f"missing: build with {inventory.settings_file.name} first"
    first = path.read_text(encoding="utf-8").partition("\n")[0]
    match = GENERATED_FROM.match(first)
    built_for = urlsplit(match[1]).hostname if match else None
    if built_for != inventory.site.host:
        return (
            f"built for {match[1] if match else 'unknown settings'}, not {inventory.site.host}: "
            f"build with {inventory.settings_file.name} first"
        )
    return None


def _throwaway_certificates(text: str, pattern: re.Pattern[str], work: Path) -> tuple[str, str]:
    """`text` with each certificate path missing here replaced by a throwaway one."""
    notes = []
    missing = sorted({m for groups in pattern.findall(text) for m in _groups(groups)})
    missing = [path for path in missing if not Path(path).exists()]
    if not missing:
        return text, ""
    pem = work / "throwaway.pem"
    if not pem.exists():
        _self_signed(pem)
    for path in missing:
        text = text.replace(f" {path}", f" {pem}")
        notes.append(f"{path} is not on this machine (the real one lives on the server)")
    return text, "with a throwaway certificate: " + "; ".join(notes)


def _groups(found: str | tuple[str, ...]) -> list[str]:
    return [found] if isinstance(found, str) else [group for group in found if group]


def _self_signed(pem: Path) -> None:
    make_throwaway_certificate(pem, ("fab-check",))


def make_throwaway_certificate(pem: Path, names: tuple[str, ...]) -> None:
    """A self-signed certificate for `names`, valid one day, with its key in one PEM (600)."""
    key, cert = pem.with_suffix(".key"), pem.with_suffix(".crt")
    san = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={san}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    pem.chmod(0o600)


def _run(argv: list[str], notes: str) -> tuple[bool, str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    passed = result.returncode == 0
    # The binary's own words when it refuses; on success only what we substituted.
    output = "" if passed else (result.stderr + result.stdout).strip()
    return passed, "\n     ".join(line for line in (notes, output) if line)
