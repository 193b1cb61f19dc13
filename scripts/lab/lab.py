#!/usr/bin/env python3
"""The virtual KTC: qemu VMs with Debian's own kernel, built from the repository's lab inventory.

    lab.py [--inventory DIR] up     build the image if needed, start every VM and the isp, wait for SSH, attach clients
    lab.py down     stop everything the lab started, by the process ids it recorded (also after a failure)
    lab.py status   list the lab's processes
    lab.py ssh VM [command...]

Topology (all read from the lab's inventory: inventories/lab, or --inventory, such as inventories/lab-pair, whose
hosts differ; the site model is always the lab's):
- isp: a network namespace on the host, ``ktc-isp``, joined to core by one tap device per uplink of
  ktc_site.uplinks; it holds the "internet": a web server and an authoritative DNS server (dnsmasq). With a pair of
  core servers each uplink is a bridge there (named as the one core's tap would be) joining a tap of each server.
- core (group core_routers, one or two servers): eth0 management (qemu user-mode networking, SSH forwarded from
  127.0.0.1:ansible_port), then one NIC per uplink (ktc_uplinks), then its trunk ports.
- access switches (group access_switches): eth0 management, and one client network namespace per access port
  (veth ``swpN`` on the switch, ``eth0`` in namespace ``c-swpN``).
- the links: each switch's ktc_parent_port(s) on its parent (core or a switch) joined to its ktc_switch_uplink
  port(s), pairwise (a list is an LACP bond), over qemu socket links, which carry 802.1Q-tagged frames; below a pair,
  the same port(s) of the second server joined to the switch's ktc_switch_uplink_standby. Every
  VM's NICs are eth1, eth2, ... in the order of their numbers, so the inventory names them ethN.
"""

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INVENTORY = os.path.join(REPO, "inventories", "lab")   # --inventory changes it
SITE = os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")
LAB = os.path.join(REPO, ".lab")
RUN = os.path.join(LAB, "run")
KEY = os.path.join(LAB, "ssh", "id_ed25519")
KNOWN_HOSTS = os.path.join(REPO, "inventories", "lab", "known_hosts")
ISP_NS = "ktc-isp"
TRUNK_BASE_PORT = int(os.environ.get("KTC_LAB_TRUNK_BASE_PORT", "24100"))
MEMORY_MB = int(os.environ.get("KTC_LAB_VM_MEMORY", "512"))
BOOT_TIMEOUT = int(os.environ.get("KTC_LAB_BOOT_TIMEOUT", "900"))
MARKER = "ktc-lab-"

# The "internet" of the lab: documentation ranges (RFC 5737), never routed anywhere real.
ISP_WEB = "192.0.2.80"
ISP_DNS = "192.0.2.53"
ISP_ZONE = "isp.example"
# Its IPv6 (documentation prefix 2001:db8::/32): the isp routes the site's prefix (ktc_site.ipv6.prefix) to core's
# primary uplink, as the ISP that delegated it; on the backup link it answers at fe80::1 (core translates there).
ISP_WEB6 = "2001:db8:ff80::80"
ISP_DNS6 = "2001:db8:ff53::53"
SSH_OPTIONS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5"]


def log(message):
    print("lab: %s" % message, flush=True)


def run(command, check=True, **kwargs):
    return subprocess.run(command, check=check, text=True, **kwargs)


