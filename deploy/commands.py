"""Shell command lines run on the hosts, built from argv lists (pure: no I/O here)."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from deploy.inventory import SshTarget
from deploy.layout import Layout

# Fingerprinted assets and their precompressed siblings (see the contract in DESIGN.md).
FINGERPRINTED_FIND_REGEX = r".*\.[0-9a-f]{10}\.[a-z0-9]+(\.gz|\.br)?"
# rsync filter syntax has no repetition: ten hex classes, then any extension.
FINGERPRINTED_RSYNC_GLOB = "*." + "[0-9a-f]" * 10 + ".*"


def rsync_release(
    output: Path,
    target: SshTarget,
    ssh: str,
    destination: PurePosixPath,
    link_dest: PurePosixPath | None,
    exclude_from: Path | None = None,
) -> list[str]:
    """rsync a build into a new release directory, hard-linking what the live one has.

    --checksum, not size+mtime: Pelican rewrites every file on every build, so only content
    tells what changed. No --times: a hard link needs identical attributes, and the stage
    step stamps the files that did travel with the release time instead.
    """
    argv = ["rsync", "--recursive", "--links", "--checksum", "--stats", "--no-human-readable"]
    argv += ["--out-format=%i %n", "--timeout=60", "-e", ssh]
    if link_dest is not None:
        argv.append(f"--link-dest={link_dest}")
    if exclude_from is not None:
        argv.append(f"--exclude-from={exclude_from}")
    return [*argv, f"{output}/", f"{target.rsync_host}:{destination}/"]


def rsync_preview(
    output: Path,
    target: SshTarget,
    ssh: str,
    live: PurePosixPath | None,
    exclude_from: Path | None = None,
) -> list[str]:
    """A dry run against the live release: what a publish would send or remove."""
    argv = ["rsync", "--dry-run", "--itemize-changes", "--recursive", "--links", "--checksum"]
    if exclude_from is not None:
        argv.append(f"--exclude-from={exclude_from}")
    # Fingerprinted files missing from the build are carried forward, not deleted.
    argv += ["--delete", f"--filter=P {FINGERPRINTED_RSYNC_GLOB}", "--timeout=60", "-e", ssh]
    source = f"{output}/"
    if live is None:
        return [*argv, source, f"{target.rsync_host}:/nonexistent-release/"]
    return [*argv, source, f"{target.rsync_host}:{live}/"]


def list_files(path: PurePosixPath) -> str:
    """Every file under `path`, relative to it, one per line."""
    return f"find {shlex.quote(str(path))} -type f -printf '%P\\n'"


# Runs on a backend after rsync, as `sh -c SCRIPT sh NEW LIVE STAMP GZIP BROTLI WINDOW`, with
# the siblings left out of the transfer on stdin (see deploy/siblings.py). Prints
# `linked=<n>` and `made=<n>`.
MAKE_SIBLINGS_SCRIPT = r"""
set -eu
new=$1 old=$2 stamp=$3 gzip_level=$4 brotli_quality=$5 brotli_window=$6
links=$(mktemp)
trap 'rm -f "$links"' EXIT
cd "$new"
made=0
while IFS= read -r listed; do
    # ./ first: a name starting with "-" is never read as an option.
    sibling=./$listed
    source=${sibling%.*}
    # rsync hard-linked the file from the live release: it did not change, nor does its sibling.
    if [ "$source" -ef "$old/$source" ] && [ -f "$old/$sibling" ]; then
        printf '%s\n' "$sibling" >> "$links"
        continue
    fi
    part=$sibling.part-$$
    case $sibling in
        *.gz) gzip -n "-$gzip_level" -c -- "$source" > "$part" ;;
        *.br) brotli -q "$brotli_quality" -w "$brotli_window" -c -- "$source" > "$part" ;;
    esac
    # Like the build: a sibling only where it is smaller than the file.
    if [ "$(wc -c < "$part")" -lt "$(wc -c < "$source")" ]; then
        touch -d "@$stamp" "$part"
        mv -f "$part" "$sibling"
        made=$((made + 1))
    else
        rm -f "$part"
    fi
