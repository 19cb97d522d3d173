#!/bin/sh
# One sha256 over every file (name and content) under a folder, following symlinks.
#
# Arguments:
#   path  the folder
# Prints:
#   digest=<sha256>  64 hex digits; the line is missing when the folder is
set -eu
path=$1
[ -d "$path" ] || exit 0
cd "$path"
printf 'digest=%s\n' "$(find -L . -type f -print0 | sort -z | xargs -0r sha256sum | sha256sum |
    cut -c1-64)"