def load_inventory():
    with open(os.path.join(INVENTORY, "hosts.yml")) as handle:
        inventory = yaml.safe_load(handle)["all"]["children"]["lab_vms"]
    with open(SITE) as handle:
        site = yaml.safe_load(handle)["ktc_site"]
    children = inventory["children"]
    core_defaults = children["core_routers"].get("vars", {})
    cores = [dict(core_defaults, **(host_vars or {}), name=name)
             for name, host_vars in children["core_routers"]["hosts"].items()]
    core_name = cores[0]["name"]
    switch_defaults = children["access_switches"].get("vars", {})
    switches = []
    for name, host_vars in children["access_switches"]["hosts"].items():
        merged = dict(switch_defaults, **host_vars)
        if "ktc_parent" not in merged and "ktc_core_port" in merged:     # the older form: hung off core
            merged.update(ktc_parent=core_name, ktc_parent_port=merged["ktc_core_port"])
        switches.append(dict(merged, name=name))
    ports = dict((u["name"], u["interface"]) for u in cores[0]["ktc_uplinks"])
    uplinks = [(u["name"], ports[u["name"]]) for u in site["uplinks"]]
    return {"cores": cores, "switches": depth_first([core["name"] for core in cores], switches), "uplinks": uplinks}


def vm_ports(lab):
    """{vm: its SSH port on 127.0.0.1}: the core servers', then the switches'."""
    return dict([(core["name"], core["ansible_port"]) for core in lab["cores"]]
                + [(s["name"], s["ansible_port"]) for s in lab["switches"]])


def as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def depth_first(core_names, switches):
    """The switches, each after its parent (the order their VMs start in: a parent listens, a child connects)."""
    placed, ordered, pending = set(core_names), [], sorted(switches, key=lambda s: s["name"])
    while pending:
        ready = [s for s in pending if s["ktc_parent"] in placed]
        if not ready:
            raise SystemExit("lab: %s hang off no device of the lab" % ", ".join(s["name"] for s in pending))
        for switch in ready:
            placed.add(switch["name"])
            ordered.append(switch)
            pending.remove(switch)
    return ordered


def wiring(lab):
    """{vm: [netdev of eth1, eth2, ...]}: each core server's uplinks (taps to the isp), then every link of the tree as
    a socket pair, the parent's end listening; below a pair, the second server's end of the link to the standby."""
    nics = dict((core["name"], dict(("eth%d" % (index + 1) if port is None else port,
                                     "tap,ifname=%s,script=no,downscript=no" % tap_name(uplink, number, len(lab["cores"])))
                                    for index, (uplink, port) in enumerate(lab["uplinks"])))
                for number, core in enumerate(lab["cores"]))
    core_names = [core["name"] for core in lab["cores"]]
    socket = TRUNK_BASE_PORT
    for switch in lab["switches"]:
        parent_ports, uplinks = as_list(switch["ktc_parent_port"]), as_list(switch["ktc_switch_uplink"])
        links = [(switch["ktc_parent"], parent_ports, uplinks)]
        if switch["ktc_parent"] in core_names and len(core_names) > 1:
            standby = [name for name in core_names if name != switch["ktc_parent"]][0]
            links.append((standby, parent_ports, as_list(switch.get("ktc_switch_uplink_standby") or [])))
        for parent, parent_ports, uplinks in links:
            if len(parent_ports) != len(uplinks):
                raise SystemExit("lab: %s: %d port(s) of %s, %d of its own" % (switch["name"], len(parent_ports),
                                                                               parent, len(uplinks)))
            for parent_port, uplink in zip(parent_ports, uplinks):
                nics.setdefault(parent, {})[parent_port] = "socket,listen=127.0.0.1:%d" % socket
                nics.setdefault(switch["name"], {})[uplink] = "socket,connect=127.0.0.1:%d" % socket
                socket += 1
    ordered = {}
    for vm, ports in nics.items():
        names = sorted(ports, key=lambda name: int(name[3:]) if name.startswith("eth") and name[3:].isdigit() else -1)
        if names != ["eth%d" % number for number in range(1, len(names) + 1)]:
            raise SystemExit("lab: %s's ports %s must be eth1, eth2, ... (the lab's NICs, in order)" % (vm, names))
        ordered[vm] = [ports[name] for name in names]
    return ordered