done
(cd "$old" && tr '\n' '\0' < "$links" | xargs -0r cp -l --parents -t "$new" --)
printf 'linked=%s\nmade=%s\n' "$(wc -l < "$links")" "$made"
"""


def make_siblings(
    new: PurePosixPath,
    live: PurePosixPath,
    stamp: int,
    gzip_level: int,
    brotli_quality: int,
    brotli_window: int,
) -> str:
    """Link or compress the siblings listed on stdin in a staged release (see the script)."""
    args = [str(new), str(live), str(stamp), str(gzip_level), str(brotli_quality)]
    return shlex.join(["sh", "-c", MAKE_SIBLINGS_SCRIPT, "sh", *args, str(brotli_window)])


# Runs on a backend after rsync, as `sh -c SCRIPT sh ROOT ID LIVE STAMP REGEX`, with the paths
# rsync wrote on stdin. Carried files are listed in <id>.carried so that the next release
# only carries a release's own assets, not everything it ever received.
FINISH_STAGE_SCRIPT = r"""
set -eu
root=$1 id=$2 live=$3 stamp=$4 regex=$5
new=$root/releases/$id
# Files that travelled get the release time on every backend alike (Last-Modified, ETag).
(cd "$new" && tr '\n' '\0' | xargs -0r touch -h -d "@$stamp" --)
: > "$root/releases/$id.carried"
[ -n "$live" ] || exit 0
old=$root/releases/$live
link_missing() {
    (cd "$1" && find . -type f -regextype posix-extended -regex "$regex" -printf '%P\n') |
    sort | { if [ -s "$3" ]; then grep -vxF -f "$3" || true; else cat; fi; } |
    while IFS= read -r f; do
        [ -e "$2/$f" ] && continue
        mkdir -p "$2/$(dirname "$f")"
        ln "$1/$f" "$2/$f"
        printf '%s\n' "$f"
    done
}
# Backward: pages of the old release, served by a backend already flipped, find their assets.
link_missing "$old" "$new" "$root/releases/$live.carried" >> "$root/releases/$id.carried"
# Forward: pages of the new release, served before every backend has flipped, find theirs.
# <id>.lent lists them, so that discarding the new release takes them back out of the old one.
link_missing "$new" "$old" /dev/null > "$root/releases/$id.lent"
cat "$root/releases/$id.lent" >> "$root/releases/$live.carried"
"""


def finish_stage(layout: Layout, release_id: str, live: str | None, stamp: int) -> str:
    """Stamp transferred files and carry fingerprinted assets both ways (see the script)."""
    args = [str(layout.root), release_id, live or "", str(stamp), FINGERPRINTED_FIND_REGEX]
    return shlex.join(["sh", "-c", FINISH_STAGE_SCRIPT, "sh", *args])


# Runs on a backend as `sh -c SCRIPT sh ROOT ID`: removes a staged release that never went
# live, and the assets its staging lent to the live release (see FINISH_STAGE_SCRIPT).
DISCARD_SCRIPT = r"""
set -eu
root=$1 id=$2
lent=$root/releases/$id.lent
live=$(readlink "$root/current" || true)
if [ -s "$lent" ] && [ -n "$live" ]; then
    (cd "$root/$live" && tr '\n' '\0' < "$lent" | xargs -0r rm -f --)
    carried=$root/$live.carried
    if [ -f "$carried" ]; then
        { grep -vxF -f "$lent" "$carried" || true; } > "$carried.tmp"
        mv -f "$carried.tmp" "$carried"
    fi
fi
rm -rf -- "$root/releases/$id" "$root/releases/$id.carried" "$lent" "$root/nginx/$id"
"""


def discard(layout: Layout, release_id: str) -> str:
    """Remove a staged release and take back what it lent to the live one (see the script)."""
    return shlex.join(["sh", "-c", DISCARD_SCRIPT, "sh", str(layout.root), release_id])


def read_state(layout: Layout) -> str:
    """Print the live release, the live config and every release directory, one per line."""
    root = shlex.quote(str(layout.root))
    return (
        f"cd {root} && printf 'current=%s\\n' \"$(readlink current || true)\" && "
        "printf 'config=%s\\n' \"$(readlink nginx/live || true)\" && "
        "{ find releases -mindepth 1 -maxdepth 1 -type d -printf 'release=%f\\n' "
        "2>/dev/null || true; }"
    )


def directory_digest(path: PurePosixPath) -> str:
    """One sha256 over every file (name and content) under `path`; empty if it is missing."""
    quoted = shlex.quote(str(path))
    return (
        f"if [ -d {quoted} ]; then cd {quoted} && find -L . -type f -print0 | sort -z | "
        "xargs -0r sha256sum | sha256sum | cut -c1-64; fi"
    )


# Runs on a backend as `sh -c SCRIPT sh ROOT ID CONFIG RELOAD URL HOST TIMEOUT`: the whole flip in
# one SSH round trip. It prints `reloaded=yes|no`; on failure `step=<step>` (and `seen=<answer>`
# for the health check) and exits with the failing command's status.
FLIP_SCRIPT = r"""
set -u
root=$1 id=$2 config=$3 reload=$4 url=$5 host=$6 timeout=$7
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
digest() {
    [ -n "$1" ] && [ -d "$root/nginx/$1" ] || return 0
    (cd "$root/nginx/$1" && find -L . -type f -print0 | sort -z | xargs -0r sha256sum |
        sha256sum | cut -c1-64)
}
old=$(digest "$(readlink "$root/nginx/live" 2>/dev/null || true)")
new=$(digest "$config")
{ ln -sfn "releases/$id" "$root/.current.new" && mv -T "$root/.current.new" "$root/current" &&
  ln -sfn "$config" "$root/nginx/.live.new" && mv -T "$root/nginx/.live.new" "$root/nginx/live"
} || fail "flip to $id"
if [ "$old" != "$new" ]; then
    sh -c "$reload" || fail "nginx reload"
    echo reloaded=yes
