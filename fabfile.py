"""Tasks for writing, building and shipping the blog. The logic lives in deploy/."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from fabric import task
from invoke import Context
from invoke.exceptions import Exit

from deploy.errors import DeployError
from deploy.hosts.fleet import Hosts
from deploy.inventory import Inventory, load_inventory
from deploy.progress import Progress
from deploy.tasks.build import PLAIN_LOG
from deploy.tasks.certificate import certificate as get_certificate
from deploy.tasks.check import check as run_checks
from deploy.tasks.flags import dry, host_config, refuse_dry, refuse_hosts
from deploy.tasks.preview import serve as serve_preview
from deploy.tasks.publish import publish as publish_release
from deploy.tasks.rollback import rollback as roll_back_release
from deploy.tasks.serve import serve as serve_development
from deploy.tasks.setup import setup as prepare_hosts
from deploy.tasks.status import status as report_status
from plugins.authoring import PostExistsError, slug_for, write_new_post
from plugins.settings import SettingsError

HERE = Path(__file__).resolve().parent


def _settings_help(default: str) -> str:
    return f"Pelican settings file with the hosts (BACKENDS, BALANCER); default {default}"


@task(help={"publish": "build for production: publishconf.py, warnings fatal, as publish does"})
def build(c: Context, publish: bool = False) -> None:
    """Build the site into output/ (--publish: with publishconf.py, warnings fatal)."""
    refuse_hosts(c)
    settings, fatal = ("publishconf.py", "warnings") if publish else ("pelicanconf.py", "errors")
    # On a terminal Pelican keeps its colours and width; piped, its last line is the error.
    terminal = sys.stdout.isatty()
    argv = [".venv/bin/pelican", "content", "-s", settings, "--fatal", fatal]
    with c.cd(str(HERE)):
        result = c.run(shlex.join(argv + ([] if terminal else PLAIN_LOG)), pty=terminal, warn=True)
    if result.failed:
        # Pelican's last line already says which file is wrong and what to do.
        raise Exit(code=result.exited)


@task(help={"port": "port to listen on (default 8000)"})
def serve(c: Context, port: int = 8000) -> None:
    """Preview the site on http://localhost:PORT: rebuilt on every save, the open tab reloaded."""
    refuse_hosts(c)
    refuse_dry(c, "serve", "it writes only output/, which `fab build` writes too")
    try:
        serve_development(HERE, HERE / "pelicanconf.py", int(port), print)
    except DeployError as error:
        raise _fail(error) from None


@task(help={"settings": _settings_help("publishconf.py")})
def preview(c: Context, settings: str = "publishconf.py") -> None:
    """Serve the last publish build on localhost through the generated nginx vhost and haproxy
    (a throwaway certificate); Ctrl-C stops both."""
    refuse_hosts(c)
    refuse_dry(c, "preview", "it changes nothing but the processes it starts and stops")
    try:
        serve_preview(_inventory(settings), print)
    except DeployError as error:
        raise _fail(error) from None


@task(name="new-post", help={"title": "the post's title; the file is named after its slug"})
def new_post(c: Context, title: str) -> None:
    """Start a draft post: content/<slug>.rst with today's date (never overwrites)."""
    refuse_hosts(c)
    if dry(c):
        print(f"would write content/{slug_for(title)}.rst (--dry: nothing written)")
        return
    try:
        path = write_new_post(HERE / "content", title)
    except (PostExistsError, ValueError) as error:
        raise Exit(str(error), code=1) from None
    print(f"wrote {path.relative_to(HERE)}")


def _inventory(settings: str) -> Inventory:
    try:
        return load_inventory(HERE / settings)
    except SettingsError as error:
        raise Exit(f"error: {settings}: {error}", code=2) from None


def _fail(error: DeployError) -> Exit:
    return Exit(f"error: {error}", code=1)


