"""`fab certificate` (and the last step of `fab setup`): the balancer's certificate from the
ACME CA, through Debian's certbot on the balancer, and its renewal.

1. certbot's deploy hook goes into <ACME_CONFIG_DIR>/renewal-hooks/deploy/: after every
   renewal certbot.timer makes, it runs deploy/remote/install_pem.sh for our lineage, which
   checks the new certificate and hands it to the running haproxy (runtime API, no reload).
2. certbot certonly, standalone on ACME_CHALLENGE_PORT (loopback), for SITEURL's host and
   NGINX_SERVER_ALIASES; haproxy's port-80 frontend routes the CA's HTTP-01 requests there.
   A certificate that is not due is kept (`renew=True`: a new one now).
3. install_pem.sh for the current certificate: so a first issuance replaces the bootstrap
   self-signed one, and a rerun after a failed hook completes it.

A failure (challenge unreachable, CA down, rate limited) raises naming the domains, the CA,
the CA's own answer (certbot.sh finds it in certbot's log: Debian 12's certbot does not show
it) and certbot's own error lines; the certificate haproxy serves and HAPROXY_TLS_PEM are
left as they were.
"""

from __future__ import annotations

import json
import shlex

from fabric import Config, Connection
from invoke.runners import Result

from deploy.errors import DeployError
from deploy.hosts import scripts
from deploy.hosts.fleet import Hosts
from deploy.hosts.ssh import as_root, describe
from deploy.inventory import Inventory, as_admin
from deploy.progress import Progress
from plugins.settings.acme import Acme
from plugins.settings.hosts import Balancer

HOST = "balancer"


def certificate(
    inventory: Inventory, config: Config, progress: Progress, admin: str = "", renew: bool = False
) -> None:
    """Get (or, with `renew`, renew now) the balancer's certificate; `admin`: log in as this
    account (root, or one that may sudo) instead of the deploy account."""
    if inventory.site.acme is None:
        raise DeployError(HOST, "certificate", "ACME_ENABLED is False: nothing to do")
    target = as_admin(inventory, admin) if admin else inventory
    hosts = Hosts.open(target, config)
    try:
        changes = obtain(inventory, target.balancer, hosts.balancer, renew=renew)
        progress(HOST, "certificate", ", ".join(changes) or "no change")
    finally:
        hosts.close()


def obtain(
    inventory: Inventory, balancer: Balancer, conn: Connection, *, renew: bool = False
) -> list[str]:
    """Steps 1-3 of the module docstring on the balancer; return what changed."""
    acme, site = inventory.site.acme, inventory.site
    assert acme is not None, "ACME_ENABLED is False"
    sudo = balancer.ssh.user != "root"
    changes = []
    lineage = acme.lineage(site.host)
    install = scripts.command(
        "install_pem",
        lineage=lineage,
        pem=site.haproxy.pem,
        socket=balancer.runtime_socket,
        names=list(site.names),
    )
    hook = renewal_hook(acme, lineage, install)
    command = scripts.command("acme_hook", hook=acme.renewal_hook, ca_bundle=acme.ca_bundle or "")
    result = as_root(conn, HOST, "certificate: deploy hook", command, sudo, hook)
    _check(result, scripts.output("acme_hook", result.stdout), "certificate: deploy hook")
    if scripts.output("acme_hook", result.stdout).get("changed") == "yes":
        changes.append(f"deploy hook {acme.renewal_hook}")
    if _certbot(acme, site.names, conn, sudo, renew):
        changes.append("certbot: new certificate")
    result = as_root(conn, HOST, "certificate: install", install, sudo)
    printed = scripts.output("install_pem", result.stdout)
    _check(result, printed, "certificate: install")
    if printed.get("changed") == "yes":
        via = "runtime API" if printed.get("runtime") == "yes" else "haproxy not running"
        changes.append(f"serving serial {printed.get('serial')} ({via})")
    return changes


def renewal_hook(acme: Acme, lineage: str, install: str) -> str:
    """The executable certbot runs after each renewal, for every lineage: ours installs."""
    return (
        "#!/bin/sh\n"
        "# Written by `fab certificate` (deploy/remote/install_pem.sh): after certbot renews the\n"
        "# site's certificate, check it and hand it to the running haproxy.\n"
        f'[ "${{RENEWED_LINEAGE:-}}" = {shlex.quote(lineage)} ] || exit 0\n'
        f"exec {install}\n"
    )


def _certbot(acme: Acme, names: tuple[str, ...], conn: Connection, sudo: bool, renew: bool) -> bool:
    """Run certbot certonly; whether it got a new certificate. Its failure raises with the
    CA's own words."""
    command = scripts.command(
        "certbot",
        config_dir=acme.config_dir,
        server=acme.directory_url,
        port=acme.challenge_port,
        email=acme.email or "",
        ca_bundle=acme.ca_bundle or "",
        renew="yes" if renew else "no",
        cert_name=names[0],
        domains=list(names),
    )
    result = as_root(conn, HOST, "certificate: certbot", command, sudo)
    printed = scripts.output("certbot", result.stdout)
    if result.exited != 0:
        said = " | ".join(_ca_answer(printed) + list(printed.every("error"))) or describe(result)
        raise DeployError(
            HOST,
            f"certificate for {', '.join(names)}",
            f"certbot (exit {result.exited}) at {acme.directory_url}: {said}",
        )
    return printed.get("changed") == "yes"


def _ca_answer(printed: scripts.Output) -> list[str]:
    """The CA's own error, from certbot.sh's `ca_answer=` line, unless certbot said it already."""
    answer = printed.get("ca_answer")
    if answer is None:
        return []
    status, _, body = answer.partition(" ")
    try:
        problem = json.loads(body)
        kind, detail = problem["type"], problem.get("detail", "")
    except (ValueError, TypeError, KeyError):
        return [f"the CA answered HTTP {status}: {body.strip()}"]
    if any(kind in line for line in printed.every("error")):
        return []
    return [f"the CA answered HTTP {status}: {kind}: {detail}"]


def _check(result: Result, printed: scripts.Output, step: str) -> None:
    if result.exited != 0:
        raise DeployError(HOST, printed.get("step") or step, describe(result))
