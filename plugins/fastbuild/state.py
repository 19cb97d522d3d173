"""What the last build into one output folder read and wrote, kept outside OUTPUT_PATH.

<BUILD_STATE_PATH>/<key>.pickle    the site fingerprint, each post's parse, each page's
                                   fingerprint and size/mtime when written
<BUILD_STATE_PATH>/<key>/raw/      pages as rendered, named by fingerprint, before webperf
                                   rewrote them in place (publish builds only)
<BUILD_STATE_PATH>/<key>.started   touched when a build starts: what is older in OUTPUT_PATH
                                   and was neither written nor kept by this build goes

`key` is a digest of the output folder's path: development and publish builds into different
folders keep their own state. The state only ever saves work; a missing, unreadable or
foreign one means a full build.
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from plugins import contract

from .reading import Parsed

log = logging.getLogger(__name__)

# Bump when the layout below changes: an older state is then ignored.
FORMAT = 1


@dataclass(frozen=True)
class Written:
    """One file the writer rendered: its fingerprint, and its size and mtime after writing."""

    fingerprint: str
    size: int
    mtime_ns: int


@dataclass
class State:
    """The state of one output folder."""

    site: str = ""
    reads: dict[str, tuple[str, Parsed]] = field(default_factory=dict)
    written: dict[str, Written] = field(default_factory=dict)


def paths(state_root: Path, output: Path) -> tuple[Path, Path, Path]:
    """The state file, the raw page store and the start marker of `output`."""
    key = contract.output_key(output)
    return state_root / f"{key}.pickle", state_root / key / "raw", state_root / f"{key}.started"


# The state this process saved last, per file, with the file's (size, mtime): a process that
# builds again (`fab serve`) takes it from memory while the file is still the one it wrote.
_SAVED: dict[Path, tuple[tuple[int, int], State]] = {}


def _stamp(file: Path) -> tuple[int, int] | None:
    try:
        stat = file.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def load(file: Path, site: str) -> State:
    """The saved state if it was made with the same site fingerprint, else an empty one."""
    saved = _SAVED.get(file)
    if saved is not None and saved[0] == _stamp(file):
        state = saved[1]
        return state if state.site == site else State(site)
    try:
        with file.open("rb") as stream:
            version, state = pickle.load(stream)
    except FileNotFoundError:
        return State(site)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        log.info("fastbuild: %s is unreadable, building everything", file)
        return State(site)
    if version != FORMAT or not isinstance(state, State) or state.site != site:
        return State(site)
    return state


def save(file: Path, state: State) -> None:
    """Write the state atomically."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    with partial.open("wb") as stream:
        pickle.dump((FORMAT, state), stream, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(file)
    stamp = _stamp(file)
    if stamp is not None:
        _SAVED[file] = (stamp, state)
