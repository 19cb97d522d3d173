#!/bin/sh
# Finish a release rsync just wrote: stamp the files that travelled, and carry fingerprinted
# assets both ways between it and the live release. Carried files are listed in <id>.carried
# so that the next release only carries a release's own assets, not everything it ever got.
#
# Arguments:
#   root   the deploy root (releases/ under it)
#   id     the staged release
#   live   the live release ("" before a first publish)
#   stamp  modification time (seconds since the epoch) of the files that travelled
#   regex  find -regex (posix-extended) of fingerprinted assets and their siblings
# Stdin: the paths rsync wrote, one per line, relative to the release.
# Prints: nothing.
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
