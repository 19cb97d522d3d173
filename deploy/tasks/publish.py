"""`fab publish`: build, lock, stage everywhere, flip one by one, balancer, prune, unlock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fabric import Config, Connection

from deploy.errors import DeployError
from deploy.hosts.fleet import Hosts
from deploy.inventory import Inventory
from deploy.progress import Progress
from deploy.release import backend as remote
from deploy.release import haproxy, lock, siblings
from deploy.release.rolling import Target, flip_one, roll_back
from deploy.tasks.build import build, new_release_id, release_time
from deploy.tasks.dry_run import preview
from plugins import contract
from plugins.settings.hosts import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Artefacts:
    """What the build produced for the hosts besides the web root."""

    vhosts: dict[str, str]
    haproxy_cfg: str

    @classmethod
    def read(cls, inventory: Inventory, release_id: str) -> Artefacts:
        """The config this release's build wrote, checked against its manifest, and the
        assets its pages name, checked against the web root."""
        build_path = inventory.deploy.build_path
        try:
            files = contract.read_server_config(build_path, release_id)
        except contract.BuildMismatch as error:
            raise DeployError("local", "build", str(error)) from None
        missing = contract.missing_assets(build_path, inventory.output_path)
        if missing:
            raise DeployError(
                "local", "build", f"{contract.ASSETS} names files the build lacks: {missing[:3]}"
            )
        try:
            vhosts = {b.name: files[contract.vhost_path(b.name)] for b in inventory.backends}
            return cls(vhosts, files[contract.HAPROXY_CONFIG])
        except KeyError as error:
            raise DeployError("local", "build", f"{error} is not in the build") from None


def publish(
    inventory: Inventory, config: Config, *, dry_run: bool, break_lock: bool, progress: Progress
) -> None:
    """Ship a new release to every backend with no failed request, or change nothing."""
    release_id = new_release_id(list(inventory.sources))
    hosts = Hosts.open(inventory, config)
    try:
        if dry_run:
            artefacts = _build(inventory, release_id, progress)
            preview(hosts, artefacts.vhosts, artefacts.haproxy_cfg, progress)
            return
        # Locked before building: a second publish is refused at once, and cannot rebuild
        # output/ while this one ships it.
        with lock.locked(hosts, f"publish {release_id}", break_lock=break_lock):
            progress("all", "lock", f"{len(lock.lock_paths(hosts))} hosts locked")
            artefacts = _build(inventory, release_id, progress)
            _stage_flip_prune(hosts, release_id, artefacts, progress)
    finally:
        hosts.close()


def _build(inventory: Inventory, release_id: str, progress: Progress) -> Artefacts:
    progress("local", "build", f"release {release_id}")
    build(inventory, release_id)
    return Artefacts.read(inventory, release_id)


@dataclass
class _Rollout:
    """What a publish has changed so far, so that a failure can put it back."""

    previous: dict[str, Target | None]
    flipped: list[Backend] = field(default_factory=list)
    balancer_installed: bool = False


def _stage_flip_prune(
    hosts: Hosts, release_id: str, artefacts: Artefacts, progress: Progress
) -> None:
    states = hosts.each_backend(lambda b, c: remote.read_state(c, b))
    for name, state in states.items():
        if release_id in state.releases:
            raise DeployError(name, "stage", f"release {release_id} already exists there")
    transfers = _stage(hosts, release_id, artefacts, states, progress)
    rollout = _Rollout(
        {
            name: Target(state.live, state.live_config or state.live) if state.live else None
            for name, state in states.items()
        }
    )
    try:
        _flip_every_backend(hosts, release_id, rollout, progress)
        _install_balancer_config(hosts, artefacts, rollout, progress)
    except DeployError as error:
        _roll_back(hosts, release_id, rollout, error, progress)
        raise
    _prune(hosts, release_id, rollout, progress)
    _summary(release_id, transfers, progress)


def _flip_every_backend(
    hosts: Hosts, release_id: str, rollout: _Rollout, progress: Progress
) -> None:
    inventory = hosts.inventory
    # Which haproxy backends hold each server, read once: no flip changes that.
    rows = haproxy.servers(hosts.balancer, inventory.balancer)
    for backend in inventory.backends:
        rollout.flipped.append(backend)
        mine = [row for row in rows if row.server == backend.name]
        flip_one(hosts, backend, Target(release_id, release_id), progress, mine)


def _install_balancer_config(
    hosts: Hosts, artefacts: Artefacts, rollout: _Rollout, progress: Progress
) -> None:
    """The new haproxy.cfg, and a reload, only when it differs from the live one."""
    inventory = hosts.inventory
    live = haproxy.live_text(hosts.balancer, inventory.balancer)
    if haproxy.digest(live) == haproxy.digest(artefacts.haproxy_cfg):
        progress("balancer", "install", "haproxy.cfg unchanged")
        return
    rollout.balancer_installed = True
    haproxy.install(hosts.balancer, inventory.balancer)
    for backend in inventory.backends:
        haproxy.wait_running(
            hosts.balancer, inventory.balancer, backend.name, inventory.deploy.health_timeout
        )
    progress("balancer", "install", "haproxy.cfg installed, haproxy reloaded")


def _roll_back(
    hosts: Hosts, release_id: str, rollout: _Rollout, error: DeployError, progress: Progress
) -> None:
    """Put haproxy.cfg and every flipped backend back; then the new release's files go."""
    progress.error(f"publish failed: {error}; rolling back")
    problems = []
    if rollout.balancer_installed:
        try:
            haproxy.restore(hosts.balancer, hosts.inventory.balancer)
        except DeployError as again:
            problems.append(str(again))
    problems += roll_back(hosts, rollout.previous, rollout.flipped, progress)
    if problems:
        raise DeployError(
            error.host,
            error.step,
            f"{error.detail}; rollback incomplete: {'; '.join(problems)}",
        ) from error
    # Only once every backend is back may the new release's files go.
    hosts.each_backend_settled(lambda b, c: remote.discard(c, b, release_id))


