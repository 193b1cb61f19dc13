#!/usr/bin/env bash
# Set up everything the project needs on a fresh Debian 12 machine: Debian packages and the venv.
# Idempotent and fast on a second run: each step is skipped when its stamp matches its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PYTHON=${KTC_PYTHON:-python3}
# Debian packages the tests and the lab need: qemu (software emulation) for the lab VMs, debootstrap
# and e2fsprogs to build their image, dnsmasq-base for the lab's isp DNS, ssh for the controller, libnss-wrapper
# so that the network_cli host key test gives libssh a home of its own (libssh reads ~ from the password database).
APT_PACKAGES=(git make qemu-system-x86 qemu-utils debootstrap e2fsprogs dnsmasq-base openssh-client iproute2
  iputils-ping iperf3 bc graphviz libnss-wrapper
  # The metrics page is tested in headless Chromium (tests/integration/test_metrics.py), reached through socat.
  chromium socat
  # The libraries of keepalived and conntrackd, whose binaries check a pair of core servers' rendered files (below).
  libnl-genl-3-200 libsnmp40 libnetfilter-cthelper0 libnetfilter-queue1)

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

apt_key="${APT_PACKAGES[*]}"
if ! stamp_ok "$ROOT/.setup-apt.stamp" "$apt_key"; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  echo "$apt_key" > "$ROOT/.setup-apt.stamp"
fi

req_key=$(sha256sum requirements.txt | cut -d' ' -f1)
if ! stamp_ok "$VENV/.requirements.stamp" "$req_key"; then
  echo "setup: building the venv in $VENV"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -r requirements.txt
  echo "$req_key" > "$VENV/.requirements.stamp"
fi
# Binaries out of Debian's packages (the versions core runs), installed into the venv without installing the packages,
# which would start their services here: binaries_from_debs STAMP "PACKAGE..." FILE... (FILE: a path inside them).
binaries_from_debs() {
  local stamp=$VENV/.$1.stamp packages=($2) key work
  shift 2
  key="$(apt-cache policy "${packages[@]}" | awk '/Candidate/ {print $2}' | tr '\n' ' ')$*"
  stamp_ok "$stamp" "$key" && return 0
  echo "setup: ${*##*/} from Debian's ${packages[*]}"
  work=$(mktemp -d)
  (cd "$work" && chmod 777 . && { apt-get download -qq "${packages[@]}" 2>/dev/null ||
    { apt-get update -qq && apt-get download -qq "${packages[@]}"; }; })
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
  install -m 0755 "${@/#/$work/root}" "$VENV/bin/"
  rm -rf "$work"
  echo "$key" > "$stamp"
}
# promtool and amtool, to check and unit-test the Prometheus and Alertmanager configurations on the controller, and
# prometheus, which the monthly report's test queries (tests/playbooks/test_report.py).
binaries_from_debs promtool "prometheus prometheus-alertmanager" /usr/bin/promtool /usr/bin/amtool /usr/bin/prometheus
# keepalived and conntrackd, to check a pair of core servers' rendered files as core does before installing them
# (tests/playbooks/test_core_pair.py).
binaries_from_debs pair "keepalived conntrackd" /usr/sbin/keepalived /usr/sbin/conntrackd
echo "setup: ready ($("$VENV/bin/ansible" --version | head -1), $("$VENV/bin/python" --version))"