@task(help={"settings": _settings_help("pelicanconf.py")})
def check(c: Context, settings: str = "pelicanconf.py") -> None:
    """Check the last build's nginx vhosts and haproxy config with the local binaries, and the
    days left of the certificates the balancer serves (when it can be reached)."""
    # Only reads the build, runs `nginx -t` / `haproxy -c` and reads the balancer's
    # certificates: the same with --dry.
    refuse_hosts(c)
    failed = False
    for what, passed, output in run_checks(_inventory(settings), host_config(c)):
        print(f"{'ok  ' if passed else 'FAIL'} {what}" + (f"\n     {output}" if output else ""))
        failed = failed or not passed
    if failed:
        raise Exit("error: generated config failed its check", code=1)


@task(
    help={
        "settings": _settings_help("publishconf.py"),
        "admin": "log in as this account (root, or one that may sudo) to provision",
    }
)
def setup(c: Context, settings: str = "publishconf.py", admin: str = "") -> None:
    """Provision bare Debian hosts for a first publish; a second run changes nothing."""
    refuse_hosts(c)
    refuse_dry(c, "setup", "it is safe to rerun: a second run changes nothing")
    try:
        prepare_hosts(_inventory(settings), c.config, Progress(), admin=admin)
    except DeployError as error:
        raise _fail(error) from None


@task(
    help={
        "settings": _settings_help("publishconf.py"),
        "admin": "log in as this account (root, or one that may sudo): certbot runs as root",
        "renew": "a new certificate now, even if the current one is not due",
    }
)
def certificate(
    c: Context, settings: str = "publishconf.py", admin: str = "root", renew: bool = False
) -> None:
    """Get the site's certificate from the ACME CA (certbot on the balancer) into haproxy."""
    refuse_hosts(c)
    refuse_dry(c, "certificate", "`fab status` shows the certificate haproxy serves")
    try:
        get_certificate(_inventory(settings), c.config, Progress(), admin=admin, renew=renew)
    except DeployError as error:
        raise _fail(error) from None


@task(
    help={
        "settings": _settings_help("publishconf.py"),
        "dry-run": "show what would change, change nothing (fab --dry publish does the same)",
        "break-lock": "remove a stale lock left by a publish that died",
    }
)
def publish(
    c: Context, settings: str = "publishconf.py", dry_run: bool = False, break_lock: bool = False
) -> None:
    """Build with warnings fatal and roll the release out to every backend, one at a time."""
    refuse_hosts(c)
    try:
        publish_release(
            _inventory(settings),
            host_config(c),
            dry_run=dry_run or dry(c),
            break_lock=break_lock,
            progress=Progress(),
        )
    except DeployError as error:
        raise _fail(error) from None


@task(
    help={
        "settings": _settings_help("publishconf.py"),
        "to": "release id to go back to (default: the one before the live one)",
        "break-lock": "remove a stale lock left by a publish or rollback that died",
    }
)
def rollback(
    c: Context, settings: str = "publishconf.py", to: str = "", break_lock: bool = False
) -> None:
    """Flip every backend back to the previous (or a named) release, one at a time."""
    refuse_hosts(c)
    refuse_dry(c, "rollback", "`fab status` shows the releases it could go back to")
    progress = Progress()
    try:
        target = roll_back_release(
            _inventory(settings), c.config, to=to or None, break_lock=break_lock, progress=progress
        )
    except (DeployError, ValueError) as error:
        raise _fail(error) from None
    print(f"rolled back to {target} in {progress.elapsed:.1f}s")


@task(help={"settings": _settings_help("publishconf.py")})
def status(c: Context, settings: str = "publishconf.py") -> None:
    """Show each backend's live release, kept releases, vhost checksum, and haproxy's view."""
    # Only reads: the same with --dry.
    refuse_hosts(c)
    hosts = Hosts.open(_inventory(settings), host_config(c))
    try:
        print(report_status(hosts))
    except DeployError as error:
        raise _fail(error) from None
    finally:
        hosts.close()
