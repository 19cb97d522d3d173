"""Tasks for writing, building and shipping the blog. The logic lives in deploy/."""

from __future__ import annotations

import shlex
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
from deploy.tasks.preview import serve as serve_preview
from deploy.tasks.publish import publish as publish_release
from deploy.tasks.rollback import rollback as roll_back_release
from deploy.tasks.setup import setup as prepare_hosts
from deploy.tasks.status import status as report_status
from plugins.authoring import PostExistsError, write_new_post
from plugins.settings import SettingsError

HERE = Path(__file__).resolve().parent


@task
def build(c: Context, publish: bool = False) -> None:
    """Build the site into output/ (--publish: with publishconf.py, warnings fatal)."""
    settings, fatal = ("publishconf.py", "warnings") if publish else ("pelicanconf.py", "errors")
    argv = [".venv/bin/pelican", "content", "-s", settings, "--fatal", fatal, *PLAIN_LOG]
    with c.cd(str(HERE)):
        result = c.run(shlex.join(argv), pty=False, warn=True)
    if result.failed:
        # Pelican's last line already says which file is wrong and what to do.
        raise Exit(code=result.exited)


@task
def serve(c: Context, port: int = 8000) -> None:
    """Preview the site on http://localhost:PORT, rebuilding on every change."""
    with c.cd(str(HERE)):
        c.run(f".venv/bin/pelican --listen --autoreload --port {int(port)} content", pty=True)


@task
def preview(c: Context, settings: str = "publishconf.py") -> None:
    """Serve the last publish build on localhost through the generated nginx vhost and haproxy
    (a throwaway certificate); Ctrl-C stops both."""
    try:
        serve_preview(_inventory(settings), print)
    except DeployError as error:
        raise _fail(error) from None


@task(name="new-post")
def new_post(c: Context, title: str) -> None:
    """Start a draft post: content/<slug>.rst with today's date (never overwrites)."""
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


@task
def check(c: Context, settings: str = "pelicanconf.py") -> None:
    """Check the last build's nginx vhosts and haproxy config with the local binaries."""
    failed = False
    for what, passed, output in run_checks(_inventory(settings)):
        print(f"{'ok  ' if passed else 'FAIL'} {what}" + (f"\n     {output}" if output else ""))
        failed = failed or not passed
    if failed:
        raise Exit("error: generated config failed its check", code=1)


@task(help={"admin": "log in as this account (root, or one that may sudo) to provision"})
def setup(c: Context, settings: str = "publishconf.py", admin: str = "") -> None:
    """Provision bare Debian hosts for a first publish; a second run changes nothing."""
    try:
        prepare_hosts(_inventory(settings), c.config, Progress(), admin=admin)
    except DeployError as error:
        raise _fail(error) from None


@task(
    help={
        "admin": "log in as this account (root, or one that may sudo): certbot runs as root",
        "renew": "a new certificate now, even if the current one is not due",
    }
)
def certificate(
    c: Context, settings: str = "publishconf.py", admin: str = "root", renew: bool = False
) -> None:
    """Get the site's certificate from the ACME CA (certbot on the balancer) into haproxy."""
    try:
        get_certificate(_inventory(settings), c.config, Progress(), admin=admin, renew=renew)
    except DeployError as error:
        raise _fail(error) from None


@task(
    help={"dry-run": "show what would change, change nothing", "break-lock": "remove a stale lock"}
)
def publish(
    c: Context, settings: str = "publishconf.py", dry_run: bool = False, break_lock: bool = False
) -> None:
    """Build with warnings fatal and roll the release out to every backend, one at a time."""
    try:
        publish_release(
            _inventory(settings),
            c.config,
            dry_run=dry_run,
            break_lock=break_lock,
            progress=Progress(),
        )
    except DeployError as error:
        raise _fail(error) from None


@task(help={"to": "release id to go back to (default: the one before the live one)"})
def rollback(
    c: Context, settings: str = "publishconf.py", to: str = "", break_lock: bool = False
) -> None:
    """Flip every backend back to the previous (or a named) release, one at a time."""
    progress = Progress()
    try:
        target = roll_back_release(
            _inventory(settings), c.config, to=to or None, break_lock=break_lock, progress=progress
        )
    except (DeployError, ValueError) as error:
        raise _fail(error) from None
    print(f"rolled back to {target} in {progress.elapsed:.1f}s")


@task
def status(c: Context, settings: str = "publishconf.py") -> None:
    """Show each backend's live release, kept releases, vhost checksum, and haproxy's view."""
    hosts = Hosts.open(_inventory(settings), c.config)
    try:
        print(report_status(hosts))
    except DeployError as error:
        raise _fail(error) from None
    finally:
        hosts.close()