def uplink_addresses(index):
    """Core's and the isp's side of uplink ``index``: 198.51.100.(4i+1) isp, .(4i+2) core, in a /30."""
    return "198.51.100.%d/30" % (4 * index + 1), "198.51.100.%d" % (4 * index + 2)


def uplink_addresses6(index):
    """The isp's IPv6 addresses on uplink ``index`` (2001:db8:ffff:<i+1>::1/64 and fe80::1), and core's there."""
    return ["2001:db8:ffff:%x::1/64" % (index + 1), "fe80::1/64"], "2001:db8:ffff:%x::2" % (index + 1)


def site_prefix6():
    with open(SITE) as handle:
        return ((yaml.safe_load(handle)["ktc_site"].get("ipv6") or {}).get("prefix"))


def tap_name(uplink, core=0, cores=1):
    """The host's tap of uplink ``uplink`` on core server number ``core``: ktc-UPLINK with one core (the isp's end of
    the line, where tests take its gateway away), ktcN-UPLINK on each of a pair (the isp's bridge is ktc-UPLINK)."""
    return ("ktc-" + uplink if cores == 1 else "ktc%d-%s" % (core + 1, uplink))[:15]


def mac(vm_index, nic_index):
    return "52:54:00:4b:%02x:%02x" % (vm_index, nic_index)


def pid_alive(pid):
    """Whether ``pid`` runs and is the lab's: the marker is in its command line (qemu) or its environment (the isp's
    daemons, whose command lines are the daemons' own)."""
    try:
        for part in ("cmdline", "environ"):
            with open("/proc/%d/%s" % (pid, part), "rb") as handle:
                if MARKER.encode() in handle.read():
                    return True
    except OSError:
        pass
    return False


def read_pid(path):
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def build_image():
    # The script prints the image directory as its last line.
    return run([os.path.join(REPO, "scripts", "lab", "build-image.sh")], stdout=subprocess.PIPE).stdout.strip().splitlines()[-1]


def qemu_command(image, name, index, nics, port):
    machine_id = hashlib.md5(name.encode()).hexdigest()
    command = [
        "qemu-system-x86_64", "-name", MARKER + name,
        "-accel", "tcg,tb-size=256", "-cpu", "qemu64", "-smp", "1", "-m", str(MEMORY_MB),
        "-kernel", os.path.join(image, "vmlinuz"), "-initrd", os.path.join(image, "initrd.img"),
        "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.hostname=%s systemd.machine_id=%s quiet "
                   "panic=10" % (name, machine_id),
        "-drive", "file=%s,if=virtio,format=qcow2,cache=unsafe,discard=unmap" % os.path.join(RUN, name + ".qcow2"),
        "-netdev", "user,id=mgmt,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:%d-:22" % port,
        "-device", "virtio-net-pci,netdev=mgmt,mac=%s" % mac(index, 0),
    ]
    # A known speed and full duplex: without them Linux's 802.3ad bonding sends no LACPDU on a port (virtio-net
    # reports neither unless told), and a bond never aggregates.
    for nic_index, netdev in enumerate(nics, start=1):
        command += ["-netdev", "%s,id=n%d" % (netdev, nic_index),
                    "-device", "virtio-net-pci,netdev=n%d,mac=%s,speed=1000,duplex=full" % (nic_index,
                                                                                           mac(index, nic_index))]
    command += ["-display", "none", "-serial", "file:%s" % os.path.join(RUN, name + ".console"),
                "-monitor", "unix:%s,server,nowait" % os.path.join(RUN, name + ".monitor"),
                "-pidfile", os.path.join(RUN, name + ".pid"), "-daemonize"]
    return command


def start_vm(image, name, index, nics, port):
    if pid_alive(read_pid(os.path.join(RUN, name + ".pid")) or -1):
        log("%s already running" % name)
        return
    overlay = os.path.join(RUN, name + ".qcow2")
    if os.path.exists(overlay):
        os.unlink(overlay)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(image, "base.qcow2"), "-F", "qcow2", overlay])
    run(qemu_command(image, name, index, nics, port))
    log("started %s (ssh 127.0.0.1:%d)" % (name, port))