def _prune(hosts: Hosts, release_id: str, rollout: _Rollout, progress: Progress) -> None:
    protect = {release_id} | {t.release for t in rollout.previous.values() if t is not None}
    kept = hosts.inventory.deploy.releases_kept
    pruned = hosts.each_backend(lambda b, c: remote.prune(c, b, kept, protect))
    for name, releases in pruned.items():
        if releases:
            progress(name, "prune", ", ".join(releases))


def _stage(
    hosts: Hosts,
    release_id: str,
    artefacts: Artefacts,
    states: dict[str, remote.BackendState],
    progress: Progress,
) -> dict[str, remote.Transfer]:
    inventory = hosts.inventory
    stamp = release_time(release_id)

    def stage_one(backend: Backend, conn: Connection) -> remote.Transfer:
        live = states[backend.name].live
        progress(backend.name, "stage", f"rsync against {live or 'nothing (first release)'}")
        made_there = siblings.made_on_backend(
            inventory.output_path, remote.live_files(conn, backend, live), inventory.precompression
        )
        with siblings.exclude_file(made_there) as exclude:
            sent = remote.transfer(
                hosts.config, backend, inventory.output_path, release_id, live, exclude
            )
        compressed = 0
        if live is not None and inventory.precompression is not None:
            compressed = remote.make_siblings(
                conn, backend, release_id, live, stamp, inventory.precompression, made_there
            )
        remote.finish_stage(conn, backend, release_id, live, stamp, sent.changed)
        remote.stage_config(conn, backend, inventory, release_id, artefacts.vhosts[backend.name])
        progress(
            backend.name,
            "stage",
            f"{sent.files} files, {sent.bytes_sent} bytes; {compressed} compressed here; "
            "nginx -t ok",
        )
        return sent

    def stage_balancer() -> None:
        haproxy.stage(hosts.balancer, inventory.balancer, artefacts.haproxy_cfg)
        progress("balancer", "stage", "haproxy -c ok")

    results, errors = hosts.each_backend_settled(stage_one)
    if not errors:
        try:
            stage_balancer()
        except DeployError as error:
            errors.append(error)
    if errors:
        for error in errors:
            progress.error(f"staging failed: {error}")
        hosts.each_backend_settled(lambda b, c: remote.discard(c, b, release_id))
        raise errors[0]
    return results


def _summary(release_id: str, transfers: dict[str, remote.Transfer], progress: Progress) -> None:
    print(f"published release {release_id} in {progress.elapsed:.1f}s", flush=True)
    for name, sent in transfers.items():
        print(f"  {name}: {sent.files} files, {sent.bytes_sent} bytes sent", flush=True)
