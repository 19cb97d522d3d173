"""Fabric's global flags (`fab --dry`, `fab -H`) as our tasks understand them.

Fabric runs a task once per `-H` host with a Connection to it, and `--dry` (Invoke's
`run.dry`) only stops `c.run`. Our tasks find their hosts in the settings file and talk to
them through deploy/, so each task says here what the flags mean to it.
"""

from __future__ import annotations

from fabric import Connection
from invoke import Config, Context
from invoke.exceptions import Exit

HOSTS_REFUSED = (
    "error: fab -H/--hosts is not used: the hosts are BACKENDS and BALANCER in the settings"
    " file; choose another inventory with `--settings FILE`"
)


def refuse_hosts(c: Context) -> None:
    """Stop before anything runs when `fab -H` made Fabric hand the task a Connection."""
    if isinstance(c, Connection):
        raise Exit(HOSTS_REFUSED, code=2)


def dry(c: Context) -> bool:
    """Whether `fab --dry` (or run.dry in a Fabric config file) asked for a dry run."""
    return bool(c.config.run.dry)


def refuse_dry(c: Context, task: str, instead: str) -> None:
    """Stop a task that has no dry run, saying what to do instead."""
    if dry(c):
        raise Exit(f"error: fab --dry {task}: {task} has no dry run; {instead}", code=2)


def host_config(c: Context) -> Config:
    """The config for talking to hosts: `--dry` is ours to interpret, so commands that only
    read (a dry run's diffs, status) really run."""
    config = c.config.clone()
    config.run.dry = False
    return config
