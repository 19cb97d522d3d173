"""The shell scripts the deploy runs on hosts (deploy/remote/*.sh): command lines and output.

Hosts have no copy of this repository, so a script travels inline, as
`sh -c <text> <name>.sh <arguments>`. Each script's header names its arguments in order and the
`key=value` lines it prints. Callers pass arguments by those names and read output by those
keys; anything else raises, so a script and its callers cannot drift apart. Every script is
read and checked when this module is imported.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import PurePosixPath

FOLDER = "remote"
SHEBANG = "#!/bin/sh"
SECTION = re.compile(r"# (Arguments|Prints):(.*)")
# Three spaces, then the name; a description that runs on is indented further.
ENTRY = re.compile(r"#   (\S+)")
NAME = re.compile(r"[a-z_][a-z0-9_]*")
# The line that names the positional parameters: `root=$1 id=$2 ...`.
ASSIGNMENTS = re.compile(r"[a-z_][a-z0-9_]*=\$[1-9]( [a-z_][a-z0-9_]*=\$[1-9])*")

Argument = str | int | PurePosixPath


class ScriptError(Exception):
    """A script's header does not say what its body does."""


@dataclass(frozen=True)
class Script:
    """One script: its text, its arguments in order, the keys it prints."""

    name: str
    text: str
    arguments: tuple[str, ...]
    prints: frozenset[str]
    # The last argument takes any number of words (`tools...` in the header).
    variadic: bool


def parse_script(name: str, text: str) -> Script:
    """Read a script's header and check it against the line that names `$1`, `$2`, …"""
    where = f"deploy/{FOLDER}/{name}.sh"
    lines = text.splitlines()
    if not lines or lines[0] != SHEBANG:
        raise ScriptError(f"{where}: the first line must be {SHEBANG}")
    header = []
    for line in lines[1:]:
        if not line.startswith("#"):
            break
        header.append(line)
    sections = _sections(where, header)
    if "Arguments" not in sections:
        raise ScriptError(f"{where}: the header has no '# Arguments:' section")
    arguments, variadic = _arguments(where, sections["Arguments"])
    prints = _prints(where, sections.get("Prints", []))
    for word in [*arguments, *prints]:
        if not NAME.fullmatch(word):
            raise ScriptError(f"{where}: '{word}' in the header is not a shell variable name")
        if [*arguments, *prints].count(word) > 1:
            raise ScriptError(f"{where}: the header names '{word}' twice")
    fixed = arguments[:-1] if variadic else arguments
    assigned = [line for line in lines if ASSIGNMENTS.fullmatch(line.strip())]
    expected = " ".join(f"{argument}=${index}" for index, argument in enumerate(fixed, 1))
    if [line.strip() for line in assigned] != ([expected] if fixed else []):
        found = " | ".join(assigned) or "no such line"
        raise ScriptError(f"{where}: the header's arguments need '{expected}', found: {found}")
    return Script(name, text, arguments, frozenset(prints), variadic)


def _arguments(where: str, names: list[str]) -> tuple[tuple[str, ...], bool]:
    """The argument names in order, and whether the last takes many words (`name...`)."""
    if any(name.endswith("...") for name in names[:-1]):
        raise ScriptError(f"{where}: only the last argument can take many words (`name...`)")
    variadic = bool(names) and names[-1].endswith("...")
    return tuple(name.removesuffix("...") for name in names), variadic


def _prints(where: str, entries: list[str]) -> list[str]:
    """The keys of the `key=<value>` lines a script prints."""
    keys = []
    for entry in entries:
        key, equals, _ = entry.partition("=")
        if not equals:
            raise ScriptError(f"{where}: '{entry}' under '# Prints:' is not key=<value>")
        keys.append(key)
    return keys


def _sections(where: str, header: list[str]) -> dict[str, list[str]]:
    """The entries under each `# Arguments:` / `# Prints:` line of a header."""
    sections: dict[str, list[str]] = {}
    entries: list[str] | None = None
    for line in header:
        if match := SECTION.fullmatch(line):
            if match[1] in sections:
                raise ScriptError(f"{where}: two '# {match[1]}:' sections")
            sections[match[1]] = []
            # `# Prints: nothing.` says it on the same line and has no entries.
            entries = None if match[2].strip() else sections[match[1]]
        elif entries is not None and (match := ENTRY.match(line)):
            entries.append(match[1])
        elif not (entries is not None and line.startswith("#    ")):
            entries = None
    return sections


def _load() -> dict[str, Script]:
    """Every script in deploy/remote/, checked."""
    loaded = {}
    for entry in (resources.files("deploy") / FOLDER).iterdir():
        if entry.name.endswith(".sh"):
            name = entry.name.removesuffix(".sh")
            loaded[name] = parse_script(name, entry.read_text(encoding="utf-8"))
    return loaded


SCRIPTS = _load()


def script(name: str) -> Script:
    """The script deploy/remote/<name>.sh."""
    try:
        return SCRIPTS[name]
    except KeyError:
        raise ScriptError(f"there is no deploy/{FOLDER}/{name}.sh") from None


def command(name: str, /, **arguments: Argument | Sequence[str]) -> str:
    """The command line that runs deploy/remote/<name>.sh with `arguments`, which must be
    exactly the ones its header names (the last one a list if it ends with `...`)."""
    found = script(name)
    if set(arguments) != set(found.arguments):
        missing = ", ".join(sorted(set(found.arguments) - set(arguments))) or "none"
        unknown = ", ".join(sorted(set(arguments) - set(found.arguments))) or "none"
        raise TypeError(
            f"{name}.sh takes {', '.join(found.arguments)}; missing: {missing}; unknown: {unknown}"
        )
    words = []
    for index, argument in enumerate(found.arguments):
        value = arguments[argument]
        listed = isinstance(value, list | tuple)
        if listed != (found.variadic and index == len(found.arguments) - 1):
            raise TypeError(f"{name}.sh: {argument} must {'not ' if listed else ''}be a list")
        words += [str(word) for word in value] if isinstance(value, list | tuple) else [str(value)]
    # $0 is the script's name: the shell's own error messages then say which script failed.
    return shlex.join(["sh", "-c", found.text, f"{name}.sh", *words])


@dataclass(frozen=True)
class Output:
    """The `key=value` lines a script printed, for the keys its header names."""

    name: str
    values: Mapping[str, tuple[str, ...]]

    def every(self, key: str) -> tuple[str, ...]:
        """Each value printed for `key`, in order."""
        if key not in script(self.name).prints:
            raise KeyError(f"{self.name}.sh does not print {key}= (see its header)")
        return self.values.get(key, ())

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value printed for `key`, or `default`."""
        printed = self.every(key)
        return printed[-1] if printed else default

    def value(self, key: str) -> str:
        """The last value printed for `key`, which the script always prints."""
        printed = self.every(key)
        if not printed:
            raise ValueError(f"{self.name}.sh printed no {key}= line")
        return printed[-1]


def output(name: str, stdout: str) -> Output:
    """Parse what deploy/remote/<name>.sh printed. Other lines are skipped: the commands a
    script runs (`nginx -t`, a reload) may print to the same stdout."""
    prints = script(name).prints
    values: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        key, equals, value = line.partition("=")
        if equals and key in prints:
            values.setdefault(key, []).append(value)
    return Output(name, {key: tuple(printed) for key, printed in values.items()})