else
    echo reloaded=no
fi
end=$(( $(date +%s) + timeout ))
while :; do
    if seen=$(curl -fsS --max-time 3 -H "Host: $host" "$url" 2>&1) && [ "$seen" = "$id" ]; then
        exit 0
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
        printf 'step=health check\nseen=%s\n' "$seen" | tr -d '\r'
        exit 1
    fi
    sleep 0.2
done
"""


def flip_and_check(
    layout: Layout, release_id: str, config_id: str, reload: str, url: str, host: str, timeout: int
) -> str:
    """Drained backend: switch `current` and `nginx/live`, reload nginx if the vhost changed,
    wait for the health file to name the release (see the script)."""
    args = [str(layout.root), release_id, config_id, reload, url, host, str(timeout)]
    return shlex.join(["sh", "-c", FLIP_SCRIPT, "sh", *args])


# Runs on a backend as `sh -c SCRIPT sh VHOST TEST_CONF TEST_CONF_TEXT TEST_COMMAND`, the vhost on
# stdin: both files and `nginx -t` in one round trip. On failure it prints `step=<step>` and
# exits with the failing command's status.
STAGE_CONFIG_SCRIPT = r"""
set -u
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
{ mkdir -p "$(dirname "$1")" && cat > "$1.tmp" && mv -f "$1.tmp" "$1"; } || fail "stage: vhost"
{ mkdir -p "$(dirname "$2")" && printf '%s' "$3" > "$2.tmp" && mv -f "$2.tmp" "$2"; } ||
    fail "stage: nginx test conf"
sh -c "$4" || fail "stage: nginx -t"
"""


def stage_config(
    vhost: PurePosixPath, test_conf: PurePosixPath, test_conf_text: str, test_command: str
) -> str:
    """Write the vhost (stdin) and the test nginx.conf, then run `nginx -t` (see the script)."""
    args = [str(vhost), str(test_conf), test_conf_text, test_command]
    return shlex.join(["sh", "-c", STAGE_CONFIG_SCRIPT, "sh", *args])


def write_file(path: PurePosixPath) -> str:
    """Write stdin to `path` (creating its folder) through a temp name and a rename."""
    temp = f"{path}.tmp"
    return " && ".join(
        [
            shlex.join(["mkdir", "-p", str(path.parent)]),
            f"cat > {shlex.quote(temp)}",
            shlex.join(["mv", "-f", temp, str(path)]),
        ]
    )


def require_tools(tools: Sequence[str]) -> str:
    """Fail, naming every one missing, unless each of `tools` is on the PATH."""
    names = " ".join(shlex.quote(tool) for tool in tools)
    return (
        f"missing=; for tool in {names}; do "
        'command -v "$tool" >/dev/null || missing="$missing $tool"; done; '
        '[ -z "$missing" ] || { echo "not installed:$missing" >&2; exit 127; }'
    )


def remove(paths: Sequence[PurePosixPath]) -> str:
    """Remove release folders and files."""
    return shlex.join(["rm", "-rf", "--", *(str(path) for path in paths)])


def create_lock(path: PurePosixPath) -> str:
    """Create `path` from stdin only if it does not exist (noclobber opens with O_EXCL)."""
    return f"set -C && cat > {shlex.quote(str(path))}"


def read_lock(path: PurePosixPath) -> str:
    """Print a lock's content, then its age in seconds by the host's clock."""
    quoted = shlex.quote(str(path))
    return (
        f"if [ -e {quoted} ]; then cat {quoted}; "
        f'echo "age=$(( $(date +%s) - $(stat -c %Y {quoted}) ))"; fi'
    )


def runtime_api_argv(socket: PurePosixPath) -> list[str]:
    """The client that passes stdin to haproxy's runtime API (`fab setup` lets it run as root)."""
    return ["socat", "-t", "10", "-", f"UNIX-CONNECT:{socket}"]


def runtime_api(socket: PurePosixPath, command: str, *, sudo: bool) -> str:
    """Send one command to haproxy's runtime API over its admin socket."""
    socat = runtime_api_argv(socket)
    if sudo:
        socat = ["sudo", "-n", *socat]
    return f"printf '%s\\n' {shlex.quote(command)} | {shlex.join(socat)}"


def fill(template: str, **values: PurePosixPath | str) -> str:
    """Put shell-quoted paths into a command template from the inventory ({conf} etc.)."""
    for key, value in values.items():
        template = template.replace("{" + key + "}", shlex.quote(str(value)))
    return template
