#!/bin/sh
# A backend's deploy root for `user`, and nginx's http{} pointed at the live vhost: the
# include file names it, Debian's placeholder site goes (unless default_site is "") (as root).
#
# Arguments:
#   user           the deploy account, owner of the deploy root
#   root           the deploy root
#   include        the file nginx's http{} includes ("" to leave nginx's config alone)
#   vhost          the live vhost that file includes
#   default_site   Debian's placeholder site to remove ("" to keep it)
# Prints:
#   changed=yes|no  whether anything changed
#   step=<step>     on failure, the step that failed
set -u
user=$1 root=$2 include=$3 vhost=$4 default_site=$5
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
changed=no
# An empty vhost until a first publish points nginx/live elsewhere: nginx starts without it.
if [ ! -e "$root/nginx/live" ]; then
    { mkdir -p "$root/releases" "$root/nginx/initial" && touch "$root/nginx/initial/site.conf" &&
      ln -sfn initial "$root/nginx/live" && chown -R "$user:" "$root"
    } || fail "deploy root $root"
    changed=yes
fi
if [ -n "$include" ]; then
    line="include $vhost;"
    if ! grep -qxF "$line" "$include" 2>/dev/null; then
        { mkdir -p "$(dirname "$include")" &&
          printf '# Written by fab setup: the vhost fab publish flips.\n%s\n' "$line" \
              > "$include.tmp" && mv -f "$include.tmp" "$include"
        } || fail "nginx include $include"
        changed=yes
    fi
fi
# Debian's "Welcome to nginx" site would answer every name the vhost does not.
if [ -n "$default_site" ] && [ -e "$default_site" ]; then
    rm -f "$default_site" || fail "remove nginx's default site $default_site"
    changed=yes
fi
printf 'changed=%s\n' "$changed"
