#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/debian-packages.txt that are missing (the system
# tests start them: redis-server, chromium, ...). Needs root or sudo; CI runs as root.
set -euo pipefail
cd "$(dirname "$0")"
missing=()
while read -r package _; do
    [ -z "$package" ] || [ "${package#\#}" != "$package" ] && continue
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done < debian-packages.txt
[ "${#missing[@]}" -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
