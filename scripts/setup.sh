#!/usr/bin/env bash
# Installs everything tapgate and its test suite need on Debian 12 with Node 20:
# apt packages (tcpdump/tshark to check our pcaps and records, curl/dig/openssl as real clients,
# libpcap, tcpreplay, iproute2, python3 for the benchmark generator; g++, make and python3 for
# the native addon), then npm dependencies (npm ci
# also builds native-bindings/ through the package's install script), then the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(tcpdump tshark libpcap-dev tcpreplay iproute2 iptables procps python3 g++ make time gzip curl dnsutils openssl redis-server prometheus systemd)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "setup: installing apt packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-fund --no-audit
npm run build
