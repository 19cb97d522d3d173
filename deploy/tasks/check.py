"""`fab check`: the generated config against the real nginx and haproxy on this machine."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy.inventory import Inventory
from deploy.release.backend import test_main_conf
from plugins import contract


def check(inventory: Inventory) -> list[tuple[str, bool, str]]:
    """(what, passed, output) for each vhost and the haproxy config; skipped binaries say so."""
    results = []
    nginx, haproxy = shutil.which("nginx"), shutil.which("haproxy")
    for backend in inventory.backends:
        vhost = inventory.deploy.build_path / contract.vhost_path(backend.name)
        what = f"nginx -t {vhost}"
        if not vhost.is_file():
            results.append((what, False, "missing: build the site first"))
        elif nginx is None:
            results.append((what, True, "skipped: no nginx binary here"))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                conf = Path(tmp) / "nginx.conf"
                conf.write_text(test_main_conf(inventory, vhost), encoding="utf-8")
                # nginx's own prefix, not the temp dir: Debian's modules-enabled files load
                # modules by a path relative to it ("modules/ngx_http_....so").
                argv = [nginx, "-t", "-q", "-e", "stderr", "-c", str(conf)]
                results.append((what, *_run(argv)))
    cfg = inventory.deploy.build_path / contract.HAPROXY_CONFIG
    what = f"haproxy -c {cfg}"
    if not cfg.is_file():
        results.append((what, False, "missing: build the site first"))
    elif haproxy is None:
        results.append((what, True, "skipped: no haproxy binary here"))
    else:
        results.append((what, *_run([haproxy, "-c", "-q", "-f", str(cfg)])))
    return results


def _run(argv: list[str]) -> tuple[bool, str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    return result.returncode == 0, (result.stderr + result.stdout).strip()