def ssh(port, command, check=True, timeout=120):
    return run(["ssh", "-i", KEY, "-p", str(port)] + SSH_OPTIONS + ["root@127.0.0.1", command],
               check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def wait_for_ssh(vms):
    deadline = time.time() + BOOT_TIMEOUT
    waiting = dict(vms)
    while waiting:
        for name, port in list(waiting.items()):
            try:
                if ssh(port, "systemctl is-system-running --wait >/dev/null 2>&1; true", check=False,
                       timeout=60).returncode == 0:
                    log("%s is up" % name)
                    del waiting[name]
            except subprocess.TimeoutExpired:
                pass
        if waiting and time.time() > deadline:
            raise SystemExit("lab: %s did not answer SSH within %d s; see .lab/run/*.console"
                             % (", ".join(sorted(waiting)), BOOT_TIMEOUT))
        if waiting:
            time.sleep(3)


def start_isp(uplinks, cores=1):
    """The isp namespace: the taps of core's uplinks (with a pair, a bridge per uplink joining both servers' taps), the
    web server and the authoritative DNS."""
    if run(["ip", "netns", "list"], stdout=subprocess.PIPE).stdout.split().count(ISP_NS) == 0:
        run(["ip", "netns", "add", ISP_NS])
    ns = ["ip", "netns", "exec", ISP_NS]
    run(ns + ["ip", "link", "set", "lo", "up"])
    for index, (uplink, _port) in enumerate(uplinks):
        line = tap_name(uplink)
        if cores > 1 and run(ns + ["ip", "link", "show", line], check=False, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).returncode != 0:
            run(ns + ["ip", "link", "add", line, "type", "bridge"])
        for core in range(cores):
            tap = tap_name(uplink, core, cores)
            if run(["ip", "link", "show", tap], check=False, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL).returncode == 0:
                run(["ip", "link", "set", tap, "netns", ISP_NS])
            if cores > 1:
                run(ns + ["ip", "link", "set", tap, "master", line, "up"])
        isp_address, _core = uplink_addresses(index)
        run(ns + ["ip", "addr", "replace", isp_address, "dev", line])
        isp_addresses6, core6 = uplink_addresses6(index)
        for address in isp_addresses6:
            run(ns + ["ip", "addr", "replace", address, "dev", line, "nodad"])
        run(ns + ["ip", "link", "set", line, "up"])
        if index == 0 and site_prefix6():
            run(ns + ["ip", "-6", "route", "replace", site_prefix6(), "via", core6, "dev", line])
    for address in (ISP_WEB, ISP_DNS):
        run(ns + ["ip", "addr", "replace", address + "/32", "dev", "lo"])
    for address in (ISP_WEB6, ISP_DNS6):
        run(ns + ["ip", "addr", "replace", address + "/128", "dev", "lo", "nodad"])
    www = os.path.join(LAB, "isp", "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "index.html"), "w") as handle:
        handle.write("ktc-lab isp web server\n")
    daemons = {
        "isp-web": ns + ["/usr/bin/python3", "-m", "http.server", "80", "--bind", ISP_WEB, "--directory", www],
        "isp-web6": ns + ["/usr/bin/python3", "-m", "http.server", "80", "--bind", ISP_WEB6, "--directory", www],
        "isp-dns": ns + ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--bind-interfaces",
                         "--listen-address=" + ISP_DNS, "--listen-address=" + ISP_DNS6, "--port=53",
                         "--auth-server=ns." + ISP_ZONE,
                         "--auth-zone=" + ISP_ZONE, "--host-record=www.%s,%s,%s" % (ISP_ZONE, ISP_WEB, ISP_WEB6),
                         "--host-record=ns.%s,%s,%s" % (ISP_ZONE, ISP_DNS, ISP_DNS6),
                         # A name with an IPv6 address only: reached over IPv6 or not at all.
                         "--host-record=v6only.%s,%s" % (ISP_ZONE, ISP_WEB6),
                         # A name of the internet pointing into KTC's address pool: the DNS-rebinding test's.
                         "--host-record=rebind.%s,10.40.1.10" % ISP_ZONE, "--log-facility=-"],
    }
    for name, command in daemons.items():
        pid_path = os.path.join(RUN, name + ".pid")
        if pid_alive(read_pid(pid_path) or -1):
            continue
        out = open(os.path.join(RUN, name + ".log"), "a")
        # The environment carries the marker so that `down` only ever kills what the lab started.
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=dict(os.environ, KTC_LAB=MARKER + name))
        with open(pid_path, "w") as handle:
            handle.write("%d\n" % process.pid)
    log("isp namespace %s ready (web %s, dns %s for %s)" % (ISP_NS, ISP_WEB, ISP_DNS, ISP_ZONE))


