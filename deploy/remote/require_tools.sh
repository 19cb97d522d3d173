#!/bin/sh
# Fail, naming every one missing, unless each tool is on the PATH.
#
# Arguments:
#   tools...  the commands a host needs
# Prints: nothing; on stderr `not installed: <tool> …`, and exits 127, when some are missing.
missing=
for tool in "$@"; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
[ -z "$missing" ] || { echo "not installed:$missing" >&2; exit 127; }
