"""`fab setup`: prepare fresh backends and the balancer; running it again changes nothing.

On a backend: <root>/releases and <root>/nginx, an empty initial vhost as nginx/live so that
nginx starts before the first publish, and DEPLOY_NGINX_INCLUDE_FILE (Debian:
/etc/nginx/conf.d/blog.conf, which Debian's nginx.conf includes in http{}) saying
`include <root>/nginx/live/site.conf;`. On the balancer: the haproxy config folder and the
folder of the runtime socket. nginx and haproxy are not reloaded: do it once by hand.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from fabric import Config, Connection

from deploy.hosts import scripts
from deploy.hosts.fleet import Hosts
from deploy.hosts.ssh import run
from deploy.inventory import Inventory
from deploy.progress import Progress
from deploy.release import commands
from deploy.release.layout import Layout
from plugins.contract import VHOST
from plugins.settings.hosts import Backend

INITIAL = "initial"


def setup(inventory: Inventory, config: Config, progress: Progress) -> None:
    """Create what a first publish expects on every host."""
    hosts = Hosts.open(inventory, config)
    # rsync receives releases; gzip and brotli recompress changed files (release/siblings.py).
    tools = ["rsync", "gzip", "brotli"] if inventory.precompression else ["rsync"]
    try:

        def one(backend: Backend, conn: Connection) -> None:
            command = scripts.command("require_tools", tools=tools)
            run(conn, command, host=backend.name, step="setup: tools")
            layout = Layout(backend.root)
            initial = layout.nginx / INITIAL / VHOST
            steps = [
                shlex.join(["mkdir", "-p", str(layout.releases), str(initial.parent)]),
                shlex.join(["touch", str(initial)]),
                # The initial vhost only until a first publish points nginx/live elsewhere.
                f"[ -e {shlex.quote(str(layout.live_config))} ] || "
                + shlex.join(["ln", "-sfn", INITIAL, str(layout.live_config)]),
            ]
            run(conn, " && ".join(steps), host=backend.name, step="setup: folders")
            include = inventory.deploy.nginx_include_file.format(
                name=backend.name, root=backend.root
            )
            if include:
                line = f"include {layout.live_config / VHOST};\n"
                run(
                    conn,
                    _sudo(backend.ssh.user, commands.write_file(PurePosixPath(include))),
                    host=backend.name,
                    step=f"setup: {include}",
                    stdin=f"# Written by `fab setup`: the vhost `fab publish` flips.\n{line}",
                )
            progress(
                backend.name, "setup", f"{backend.root} ready; nginx includes it via {include}"
            )

        hosts.each_backend(one)
        balancer = inventory.balancer
        folders = [str(balancer.config_dir), str(balancer.runtime_socket.parent)]
        run(
            hosts.balancer,
            _sudo(balancer.ssh.user, shlex.join(["mkdir", "-p", *folders])),
            host="balancer",
            step="setup: folders",
        )
        progress("balancer", "setup", f"{balancer.config_dir} ready")
    finally:
        hosts.close()


def _sudo(user: str, command: str) -> str:
    # /etc belongs to root: a deploy user goes through sudo, root does not need to.
    return command if user == "root" else f"sudo -n sh -c {shlex.quote(command)}"
