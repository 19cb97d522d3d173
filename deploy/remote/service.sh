#!/bin/sh
# Check a service's configuration with its own binary, make sure it runs, and reload it when
# its configuration changed, in this run or in one that failed before its reload (as root).
#
# Arguments:
#   service        the service (nginx, haproxy)
#   test_command   checks its configuration
#   start_command  starts it, doing nothing when it runs already
#   reload_command reloads it
#   changed        yes when this run changed its configuration
# Prints:
#   reloaded=yes|no  whether it reloaded
#   step=<step>      on failure, the step that failed (the command's own error on stderr)
set -u
service=$1 test_command=$2 start_command=$3 reload_command=$4 changed=$5
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
pending=/var/lib/blog-setup/$service.reload-pending
if [ "$changed" = yes ]; then
    { mkdir -p "${pending%/*}" && touch "$pending"; } || fail "$service: mark reload pending"
fi
sh -c "$test_command" >&2 || fail "$service: $test_command"
sh -c "$start_command" >&2 || fail "$service: $start_command"
if [ -e "$pending" ]; then
    sh -c "$reload_command" >&2 || fail "$service: $reload_command"
    rm -f "$pending"
    echo reloaded=yes
else
    echo reloaded=no
fi
