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
where the real one will live; then `haproxy -c`, start, and a reload when anything changed;
then the real certificate from the ACME CA (deploy/tasks/certificate.py), which replaces the
self-signed one in the running haproxy.

Every step prints whether it changed something, so a second run reports "no change" per
host; a failure names the host and the step, and running `setup` again completes it.
With DEPLOY_PROVISION = False only the deploy's folders and the include file are made.
"""

from __future__ import annotations

import shlex

from fabric import Config, Connection
from invoke.runners import Result

from deploy.errors import DeployError
from deploy.hosts import scripts
from deploy.hosts.fleet import Hosts
from deploy.hosts.ssh import as_root, describe, run
from deploy.inventory import Inventory, as_admin
from deploy.progress import Progress
from deploy.release import commands, haproxy
from deploy.release.layout import Layout
from deploy.tasks.build import build, new_release_id
from deploy.tasks.certificate import obtain
from plugins import contract
from plugins.contract import VHOST
from plugins.settings.deploy import Provisioning
from plugins.settings.hosts import Backend, Balancer

# What sudoers wants escaped inside a command's arguments.
SUDOERS_SPECIAL = set("\\,:=()!")


def setup(inventory: Inventory, config: Config, progress: Progress, admin: str = "") -> None:
    """Provision every host (see the module docstring); `admin`: log in as this account."""
    target = as_admin(inventory, admin) if admin else inventory
    hosts = Hosts.open(target, config)
    try:

        def one(backend: Backend, conn: Connection) -> None:
            deploy_user = _deploy_user(inventory, backend.name)
            changes = setup_backend(inventory, backend, deploy_user, conn)
            progress(backend.name, "setup", _summary(changes))

        hosts.each_backend(one)
        first_cfg = _first_haproxy_cfg(inventory) if inventory.deploy.provisioning else ""
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
    provisioning = inventory.deploy.provisioning
    changes = []
    if provisioning:
        deploy_commands = [
            commands.fill(backend.nginx_test_command, conf=Layout(backend.root).test_conf),
            backend.nginx_reload_command,
        ]
        changes += _common(
            conn, backend.name, sudo, deploy_user, "backend", provisioning, deploy_commands
        )
    else:
        # Hosts provisioned otherwise must still have what a publish runs there: rsync receives
        # releases; gzip and brotli recompress changed files (release/siblings.py).
        tools = ["rsync", "gzip", "brotli"] if inventory.precompression else ["rsync"]
        command = scripts.command("require_tools", tools=tools)
        run(conn, command, host=backend.name, step="setup: tools")
    layout = Layout(backend.root)
    include = inventory.deploy.nginx_include_file.format(name=backend.name, root=backend.root)
    command = scripts.command(
        "backend_setup",
        user=deploy_user,
        root=backend.root,
        include=include,
        vhost=layout.live_config / VHOST,
        default_site=provisioning.nginx_default_site if provisioning else "",
    )
    result = _as_root(conn, backend.name, "nginx site", command, sudo)
    if _changed(backend.name, "nginx site", result, scripts.output("backend_setup", result.stdout)):
        changes.append("nginx site")
    if provisioning:
        command = scripts.command(
            "service",
            service="nginx",
            test_command=commands.fill(
                backend.nginx_test_command, conf=provisioning.nginx_main_conf
            ),
            start_command=backend.nginx_start_command,
            reload_command=backend.nginx_reload_command,
            changed="yes" if changes else "no",
        )
        if _reloaded(conn, backend.name, "nginx", command, sudo):
            changes.append("nginx reloaded")
    return changes


def setup_balancer(
    inventory: Inventory, balancer: Balancer, deploy_user: str, conn: Connection, first_cfg: str
) -> list[str]:
    """Provision the balancer; return what changed. `first_cfg`: haproxy.cfg if none is live."""
    sudo = balancer.ssh.user != "root"
    provisioning = inventory.deploy.provisioning
    name = balancer.name
    changes = []
    if provisioning:
        deploy_commands = [
            commands.fill(balancer.haproxy_test_command, config_dir=haproxy.staging_dir(balancer)),
            balancer.haproxy_reload_command,
            "sudo " + shlex.join(commands.runtime_api_argv(balancer.runtime_socket)),
        ]
        changes += _common(conn, name, sudo, deploy_user, "balancer", provisioning, deploy_commands)
    command = scripts.command(
        "balancer_setup",
        user=deploy_user,
        config_dir=balancer.config_dir,
        socket_dir=balancer.runtime_socket.parent,
        defaults=provisioning.haproxy_defaults_file if provisioning else "",
    )
    result = _as_root(conn, name, "haproxy config", command, sudo, first_cfg)
    if _changed(name, "haproxy config", result, scripts.output("balancer_setup", result.stdout)):
        changes.append("haproxy config")
    if provisioning:
        pem = inventory.site.haproxy.pem
        command = scripts.command("self_signed", pem=pem, names=list(inventory.site.names))
        result = _as_root(conn, name, "bootstrap certificate", command, sudo)
        if _changed(
            name, "bootstrap certificate", result, scripts.output("self_signed", result.stdout)
        ):
            changes.append(f"self-signed {pem}")
        command = scripts.command(
            "service",
            service="haproxy",
            test_command=commands.fill(
                balancer.haproxy_test_command, config_dir=balancer.config_dir
            ),
            start_command=balancer.haproxy_start_command,
            reload_command=balancer.haproxy_reload_command,
            changed="yes" if changes else "no",
        )
        if _reloaded(conn, name, "haproxy", command, sudo):
            changes.append("haproxy reloaded")
        if inventory.site.acme is not None:
            # Last: certbot's challenges need haproxy up, routing port 80 to it.
            changes += obtain(inventory, balancer, conn)
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
    result = _as_root(
        conn, host, "packages", scripts.command("packages", packages=list(packages)), sudo
    )
    printed = scripts.output("packages", result.stdout)
    if _changed(host, "packages", result, printed):
        changes.append(f"installed {printed.get('installed', '')}")
    if deploy_user == "root":
        return changes
    result = _as_root(
        conn, host, "deploy account", scripts.command("account", user=deploy_user), sudo
    )
    if _changed(host, "deploy account", result, scripts.output("account", result.stdout)):
        changes.append(f"account {deploy_user}")
    file = provisioning.sudoers_file.replace("{role}", role)
    if file:
        command = scripts.command("sudoers", file=file, user=deploy_user)
        result = _as_root(conn, host, "sudoers", command, sudo, sudoers_lines(deploy_commands))
        if _changed(host, "sudoers", result, scripts.output("sudoers", result.stdout)):
            changes.append(file)
    return changes


def _as_root(
    conn: Connection, host: str, step: str, command: str, sudo: bool, stdin: str = ""
) -> Result:
    """Run a setup script as root (through `sudo -n` for an account that is not root)."""
    return as_root(conn, host, f"setup: {step}", command, sudo, stdin)


def _changed(host: str, step: str, result: Result, printed: scripts.Output) -> bool:
    """Whether a setup script changed something; its failure raises, naming its own step."""
    if result.exited != 0:
        raise DeployError(host, f"setup: {printed.get('step') or step}", describe(result))
    return printed.get("changed") == "yes"


def _reloaded(conn: Connection, host: str, name: str, command: str, sudo: bool) -> bool:
    result = _as_root(conn, host, f"{name} service", command, sudo)
    printed = scripts.output("service", result.stdout)
    if result.exited != 0:
        raise DeployError(host, f"setup: {printed.get('step') or name}", describe(result))
    return printed.get("reloaded") == "yes"


def _summary(changes: list[str]) -> str:
    return "changed: " + ", ".join(changes) if changes else "no change"


def _deploy_user(inventory: Inventory, name: str) -> str:
    return next(b.ssh.user for b in inventory.backends if b.name == name)


def _first_haproxy_cfg(inventory: Inventory) -> str:
    """This build's haproxy.cfg (building first if there is none)."""
    path = inventory.deploy.build_path / contract.HAPROXY_CONFIG
    if not path.is_file():
        build(inventory, new_release_id(list(inventory.sources)))
    return path.read_text(encoding="utf-8")
