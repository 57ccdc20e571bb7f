#!/usr/bin/env bash
# Make sure the Debian packages the tests need are installed: R with metafor (reference numbers,
# the exported R scripts), chromium and chromium-driver (browser tests), wrk (make bench).
# Installs the missing ones with apt when it can (CI runs as root); otherwise fails loudly with the
# command to run, so that no test that needs them ever skips silently.
set -euo pipefail
missing=()
for package in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
echo "system packages missing: ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  exit 0
fi
echo "install them first: sudo apt-get install -y ${missing[*]}" >&2
exit 1
