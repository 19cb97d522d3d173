#!/bin/sh
# Remove a staged release that never went live, and the assets its staging lent to the live
# release (see finish_stage.sh).
#
# Arguments:
#   root  the deploy root
#   id    the staged release
# Prints: nothing.
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
