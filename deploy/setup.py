"""`fab setup`: from bare Debian hosts to hosts a first `fab publish` can ship to.

On every host, as root or through `sudo` (`--admin`: the account to log in as for this):
- the Debian packages its role needs, when missing (DEPLOY_BACKEND_PACKAGES / _BALANCER_);
- the deploy account (each host's `ssh_user`), let in with the admin's SSH keys;
- a sudoers drop-in listing exactly the commands a deploy runs as root, checked with
  `visudo -cf` before it goes into place.
On a backend: <root>/releases and <root>/nginx with an empty initial vhost as nginx/live,
the include file nginx's http{} reads (DEPLOY_NGINX_INCLUDE_FILE), Debian's default site
gone; then `nginx -t`, start, and a reload when anything changed.
On the balancer: the config folder with a first haproxy.cfg (this build's) when there is
none, Debian's haproxy unit pointed at that folder, a temporary self-signed certificate
where the real one will live; then `haproxy -c`, start, and a reload when anything changed.

Every step prints whether it changed something, so a second run reports "no change" per
host; a failure names the host and the step, and running `setup` again completes it.
With DEPLOY_PROVISION = False only the deploy's folders and the include file are made.
"""

from __future__ import annotations

import dataclasses
import shlex

from fabric import Config, Connection

from deploy import commands, haproxy, remote
from deploy.backend import VHOST
from deploy.build import build, new_release_id
from deploy.errors import DeployError
from deploy.hosts import Hosts
from deploy.inventory import Backend, Balancer, Inventory, Provisioning
from deploy.layout import Layout
from deploy.progress import Progress
from deploy.ssh import describe, run

# What sudoers wants escaped inside a command's arguments.
SUDOERS_SPECIAL = set("\\,:=()!")


def setup(inventory: Inventory, config: Config, progress: Progress, admin: str = "") -> None:
    """Provision every host (see the module docstring); `admin`: log in as this account."""
    target = _as_admin(inventory, admin) if admin else inventory
    hosts = Hosts.open(target, config)
    try:

        def one(backend: Backend, conn: Connection) -> None:
            deploy_user = _deploy_user(inventory, backend.name)
            changes = setup_backend(inventory, backend, deploy_user, conn)
            progress(backend.name, "setup", _summary(changes))

        hosts.each_backend(one)
        first_cfg = _first_haproxy_cfg(inventory) if inventory.provisioning else ""
        changes = setup_balancer(
            inventory, target.balancer, inventory.balancer.ssh.user, hosts.balancer, first_cfg
        )
        progress("balancer", "setup", _summary(changes))
    finally:
        hosts.close()


def setup_backend(
    inventory: Inventory, backend: Backend, deploy_user: str, conn: Connection
) -> list[str]:
    """Provision one backend; return what changed."""
    sudo = backend.ssh.user != "root"
    provisioning = inventory.provisioning
    changes = []
    if provisioning:
        changes += _common(conn, backend.name, sudo, deploy_user, "backend", provisioning, [
            commands.fill(backend.nginx_test_command, conf=Layout(backend.root).test_conf),
            backend.nginx_reload_command,
        ])  # fmt: skip
    layout = Layout(backend.root)
    include = inventory.nginx_include_file.format(name=backend.name, root=backend.root)
    args = [deploy_user, str(backend.root), include, str(layout.live_config / VHOST)]
    args.append(provisioning.nginx_default_site if provisioning else "")
    if _step(conn, backend.name, "nginx site", "backend-setup", args, sudo) == "yes":
        changes.append("nginx site")
    if provisioning:
        test = commands.fill(backend.nginx_test_command, conf=provisioning.nginx_main_conf)
        service = [test, backend.nginx_start_command, backend.nginx_reload_command]
        reloaded = _service(conn, backend.name, sudo, "nginx", service, bool(changes))
        changes += ["nginx reloaded"] if reloaded else []
    return changes


def setup_balancer(
    inventory: Inventory, balancer: Balancer, deploy_user: str, conn: Connection, first_cfg: str
) -> list[str]:
    """Provision the balancer; return what changed. `first_cfg`: haproxy.cfg if none is live."""
    sudo = balancer.ssh.user != "root"
    provisioning = inventory.provisioning
    name = balancer.name
    changes = []
    if provisioning:
        changes += _common(conn, name, sudo, deploy_user, "balancer", provisioning, [
            commands.fill(balancer.haproxy_test_command, config_dir=haproxy.staging_dir(balancer)),
            balancer.haproxy_reload_command,
            "sudo " + shlex.join(commands.runtime_api_argv(balancer.runtime_socket)),
        ])  # fmt: skip
    defaults = provisioning.haproxy_defaults_file if provisioning else ""
    args = [deploy_user, str(balancer.config_dir), str(balancer.runtime_socket.parent), defaults]
    if _step(conn, name, "haproxy config", "balancer-setup", args, sudo, first_cfg) == "yes":
        changes.append("haproxy config")
    if provisioning:
        pem = [str(inventory.tls_pem), *inventory.site_names]
        if _step(conn, name, "bootstrap certificate", "self-signed", pem, sudo) == "yes":
            changes.append(f"self-signed {inventory.tls_pem}")
        test = commands.fill(balancer.haproxy_test_command, config_dir=balancer.config_dir)
        service = [test, balancer.haproxy_start_command, balancer.haproxy_reload_command]
        reloaded = _service(conn, name, sudo, "haproxy", service, bool(changes))
        changes += ["haproxy reloaded"] if reloaded else []
    return changes


