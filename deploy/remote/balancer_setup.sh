#!/bin/sh
# The balancer's folders, Debian's haproxy service pointed at the generated config (unless
# defaults is ""), and a first config (stdin, if any) when there is none yet (as root).
#
# Arguments:
#   user           the deploy account, owner of the config folder
#   config_dir     haproxy's config folder
#   socket_dir     the folder of haproxy's runtime API socket
#   defaults       the file Debian's haproxy unit reads CONFIG= from ("" to leave it)
# Prints:
#   changed=yes|no  whether anything changed
#   step=<step>     on failure, the step that failed
set -u
user=$1 config_dir=$2 socket_dir=$3 defaults=$4
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
changed=no
if [ ! -d "$config_dir/staging" ] || [ ! -d "$socket_dir" ]; then
    { mkdir -p "$config_dir/staging" "$socket_dir" && chown -R "$user:" "$config_dir"; } ||
        fail "folders $config_dir $socket_dir"
    changed=yes
fi
# The deploy replaces haproxy.cfg itself; this one only lets haproxy start before it does.
first=$config_dir/haproxy.cfg.first
cat > "$first" || fail "first haproxy.cfg"
if [ ! -e "$config_dir/haproxy.cfg" ] && [ -s "$first" ]; then
    { chown "$user:" "$first" && mv -f "$first" "$config_dir/haproxy.cfg"; } ||
        fail "first haproxy.cfg"
    changed=yes
fi
rm -f "$first"
# Debian's unit runs `haproxy -f $CONFIG`: a folder makes it read every *.cfg in it.
if [ -n "$defaults" ] && ! grep -qxF "CONFIG=$config_dir" "$defaults" 2>/dev/null; then
    { { grep -v '^CONFIG=' "$defaults" 2>/dev/null || true; } > "$defaults.tmp" &&
      printf 'CONFIG=%s\n' "$config_dir" >> "$defaults.tmp" && mv -f "$defaults.tmp" "$defaults"
    } || fail "point haproxy at $config_dir ($defaults)"
    changed=yes
fi
printf 'changed=%s\n' "$changed"
