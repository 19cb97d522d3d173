#!/bin/sh
# Let `user` run, as root and without a password, exactly the commands on stdin (one per
# line: a program name, then its arguments escaped for sudoers). The drop-in is checked with
# `visudo -cf` before it replaces the old one (as root).
#
# Arguments:
#   file           the sudoers drop-in
#   user           the deploy account
# Prints:
#   changed=yes|no  whether the drop-in changed
#   step=<step>     on failure, the step that failed (visudo's complaint on stderr)
set -u
file=$1 user=$2
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
new=$(mktemp) || fail "sudoers: temp file"
trap 'rm -f "$new"' EXIT
printf '# Written by fab setup: what a deploy runs as root.\n' > "$new"
while read -r program arguments; do
    [ -n "$program" ] || continue
    path=$(command -v "$program") || { echo "$program: not installed" >&2; fail "sudoers: $program"; }
    printf '%s ALL=(root) NOPASSWD: %s %s\n' "$user" "$path" "$arguments" >> "$new"
done
visudo -cf "$new" >&2 || fail "visudo -cf $file"
if cmp -s "$new" "$file"; then
    echo changed=no
    exit 0
fi
{ chmod 440 "$new" && mv -f "$new" "$file"; } || fail "install $file"
echo changed=yes
