#!/bin/sh
# What a backend serves and keeps.
#
# Arguments:
#   root  the deploy root
# Prints:
#   current=<link>  where `current` points (releases/<id>; empty before a first publish)
#   config=<id>     where `nginx/live` points (empty before `fab setup`)
#   release=<id>    one line per folder in releases/
set -eu
root=$1
cd "$root"
printf 'current=%s\n' "$(readlink current || true)"
printf 'config=%s\n' "$(readlink nginx/live || true)"
find releases -mindepth 1 -maxdepth 1 -type d -printf 'release=%f\n' 2>/dev/null || true
