#!/bin/sh
# Install certbot's deploy hook (stdin) at `hook`, executable, when it differs; and, for a
# private CA, a drop-in that lets the renewal timer's certbot trust `ca_bundle` (as root).
#
# Arguments:
#   hook           the hook's path (certbot runs every file in renewal-hooks/deploy/)
#   ca_bundle      the CA file the ACME server's HTTPS is checked with ("" for the system's)
# Prints:
#   changed=yes|no  whether the hook or the drop-in changed
#   step=<step>     on failure, the step that failed
set -u
hook=$1 ca_bundle=$2
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
changed=no
# Debian's certbot.timer starts certbot.service, which reads this drop-in.
dropin=/etc/systemd/system/certbot.service.d/blog-ca.conf
mkdir -p "$(dirname "$hook")" || fail "folder of $hook"
cat > "$hook.new" || fail "write $hook"
if cmp -s "$hook.new" "$hook"; then
    rm -f "$hook.new"
else
    { chmod 755 "$hook.new" && mv -f "$hook.new" "$hook"; } || fail "install $hook"
    changed=yes
fi
if [ -n "$ca_bundle" ]; then
    wanted=$(printf '[Service]\nEnvironment=REQUESTS_CA_BUNDLE=%s' "$ca_bundle")
    if [ "$(cat "$dropin" 2>/dev/null)" != "$wanted" ]; then
        { mkdir -p "$(dirname "$dropin")" && printf '%s\n' "$wanted" > "$dropin"; } ||
            fail "install $dropin"
        changed=yes
    fi
elif [ -e "$dropin" ]; then
    rm -f "$dropin" || fail "remove $dropin"
    changed=yes
fi
printf 'changed=%s\n' "$changed"