def sudoers_lines(deploy_commands: list[str]) -> str:
    """One `program arguments` line per command run through `sudo` (others need no entry),
    the arguments escaped for sudoers; deploy/remote/sudoers.sh resolves each program."""
    lines = []
    for command in deploy_commands:
        argv = shlex.split(command)
        if not argv or argv[0] != "sudo":
            continue
        argv = argv[1:]
        while argv and argv[0].startswith("-"):
            argv = argv[1:]
        if not argv or any(not word or any(c.isspace() for c in word) for word in argv):
            raise DeployError(
                "local", "sudoers", f"cannot allow {command!r}: one word per argument"
            )
        escaped = ["".join("\\" + c if c in SUDOERS_SPECIAL else c for c in w) for w in argv[1:]]
        lines.append(" ".join([argv[0], *escaped]))
    return "".join(f"{line}\n" for line in dict.fromkeys(lines))


def _common(
    conn: Connection,
    host: str,
    sudo: bool,
    deploy_user: str,
    role: str,
    provisioning: Provisioning,
    deploy_commands: list[str],
) -> list[str]:
    """Packages, the deploy account and its sudoers drop-in: what both roles need."""
    changes = []
    packages = (
        provisioning.backend_packages if role == "backend" else provisioning.balancer_packages
    )
    result = _run_script(conn, host, "packages", "packages", list(packages), sudo)
    if result.get("changed") == "yes":
        changes.append(f"installed {result.get('installed', '')}")
    if deploy_user != "root":
        if _step(conn, host, "deploy account", "account", [deploy_user], sudo) == "yes":
            changes.append(f"account {deploy_user}")
        file = provisioning.sudoers_file.replace("{role}", role)
        if file:
            lines = sudoers_lines(deploy_commands)
            if _step(conn, host, "sudoers", "sudoers", [file, deploy_user], sudo, lines) == "yes":
                changes.append(file)
    return changes


def _service(
    conn: Connection, host: str, sudo: bool, name: str, service: list[str], changed: bool
) -> bool:
    args = [name, *service, "yes" if changed else "no"]
    return (
        _run_script(conn, host, f"{name} service", "service", args, sudo).get("reloaded") == "yes"
    )


def _step(
    conn: Connection,
    host: str,
    step: str,
    name: str,
    args: list[str],
    sudo: bool,
    stdin: str = "",
) -> str:
    """Run one setup script; return its `changed` value."""
    return _run_script(conn, host, step, name, args, sudo, stdin).get("changed", "")


def _run_script(
    conn: Connection,
    host: str,
    step: str,
    name: str,
    args: list[str],
    sudo: bool,
    stdin: str = "",
) -> dict[str, str]:
    command = remote.script(name, *args, sudo=sudo)
    result = run(conn, command, host=host, step=f"setup: {step}", stdin=stdin, check=False)
    printed = remote.parse(result.stdout)
    if result.exited != 0:
        where = printed.get("step", step)
        raise DeployError(host, f"setup: {where}", describe(result))
    return printed


def _summary(changes: list[str]) -> str:
    return "changed: " + ", ".join(changes) if changes else "no change"


def _deploy_user(inventory: Inventory, name: str) -> str:
    return next(b.ssh.user for b in inventory.backends if b.name == name)


def _as_admin(inventory: Inventory, admin: str) -> Inventory:
    """The same hosts, logged into as `admin`."""

    def login(host: Backend | Balancer) -> Backend | Balancer:
        return dataclasses.replace(host, ssh=dataclasses.replace(host.ssh, user=admin))

    return dataclasses.replace(
        inventory,
        backends=tuple(login(b) for b in inventory.backends),
        balancer=login(inventory.balancer),
    )


def _first_haproxy_cfg(inventory: Inventory) -> str:
    """This build's haproxy.cfg (building first if there is none)."""
    path = inventory.build_path / "haproxy" / haproxy.CONFIG_FILE
    if not path.is_file():
        build(inventory, new_release_id(list(inventory.sources)))
    return path.read_text(encoding="utf-8")
