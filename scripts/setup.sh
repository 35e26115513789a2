#!/usr/bin/env bash
# Installs everything synprobe needs to build, test and demo, from Debian
# packages only. Idempotent and non-interactive: safe to run again, safe in CI.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

pkgs=(
    build-essential cmake pkg-config
    libpcap-dev libnet1-dev libcunit1-dev
    clang clang-format libclang-rt-14-dev
    iproute2 nftables netcat-openbsd tcpdump
    nmap traceroute tcptraceroute mtr-tiny scamper tshark jq
    python3 iputils-ping bc zmap masscan ethtool
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: need root to install: ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}" >&2
    apt-get update -qq
    # tshark/wireshark-common ask about non-root capture; answer no up front.
    echo 'wireshark-common wireshark-common/install-setuid boolean false' |
        debconf-set-selections
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: dependencies present" >&2