def attach_clients(switch):
    """One client namespace per access port: veth PORT on the switch, eth0 in namespace c-PORT."""
    lines = ["set -e"]
    for segment, ports in sorted((switch.get("ktc_switch_access_ports") or {}).items()):
        for port in ports:
            ns = "c-" + port
            lines.append("ip netns list | grep -qw %s || ip netns add %s" % (ns, ns))
            lines.append("ip link show %s >/dev/null 2>&1 || ip link add %s type veth peer name eth0 netns %s"
                         % (port, port, ns))
            lines.append("ip link set %s up; ip -n %s link set lo up; ip -n %s link set eth0 up" % (port, ns, ns))
            # `ip netns exec` shows this file as the client's /etc/resolv.conf; dhclient writes it.
            lines.append("mkdir -p /etc/netns/%s && touch /etc/netns/%s/resolv.conf" % (ns, ns))
    ssh(switch["ansible_port"], "\n".join(lines))
    log("%s: clients attached" % switch["name"])


def write_known_hosts(vms):
    """inventories/lab/known_hosts: the VMs' host keys as this lab up found them. Ansible checks every connection
    against it (ansible.cfg, StrictHostKeyChecking=yes), as production checks against inventories/production's."""
    lines = []
    for name, port in sorted(vms.items()):
        scanned = run(["ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", str(port), "127.0.0.1"],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        keys = [line for line in scanned.splitlines() if line.startswith("[127.0.0.1]:%d " % port)]
        if not keys:
            raise SystemExit("lab: %s did not give its host key on port %d" % (name, port))
        lines += ["# %s" % name] + keys
    with open(KNOWN_HOSTS, "w") as handle:
        handle.write("# Written by scripts/lab/lab.py up; every lab up rewrites it (not committed).\n")
        handle.write("\n".join(lines) + "\n")
    log("host keys of %d VMs written to %s" % (len(vms), os.path.relpath(KNOWN_HOSTS, REPO)))


def write_ssh_config(lab):
    """.lab/ssh/config: `ssh -F .lab/ssh/config core` for people, the same file for the testinfra tests."""
    entries = sorted(vm_ports(lab).items(), key=lambda item: item[1])
    with open(os.path.join(LAB, "ssh", "config"), "w") as handle:
        for name, port in entries:
            handle.write("Host %s\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n"
                         "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
                         "  BatchMode yes\n  ConnectTimeout 10\n  ServerAliveInterval 5\n  ServerAliveCountMax 3\n"
                         "  ControlMaster auto\n  ControlPath %s/cm-%%n\n  ControlPersist 300\n"
                         % (name, port, KEY, os.path.dirname(KEY)))


def up(_args):
    os.makedirs(RUN, exist_ok=True)
    lab = load_inventory()
    start = time.time()
    image = build_image()
    log("image %s ready after %.0f s" % (image, time.time() - start))
    os.makedirs(os.path.dirname(KEY), exist_ok=True)
    for suffix in ("", ".pub"):
        with open(os.path.join(image, "id_ed25519" + suffix), "rb") as src, open(KEY + suffix, "wb") as dst:
            dst.write(src.read())
    os.chmod(KEY, 0o600)

    write_ssh_config(lab)
    nics = wiring(lab)
    boot = time.time()
    # The core servers first (they listen for their trunks), then the isp (it takes their taps), then the switches.
    # A second core server's VM index comes after the switches', so that the lab's MAC addresses do not move.
    for number, core in enumerate(lab["cores"]):
        start_vm(image, core["name"], 1 if number == 0 else 1 + len(lab["switches"]) + number,
                 nics[core["name"]], core["ansible_port"])
    start_isp(lab["uplinks"], len(lab["cores"]))
    for index, switch in enumerate(lab["switches"]):
        start_vm(image, switch["name"], 2 + index, nics.get(switch["name"], []), switch["ansible_port"])
    vms = vm_ports(lab)
    wait_for_ssh(vms)
    log("all %d VMs up after %.0f s of boot" % (len(vms), time.time() - boot))
    write_known_hosts(vms)
    for switch in lab["switches"]:
        attach_clients(switch)
    log("lab up in %.0f s; converge with: make converge (or ansible-playbook playbooks/site.yml)"
        % (time.time() - start))


def stop_pid(path):
    pid = read_pid(path)
    if pid and pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGTERM) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(50):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
        log("stopped %s (pid %d)" % (os.path.basename(path)[:-4], pid))
    if os.path.exists(path):  # qemu removes its own pidfile when it exits
        os.unlink(path)


