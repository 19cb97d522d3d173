#!/bin/sh
# Check a service's configuration with its own binary, make sure it runs, and reload it when
# its configuration changed, in this run or in one that failed before its reload (as root).
# args: name test_command start_command reload_command changed
# prints: reloaded=yes|no
# On failure: step=<step>, and the command's own error on stderr.
set -u
name=$1 test_command=$2 start_command=$3 reload_command=$4 changed=$5
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
pending=/var/lib/blog-setup/$name.reload-pending
if [ "$changed" = yes ]; then
    { mkdir -p "${pending%/*}" && touch "$pending"; } || fail "$name: mark reload pending"
fi
sh -c "$test_command" >&2 || fail "$name: $test_command"
sh -c "$start_command" >&2 || fail "$name: $start_command"
if [ -e "$pending" ]; then
    sh -c "$reload_command" >&2 || fail "$name: $reload_command"
    rm -f "$pending"
    echo reloaded=yes
else
    echo reloaded=no
fi
