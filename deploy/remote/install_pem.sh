#!/bin/sh
# Put certbot's current certificate into haproxy (the deploy hook, and `fab certificate`):
# the chain and key in one PEM as haproxy reads it, checked (it parses and has not expired,
# it covers every name, the key is the certificate's), handed to the running haproxy through
# its runtime API (`set ssl cert` + `commit ssl cert`: no reload, no connection dropped),
# then moved over `pem` (mode 600). Anything refused leaves haproxy and `pem` as they were.
#
# Arguments:
#   lineage        certbot's live/<name> folder (fullchain.pem, privkey.pem)
#   pem            the file haproxy loaded its certificate from (HAPROXY_TLS_PEM)
#   socket         haproxy's runtime API socket
#   names...       the names the certificate must cover
# Prints:
#   changed=yes|no  whether `pem` changed
#   serial=<hex>    the serial number of the certificate in `pem` now
#   runtime=yes|no  whether the running haproxy took it (no: haproxy is not running)
#   step=<step>     on failure, the step that failed (the reason on stderr)
set -u
lineage=$1 pem=$2 socket=$3
shift 3
refuse() { printf 'step=%s\n' "$1"; printf '%s\n' "$2" >&2; exit 1; }
runtime() { socat -t 10 - "UNIX-CONNECT:$socket"; }
new=$pem.new
umask 077
trap 'rm -f "$new"' EXIT
cat "$lineage/fullchain.pem" "$lineage/privkey.pem" > "$new" 2>/dev/null ||
    refuse "assemble $new" "cannot read $lineage/fullchain.pem and privkey.pem"
openssl x509 -in "$new" -noout -checkend 0 > /dev/null 2>&1 ||
    refuse "check certificate" "$lineage/fullchain.pem does not parse, or has expired"
for name in "$@"; do
    openssl x509 -in "$new" -noout -checkhost "$name" 2>/dev/null | grep -q ' does match' ||
        refuse "check certificate" "$lineage/fullchain.pem does not cover $name"
done
[ "$(openssl x509 -in "$new" -noout -pubkey)" = "$(openssl pkey -in "$new" -pubout)" ] ||
    refuse "check certificate" "$lineage/privkey.pem is not the certificate's key"
serial=$(openssl x509 -in "$new" -noout -serial | cut -d= -f2)
if cmp -s "$new" "$pem"; then
    printf 'changed=no\nserial=%s\nruntime=no\n' "$serial"
    exit 0
fi
loaded=no
if [ -S "$socket" ]; then
    answer=$({ printf 'set ssl cert %s <<\n' "$pem"; cat "$new"; echo; } | runtime)
    case $answer in
        *"Transaction created"* | *"Transaction updated"*) ;;
        *) refuse "haproxy: set ssl cert $pem" "$answer" ;;
    esac
    answer=$(printf 'commit ssl cert %s\n' "$pem" | runtime)
    case $answer in
        *Success*) loaded=yes ;;
        *)
            printf 'abort ssl cert %s\n' "$pem" | runtime > /dev/null
            refuse "haproxy: commit ssl cert $pem" "$answer"
            ;;
    esac
fi
mv -f "$new" "$pem" || refuse "install $pem" "cannot move $new over $pem"
printf 'changed=yes\nserial=%s\nruntime=%s\n' "$serial" "$loaded"