def down(_args):
    if os.path.isdir(RUN):
        for name in sorted(os.listdir(RUN)):
            if name.endswith(".pid"):
                stop_pid(os.path.join(RUN, name))
    if ISP_NS in run(["ip", "netns", "list"], stdout=subprocess.PIPE).stdout.split():
        run(["ip", "netns", "delete", ISP_NS])
        log("deleted namespace %s" % ISP_NS)
    if os.path.isdir(RUN):
        for name in os.listdir(RUN):
            if name.endswith((".qcow2", ".monitor")):
                os.unlink(os.path.join(RUN, name))
    log("down")


def status(_args):
    found = False
    if os.path.isdir(RUN):
        for name in sorted(os.listdir(RUN)):
            if name.endswith(".pid"):
                pid = read_pid(os.path.join(RUN, name))
                print("%-16s pid %-8s %s" % (name[:-4], pid, "running" if pid and pid_alive(pid) else "stopped"))
                found = True
    if not found:
        print("lab is down")


def ssh_command(args):
    ports = vm_ports(load_inventory())
    if args.vm not in ports:
        raise SystemExit("lab: no VM %s (have: %s)" % (args.vm, ", ".join(sorted(ports))))
    os.execvp("ssh", ["ssh", "-i", KEY, "-p", str(ports[args.vm])] + SSH_OPTIONS + ["root@127.0.0.1"]
              + ([" ".join(args.command)] if args.command else []))


def main():
    global INVENTORY  # pylint: disable=global-statement
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inventory", default=INVENTORY,
                        help="the lab's inventory directory (default inventories/lab; inventories/lab-pair: a pair of "
                             "core servers)")
    commands = parser.add_subparsers(dest="action", required=True)
    commands.add_parser("up").set_defaults(func=up)
    commands.add_parser("down").set_defaults(func=down)
    commands.add_parser("status").set_defaults(func=status)
    ssh_parser = commands.add_parser("ssh")
    ssh_parser.add_argument("vm")
    ssh_parser.add_argument("command", nargs=argparse.REMAINDER)
    ssh_parser.set_defaults(func=ssh_command)
    args = parser.parse_args()
    INVENTORY = os.path.abspath(args.inventory)
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
