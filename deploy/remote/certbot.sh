#!/bin/sh
# Get the site's certificate from the ACME CA: certbot's standalone server answers HTTP-01
# on a loopback port, where haproxy's port-80 frontend sends /.well-known/acme-challenge/.
# A certificate that is not due for renewal is kept, unless `renew` is yes (as root).
# On failure what certbot said is on stderr, and its error lines are printed as error=.
#
# Arguments:
#   config_dir     certbot's --config-dir
#   server         the CA's ACME directory URL
#   port           the loopback port certbot answers challenges on
#   email          the account's contact ("" for none)
#   ca_bundle      the CA file the ACME server's HTTPS is checked with ("" for the system's)
#   renew          yes: a new certificate now, even if the current one is not due
#   cert_name      the certificate's name in certbot (live/<cert_name>/)
#   domains...     the names it must cover, the first as its subject
# Prints:
#   changed=yes|no  whether certbot got a new certificate
#   error=<line>    on failure, each line of certbot's that says what went wrong
#   ca_answer=<status> <body>
#                   on failure, the CA's answer to certbot's last request when it was an
#                   HTTP error: its status and its problem document, on one line
set -u
config_dir=$1 server=$2 port=$3 email=$4 ca_bundle=$5 renew=$6 cert_name=$7
shift 7
current=$config_dir/live/$cert_name/cert.pem
before=$(readlink -f "$current" 2>/dev/null || true)
contact=--register-unsafely-without-email
[ -z "$email" ] || contact="--email=$email"
due=--keep-until-expiring
[ "$renew" != yes ] || due=--force-renewal
domains=
for name in "$@"; do domains="$domains${domains:+,}$name"; done
[ -z "$ca_bundle" ] || export REQUESTS_CA_BUNDLE="$ca_bundle"
# certbot's default, named so that the log read below is the one this run wrote.
logs_dir=/var/log/letsencrypt
log=$(mktemp) || exit 1
trap 'rm -f "$log"' EXIT
status=0
certbot certonly --non-interactive --agree-tos --standalone "$contact" "$due" \
    --config-dir "$config_dir" --logs-dir "$logs_dir" --server "$server" --cert-name "$cert_name" \
    --http-01-address 127.0.0.1 --http-01-port "$port" --key-type ecdsa \
    --domains "$domains" > "$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    # The CA's problem per domain, or the error a client or the CA raised.
    grep -E '^ *(Domain|Type|Detail):|[A-Za-z]*(Error|error)[: ]' "$log" |
        grep -v 'Ask for help' | sed 's/^ *//; s/^/error=/'
    # certbot 2.1 on Python 3.11 (Debian 12's) reports any error the CA answers with as
    # "AttributeError: can't set attribute" (certbot#9539); its debug log keeps the answer.
    # A response is logged as "HTTP <code>", its headers, a blank line, then its body up to
    # the next log record.
    awk '
        /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { reading = 0 }
        /:acme\.client:Received response:$/ { reading = 1; in_body = 0; code = ""; body = ""; next }
        reading && code == "" { code = $2; next }
        reading && /^$/ { in_body = 1; next }
        reading && in_body { body = body " " $0 }
        END { if (code >= 400) print "ca_answer=" code body }
    ' "$logs_dir/letsencrypt.log" 2>/dev/null
    exit "$status"
fi
after=$(readlink -f "$current" 2>/dev/null || true)
[ "$after" = "$before" ] && echo changed=no || echo changed=yes
