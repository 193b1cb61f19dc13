#!/usr/bin/env bash
# Build the lab's Debian bookworm VM image from Debian's packages (debootstrap, no loop mounts):
# base.qcow2 + the kernel and initrd that debootstrap installed + the lab's SSH key.
# Cached in $KTC_LAB_CACHE (default ~/.cache/ktc-lab) under a hash of this script and image-files/: a
# second call returns at once; a changed package list or file builds a new image.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${KTC_LAB_CACHE:-$HOME/.cache/ktc-lab}
KEY=$(cat "$0" $(find "$HERE/image-files" -type f | sort) | sha256sum | cut -c1-12)
OUT=$CACHE/image-$KEY
# What the lab VMs run: the production design's daemons plus the tools the tests use from clients.
PACKAGES=(
  linux-image-amd64 initramfs-tools kmod udev systemd-sysv dbus
  openssh-server python3 sudo iproute2 nftables procps less
  kea-dhcp4-server kea-dhcp6-server kea-admin unbound dns-root-data bind9-dnsutils isc-dhcp-client ndisc6 radvd
  iputils-ping curl iperf3 tcpdump socat ethtool dnsperf conntrack
  # The metrics role's daemons (issue 17): Prometheus, Alertmanager, the node exporter.
  prometheus prometheus-alertmanager prometheus-node-exporter
  # A pair of core servers (roles/core_failover): VRRP and the connection table's copy; conntrackd's filter names
  # protocols, which it looks up in /etc/protocols (netbase, in every Debian but minbase).
  keepalived conntrackd netbase
  # sudo looks the host name (systemd.hostname=<vm> at boot) up: resolved locally, become never waits for a DNS
  # server the lab's core may not reach.
  libnss-myhostname
)

if [ -f "$OUT/ready" ]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
start=$SECONDS

echo "lab image: debootstrap bookworm into $ROOTFS" >&2
debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" bookworm "$ROOTFS" \
  "${KTC_DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$WORK/debootstrap.log" 2>&1 \
  || { tail -30 "$WORK/debootstrap.log" >&2; exit 1; }
echo "lab image: debootstrap done in $((SECONDS - start)) s" >&2

ssh-keygen -q -t ed25519 -N '' -C ktc-lab -f "$WORK/id_ed25519"
install -d -m 700 "$ROOTFS/root/.ssh"
install -m 600 "$WORK/id_ed25519.pub" "$ROOTFS/root/.ssh/authorized_keys"

cp -a "$HERE/image-files/." "$ROOTFS/"
cat > "$ROOTFS/etc/fstab" <<'FSTAB'
/dev/vda / ext4 rw,noatime 0 1
FSTAB
: > "$ROOTFS/etc/machine-id"
echo ktc-lab > "$ROOTFS/etc/hostname"
# debootstrap copies the build machine's resolver, which the lab cannot reach: every DNS lookup on a VM waited for
# its timeouts (Prometheus' start-up looks up the host's addresses by name and back: six minutes). The VMs ask
# their own host: core's Unbound there, and an immediate refusal on the switches.
echo 'nameserver 127.0.0.1' > "$ROOTFS/etc/resolv.conf"
cat > "$ROOTFS/etc/hosts" <<'HOSTS'
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
HOSTS
cat > "$ROOTFS/etc/initramfs-tools/conf.d/ktc-lab" <<'INITRAMFS'
MODULES=list
COMPRESS=gzip
INITRAMFS
printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic > "$ROOTFS/etc/initramfs-tools/modules"

chroot "$ROOTFS" /bin/sh -e <<'CHROOT'
update-initramfs -u -k all > /dev/null
systemctl enable systemd-networkd ssh > /dev/null 2>&1
# The roles decide what runs; the lab starts with the daemons stopped and nothing timed (e2scrub_reap alone took
# most of a minute of each VM's emulated boot).
systemctl disable kea-dhcp4-server kea-dhcp6-server radvd unbound nftables apt-daily.timer apt-daily-upgrade.timer \
  prometheus prometheus-alertmanager prometheus-node-exporter keepalived conntrackd e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer dpkg-db-backup.timer > /dev/null 2>&1 || true
systemctl mask systemd-networkd-wait-online.service > /dev/null 2>&1
passwd -d root > /dev/null
# Ansible logs in as ktc and becomes root through sudo, as production does with its admin account; root's own key
# login stays for the tests' harness (like a console).
useradd --create-home --shell /bin/bash ktc
install -d -m 700 -o ktc -g ktc /home/ktc/.ssh
install -m 600 -o ktc -g ktc /root/.ssh/authorized_keys /home/ktc/.ssh/authorized_keys
echo 'ktc ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/ktc
chmod 0440 /etc/sudoers.d/ktc
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
CHROOT

mkdir -p "$WORK/out"
cp "$ROOTFS"/boot/vmlinuz-* "$WORK/out/vmlinuz"
cp "$ROOTFS"/boot/initrd.img-* "$WORK/out/initrd.img"
mkfs.ext4 -q -F -L ktc-root -d "$ROOTFS" "$WORK/base.raw" 2G >&2
qemu-img convert -O qcow2 "$WORK/base.raw" "$WORK/out/base.qcow2" >&2
cp "$WORK/id_ed25519" "$WORK/id_ed25519.pub" "$WORK/out/"
rm -rf "$OUT" && mv "$WORK/out" "$OUT" && touch "$OUT/ready"
echo "lab image: built $OUT in $((SECONDS - start)) s" >&2
echo "$OUT"
