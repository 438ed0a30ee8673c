#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need;
# `deps.sh bench` adds what `make bench` compares against (nftables,
# iptables with its legacy backend) and measures with (ethtool, ps).
# Idempotent and silent when everything is already present.
set -euo pipefail

packages=(
	make gcc clang llvm pkg-config
	libbpf-dev bpftool libelf-dev zlib1g-dev
	libjson-c-dev libcmocka-dev libyaml-dev libssl-dev libmnl-dev
	libmicrohttpd-dev libcurl4-openssl-dev libhiredis-dev redis-server redis-tools
	prometheus curl systemd
	iproute2 util-linux jq
)
if [ "${1:-}" = bench ]; then
	packages+=(ethtool nftables iptables procps)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "ratewall: missing packages: ${missing[*]}; run 'sudo make deps' (or 'sudo make bench')" >&2
	exit 1
fi
echo "ratewall: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
