#!/bin/sh
# Who holds a deploy lock, and for how long by the host's clock. Prints nothing without one.
#
# Arguments:
#   lock  the lock file
# Prints:
#   age=<seconds>   since the lock was written
#   content=<line>  one line per line of the lock file
set -eu
lock=$1
[ -e "$lock" ] || exit 0
printf 'age=%s\n' "$(( $(date +%s) - $(stat -c %Y "$lock") ))"
sed 's/^/content=/' "$lock"
