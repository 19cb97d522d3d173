#!/bin/sh
# Stage a release's vhost and check it, in one SSH round trip: write the vhost and a main
# nginx.conf that includes it, then run `nginx -t` on that.
#
# Arguments:
#   vhost           where the staged vhost goes
#   test_conf       where the main nginx.conf for the test goes
#   test_conf_text  that main nginx.conf
#   test_command    the `nginx -t` command line (run by sh -c)
# Stdin: the vhost.
# Prints:
#   step=<step>  on failure, the step that failed; the exit status is that step's
set -u
vhost=$1 test_conf=$2 test_conf_text=$3 test_command=$4
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
{ mkdir -p "$(dirname "$vhost")" && cat > "$vhost.tmp" && mv -f "$vhost.tmp" "$vhost"; } ||
    fail "stage: vhost"
{ mkdir -p "$(dirname "$test_conf")" && printf '%s' "$test_conf_text" > "$test_conf.tmp" &&
    mv -f "$test_conf.tmp" "$test_conf"; } || fail "stage: nginx test conf"
sh -c "$test_command" || fail "stage: nginx -t"
