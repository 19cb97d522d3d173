#!/bin/sh
# A temporary self-signed certificate for `names` in haproxy's PEM form (chain, then key,
# mode 600), only where there is no certificate yet: haproxy can start, ACME replaces it.
#
# Arguments:
#   pem            where haproxy reads its certificate
#   names...       the names it covers, the first as its subject
# Prints:
#   changed=yes|no  whether it made one
#   step=<step>     on failure, the step that failed (openssl's complaint on stderr)
set -u
pem=$1
shift
fail() { status=$?; printf 'step=%s\n' "$1"; exit "$status"; }
if [ -s "$pem" ]; then
    echo changed=no
    exit 0
fi
san=
for name in "$@"; do san="$san${san:+,}DNS:$name"; done
work=$(mktemp -d) || fail "temp folder"
trap 'rm -rf "$work"' EXIT
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$1" -addext "subjectAltName=$san" \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null || fail "openssl self-signed"
{ mkdir -p "$(dirname "$pem")" && cat "$work/cert.pem" "$work/key.pem" > "$pem.tmp" &&
  chmod 600 "$pem.tmp" && mv -f "$pem.tmp" "$pem"
} || fail "install $pem"
echo changed=yes
