#!/bin/sh
# Install the Debian packages named that are not installed yet (as root).
#
# Arguments:
#   packages...    Debian package names
# Prints:
#   installed=<names>  the packages it installed, space-separated
#   changed=yes|no     whether it installed any
#   step=<step>        on failure, the step that failed (apt's own error on stderr)
set -u
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
missing=
for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $package"
done
if [ -z "$missing" ]; then
    printf 'installed=\nchanged=no\n'
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh host's unattended-upgrades (or another apt) may hold the lock for a while: wait.
lock_wait="-o DPkg::Lock::Timeout=300"
# Package lists older than a day (or none, on a fresh host) are refreshed first.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null)" ]; then
    # shellcheck disable=SC2086 # two words
    apt-get $lock_wait update -qq >&2 || fail "apt-get update"
fi
# shellcheck disable=SC2086 # one word per package
apt-get $lock_wait install -y -qq --no-install-recommends $missing >&2 || fail "apt-get install$missing"
printf 'installed=%s\nchanged=yes\n' "${missing# }"
