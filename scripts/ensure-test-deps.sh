#!/usr/bin/env bash
# Runs before `npm test`: the suite compares replies with a real redis-server, drives
# redis-cli and redis-benchmark, runs tests through redis-py, validates /metrics with
# promtool and makes its TLS test certificates with openssl. On Debian or Ubuntu as root,
# installs whatever is missing (and says so); elsewhere it stops at once with the one command
# to run. Nothing is skipped.
set -u
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
{ command -v redis-cli >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; } || missing+=(redis-tools)
/usr/bin/python3 -c "import redis" >/dev/null 2>&1 || missing+=(python3-redis)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && apt-get install -y ${missing[*]}"
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "pretest: installing the test dependencies that are missing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "pretest: installed ${missing[*]}" >&2
    exit 0
  fi
  echo "pretest: the install failed; run: $cmd" >&2
  exit 1
fi
echo "pretest: the tests need ${missing[*]} (Debian/Ubuntu packages). Install them first:" >&2
if command -v apt-get >/dev/null 2>&1; then echo "  sudo sh -c '$cmd'" >&2
else echo "  the equivalents of: $cmd" >&2; fi
exit 1
