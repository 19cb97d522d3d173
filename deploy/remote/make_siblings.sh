#!/bin/sh
# Make, in a staged release, the precompressed siblings rsync left out (deploy/siblings.py):
# hard-link the live one where the file did not change, compress the new file where it did.
#
# Arguments:
#   new             the staged release directory
#   live            the live release directory
#   stamp           modification time (seconds since the epoch) of the siblings compressed here
#   gzip_level      gzip -<level>
#   brotli_quality  brotli -q <quality>
#   brotli_window   brotli -w <window>
# Stdin: the siblings to make, one path per line, relative to the releases.
# Prints:
#   linked=<n>  siblings hard-linked from the live release
#   made=<n>    siblings compressed here
set -eu
new=$1 live=$2 stamp=$3 gzip_level=$4 brotli_quality=$5 brotli_window=$6
links=$(mktemp)
trap 'rm -f "$links"' EXIT
cd "$new"
made=0
while IFS= read -r listed; do
    # ./ first: a name starting with "-" is never read as an option.
    sibling=./$listed
    source=${sibling%.*}
    # rsync hard-linked the file from the live release: it did not change, nor does its sibling.
    # -ef is not POSIX, but dash, bash and busybox sh all have it.
    # shellcheck disable=SC3013
    if [ "$source" -ef "$live/$source" ] && [ -f "$live/$sibling" ]; then
        printf '%s\n' "$sibling" >> "$links"
        continue
    fi
    part=$sibling.part-$$
    case $sibling in
        *.gz) gzip -n "-$gzip_level" -c -- "$source" > "$part" ;;
        *.br) brotli -q "$brotli_quality" -w "$brotli_window" -c -- "$source" > "$part" ;;
    esac
    # Like the build: a sibling only where it is smaller than the file.
    if [ "$(wc -c < "$part")" -lt "$(wc -c < "$source")" ]; then
        touch -d "@$stamp" "$part"
        mv -f "$part" "$sibling"
        made=$((made + 1))
    else
        rm -f "$part"
    fi
done
(cd "$live" && tr '\n' '\0' < "$links" | xargs -0r cp -l --parents -t "$new" --)
printf 'linked=%s\nmade=%s\n' "$(wc -l < "$links")" "$made"
