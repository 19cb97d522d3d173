#!/bin/sh
# Flip a drained backend, in one SSH round trip: switch `current` and `nginx/live`, reload
# nginx if the vhost changed, and wait until the health file names the release.
#
# Arguments:
#   root     the deploy root
#   id       the release to serve
#   config   the vhost folder under nginx/ to make live
#   reload   the command that reloads nginx (run by sh -c)
#   url      the health file's URL on this backend
#   host     the Host header to ask it with
#   timeout  seconds to wait for the health file to name the release
# Prints:
#   reloaded=yes|no  whether nginx reloaded
#   step=<step>      on failure, the step that failed; the exit status is that step's
#   seen=<answer>    after step=health check: what the health file answered last
set -u
root=$1 id=$2 config=$3 reload=$4 url=$5 host=$6 timeout=$7
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
# As directory_digest.sh: hosts have no copy of our scripts to share it from.
digest() {
    [ -n "$1" ] && [ -d "$root/nginx/$1" ] || return 0
    (cd "$root/nginx/$1" && find -L . -type f -print0 | sort -z | xargs -0r sha256sum |
        sha256sum | cut -c1-64)
}
old=$(digest "$(readlink "$root/nginx/live" 2>/dev/null || true)")
new=$(digest "$config")
{ ln -sfn "releases/$id" "$root/.current.new" && mv -T "$root/.current.new" "$root/current" &&
  ln -sfn "$config" "$root/nginx/.live.new" && mv -T "$root/nginx/.live.new" "$root/nginx/live"
} || fail "flip to $id"
if [ "$old" != "$new" ]; then
    sh -c "$reload" || fail "nginx reload"
    echo reloaded=yes
else
    echo reloaded=no
fi
end=$(( $(date +%s) + timeout ))
while :; do
    if seen=$(curl -fsS --max-time 3 -H "Host: $host" "$url" 2>&1) && [ "$seen" = "$id" ]; then
        exit 0
    fi
    if [ "$(date +%s)" -ge "$end" ]; then
        printf 'step=health check\nseen=%s\n' "$seen" | tr -d '\r'
        exit 1
    fi
    sleep 0.2
done
