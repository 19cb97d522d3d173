#!/bin/sh
# Create the deploy account if it is missing, and let in over SSH the keys that let the
# account running this script in, unless the deploy account has keys of its own (as root).
#
# Arguments:
#   user           the deploy account
# Prints:
#   changed=yes|no  whether anything changed
#   step=<step>     on failure, the step that failed
set -u
user=$1
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
changed=no
if ! id "$user" >/dev/null 2>&1; then
    # Password "*": no password logs in, yet the account is not locked ("!"), which sshd
    # refuses even a key for when it runs without PAM.
    useradd --create-home --shell /bin/sh --password '*' "$user" || fail "create account $user"
    changed=yes
fi
home=$(getent passwd "$user" | cut -d: -f6)
keys=$home/.ssh/authorized_keys
if [ ! -s "$keys" ] && [ -s "$HOME/.ssh/authorized_keys" ]; then
    { install -d -m 700 -o "$user" -g "$user" "$home/.ssh" &&
      install -m 600 -o "$user" -g "$user" "$HOME/.ssh/authorized_keys" "$keys"
    } || fail "authorized_keys of $user"
    changed=yes
fi
printf 'changed=%s\n' "$changed"
