# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live state of a device against what the repository says, one function at a time (runtime drift).

Files on disk can match the repository while the running state does not: a rule inserted with `nft insert`, an
address added with `ip addr add`. Each check here reads the running state, builds the state the repository's files
give, and returns the differences, so that ktc_apply re-activates a function whose live state drifted (even when no
file changed) and the drift check reports it. Each check takes ``run(argv) -> (rc, stdout, stderr)`` (the module's
run_command) and returns {"check", "what", "differs", "live", "intended"}; ``live`` and ``intended`` are listings
normalised so that equal states compare equal (no counters, no handles, no elements a rule adds at run time).

No Ansible import: the checks are unit-tested with captured listings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import glob
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import tempfile

_COUNTER = re.compile(r"counter packets \d+ bytes \d+")


def normalise_nft(text):
    """An `nft list ruleset` listing without run-time state: counter values, and the elements of sets that rules fill
    at run time (flags dynamic or a timeout: the per-source connection counts)."""
    out, block, in_set = [], [], False
    for line in text.splitlines():
        stripped = line.strip()
        if not in_set and re.match(r"(set|map) \S+ \{$", stripped):
            in_set, block = True, [line]
            continue
        if in_set:
            block.append(line)
            if stripped == "}" and line.startswith("\t}"):
                out.extend(_set_without_runtime_elements(block))
                in_set = False
            continue
        out.append(_COUNTER.sub("counter", line))
    return "\n".join(out + block if in_set else out) + "\n"


def _set_without_runtime_elements(block):
    runtime = any(line.strip().startswith("flags") and ("dynamic" in line or "timeout" in line) for line in block) \
        or any(line.strip().startswith("timeout ") for line in block)
    if not runtime:
        return block
    kept, skipping = [], False
    for line in block[:-1]:
        stripped = line.strip()
        if not skipping and stripped.startswith("elements = {"):
            skipping = not stripped.endswith("}")
            continue
        if skipping:
            skipping = not stripped.endswith("}")
            continue
        kept.append(line)
    # The blank line nft prints between a set's properties and its elements, left alone without them.
    while kept and not kept[-1].strip():
        kept.pop()
    return kept + [block[-1]]


_CACHE = {"dir": None, "keep": 8}


def use_cache(directory):
    """Keep what the throwaway-namespace builds give (the intended state of the ruleset and of the shaper) in
    ``directory``, keyed by the file's content, the devices, the running kernel, the tool's binary and the protocol
    names of /etc/protocols, which is all they depend on: on a slow host building the shaper takes most of a minute (a hundred tc commands), for every
    converge, drift check and verify. None (the default) builds every time."""
    _CACHE["dir"] = directory


def _built(check, parts, tool, run, argv):
    """(rc, out, err) of the build ``argv``, from the cache when the same build ran before (successfully)."""
    directory = _CACHE["dir"]
    if not directory:
        return run(argv)
    binary = shutil.which(tool) or tool
    try:
        stat = os.stat(binary)
        version = [binary, stat.st_size, stat.st_mtime_ns]
    except OSError:
        version = [binary]
    # nft prints protocols by the names /etc/protocols gives them (netbase): a ruleset listed before it was installed
    # differs from one listed after.
    try:
        with open("/etc/protocols") as handle:
            names = hashlib.sha256(handle.read().encode()).hexdigest()
    except (IOError, OSError):
        names = None
    key = hashlib.sha256(json.dumps([check, parts, os.uname()[2], version, names]).encode()).hexdigest()
    path = os.path.join(directory, "%s-%s" % (check, key))
    try:
        with open(path) as handle:
            return 0, handle.read(), ""
    except (IOError, OSError):
        pass
    rc, out, err = run(argv)
    if rc == 0:
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o700)
            handle, temp = tempfile.mkstemp(prefix=".%s-" % check, dir=directory)
            with os.fdopen(handle, "w") as cached:
                cached.write(out)
            os.rename(temp, path)
            entries = sorted(glob.glob(os.path.join(directory, check + "-*")), key=os.path.getmtime)
            for old in entries[:-_CACHE["keep"]]:
                os.unlink(old)
        except (IOError, OSError):
            pass        # a cache that cannot be written only costs the next build again
    return rc, out, err


def nftables(run, files, path, args=None):
    """The running ruleset against the bundle's file at ``path`` (a whole ruleset, with `flush ruleset`) loaded in a
    throwaway network namespace by the same nft: any rule, set element, chain or table added, changed or deleted by
    hand shows."""
    content = files[path]
    handle, temp = tempfile.mkstemp(prefix=".ktc-live-", suffix=".nft")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(content)
        rc, intended, err = _built("nftables", [content, "list ruleset"], "nft", run,
                                   ["unshare", "--net", "sh", "-c", 'nft -f "$1" && nft list ruleset', "ktc-live", temp])
    finally:
        os.unlink(temp)
    if rc != 0:
        raise RuntimeError("cannot load the ruleset in a throwaway network namespace: %s" % (err or intended).strip())
    rc, live, err = run(["nft", "list", "ruleset"])
    if rc != 0:
        raise RuntimeError("nft list ruleset failed: %s" % err.strip())
    return _result("nftables", "live ruleset", normalise_nft(live), normalise_nft(intended))


def _result(check, what, live, intended, repairs=()):
    return {"check": check, "what": what, "differs": live != intended, "live": live, "intended": intended,
            "repairs": [list(argv) for argv in repairs]}


def _unit_values(content):
    """A systemd unit-style file (networkd's .network, .netdev) as {(section, key): [values]}, repeated sections
    (several [BridgeVLAN]) merged."""
    section, values = None, {}
    for line in content.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        values.setdefault((section, key.strip()), []).append(value.strip())
    return values


def parse_networkd(files):
    """What the systemd-networkd files of a bundle ({path: content}) declare, per interface: kind (netdev Kind, or
    "-" for a port that exists already), VLAN id, parent (the trunk whose .network lists it in VLAN=), master (Bond=,
    Bridge=) and addresses (Address=)."""
    declared = {}

    def entry(name):
        return declared.setdefault(name, {"kind": "-", "id": None, "parent": None, "master": None, "addresses": []})

    for path, content in sorted(files.items()):
        if not path.startswith("/etc/systemd/network/") or not path.endswith((".netdev", ".network")):
            continue
        values = _unit_values(content)
        if path.endswith(".netdev"):
            item = entry(values[("NetDev", "Name")][0])
            item["kind"] = values[("NetDev", "Kind")][0]
            if item["kind"] == "vlan":
                item["id"] = int(values[("VLAN", "Id")][0])
            continue
        name = values.get(("Match", "Name"), [None])[0]
        if name is None:
            continue
        item = entry(name)
        item["addresses"] = sorted(values.get(("Network", "Address"), []) + values.get(("Address", "Address"), []))
        item["master"] = (values.get(("Network", "Bond")) or values.get(("Network", "Bridge")) or [None])[0]
        for child in values.get(("Network", "VLAN"), []):
            entry(child)["parent"] = name
    return declared


def _interface_line(name, item):
    return "%s: kind=%s id=%s on=%s master=%s addresses=%s" % (
        name, item["kind"], item["id"] if item["id"] is not None else "-", item["parent"] or "-",
        item["master"] or "-", ",".join(item["addresses"]) or "-")


def networkd(run, files, moving=()):
    """The interfaces the bundle's networkd files declare, as they run (ip -d addr): each exists with its kind,
    VLAN id, parent, bond or bridge and exactly its addresses (IPv6 link-local ones only when declared); no VLAN device
    runs that no file declares. Repairs: an address nobody declared is deleted, a declared one missing is added, a VLAN device
    undeclared is deleted, one missing (or on the wrong parent or id) is created as declared.
    ``moving``: [{interface, address}] that keepalived adds and removes (a pair of core servers' shared addresses), on
    the active server only: neither required here nor removed."""
    declared = parse_networkd(files)
    moved = set((item["interface"], item["address"]) for item in moving)
    rc, out, err = run(["ip", "-j", "-d", "addr", "show"])
    if rc != 0:
        raise RuntimeError("ip addr show failed: %s" % err.strip())
    running = {}
    for link in json.loads(out or "[]"):
        info = link.get("linkinfo") or {}
        # IPv6 link-local addresses the kernel makes itself are not ours; one a file declares (core's fe80::1 on the
        # segments, which the switches protect) is checked like any other.
        declared_addresses = (declared.get(link["ifname"]) or {}).get("addresses") or []
        addresses = ["%s/%d" % (a["local"], a["prefixlen"]) for a in link.get("addr_info") or []]
        running[link["ifname"]] = {
            "kind": info.get("info_kind") or "-",
            "id": (info.get("info_data") or {}).get("id") if info.get("info_kind") == "vlan" else None,
            "parent": link.get("link") if info.get("info_kind") == "vlan" else None,
            "master": link.get("master"),
            "addresses": sorted(address for a, address in zip(link.get("addr_info") or [], addresses)
                                if (not (a.get("family") == "inet6" and a.get("scope") == "link")
                                    or address in declared_addresses) and (link["ifname"], address) not in moved),
        }
    live, intended = [], []
    deletes, restart, creates, addresses = [], False, [], []
    for name in sorted(declared):
        want, have = declared[name], running.get(name)
        intended.append(_interface_line(name, want))
        if have is None:
            live.append("%s: absent" % name)
            if want["kind"] == "vlan" and want["parent"]:
                creates.append(["ip", "link", "add", "link", want["parent"], "name", name, "type", "vlan", "id",
                                str(want["id"])])
            elif want["kind"] != "-":
                restart = True      # a bond or bridge: networkd creates its netdevs when it starts
            continue
        if want["kind"] == "-":
            have = dict(have, kind="-")   # a port that exists by itself (a NIC): its kind is not ours to say
        live.append(_interface_line(name, have))
        if want["kind"] == "vlan" and (have["id"] != want["id"] or have["parent"] != want["parent"]):
            deletes.append(["ip", "link", "delete", name])
            creates.append(["ip", "link", "add", "link", want["parent"], "name", name, "type", "vlan", "id",
                            str(want["id"])])
            continue
        for address in sorted(set(have["addresses"]) - set(want["addresses"])):
            addresses.append(["ip", "addr", "del", address, "dev", name])
        for address in sorted(set(want["addresses"]) - set(have["addresses"])):
            addresses.append(["ip", "addr", "add", address, "dev", name])
    for name in sorted(set(running) - set(declared)):
        if running[name]["kind"] == "vlan":
            live.append(_interface_line(name, running[name]) + " (declared by no file)")
            deletes.append(["ip", "link", "delete", name])
    # networkd's reload creates only the netdevs of new files, so a VLAN device deleted by hand is created here (networkd
    # then configures it from its .network); a missing bond or bridge needs networkd restarted. Addresses of a device
    # created here are networkd's to add.
    repairs = deletes + ([["systemctl", "restart", "systemd-networkd"]] if restart else []) + creates + addresses
    return _result("networkd", "interface state", "\n".join(live) + "\n", "\n".join(intended) + "\n", repairs)


def summary(result, source, lines=6):
    """One line for the drift report: what differs, and the first lines of the difference (live -> intended)."""
    diff = [line for line in difflib.unified_diff(result["live"].splitlines(), result["intended"].splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    shown = "; ".join(line[0] + line[1:].strip() for line in diff[:lines]) + (" (+%d more)" % (len(diff) - lines)
                                                                if len(diff) > lines else "")
    return "%s differs from %s (- live, + repository): %s" % (result["what"], source, shown)


def _under(files, path):
    return dict((name, content) for name, content in files.items()
                if name == path or name.startswith(path.rstrip("/") + "/"))


# networkd's [Bridge] settings of a port, and the kernel's name and value of each (ip -d link's info_slave_data).
_BRIDGE_FLAGS = {"UseBPDU": ("guard", "no"), "AllowPortToBeRoot": ("root_block", "no"), "Isolated": ("isolated", "yes"),
                 "Learning": ("learning", "yes"), "NeighborSuppression": ("neigh_suppress", "yes")}


def parse_bridge_ports(files):
    """Per bridge port (and the bridge itself) of the networkd files: its VLANs, PVID, untagged VLANs and flags."""
    ports = {}
    for path, content in sorted(files.items()):
        if not path.endswith(".network"):
            continue
        values = _unit_values(content)
        name = values.get(("Match", "Name"), [None])[0]
        vlans = values.get(("BridgeVLAN", "VLAN"), [])
        if name is None or not (vlans or ("Network", "Bridge") in values):
            continue
        flags = {}
        for key, (kernel, set_when) in _BRIDGE_FLAGS.items():
            if ("Bridge", key) in values:
                flags[kernel] = values[("Bridge", key)][0] == set_when
        pvid = values.get(("BridgeVLAN", "PVID"), [None])[0]
        ports[name] = {"vlans": sorted(set(int(v) for v in vlans + values.get(("BridgeVLAN", "PVID"), [])
                                           + values.get(("BridgeVLAN", "EgressUntagged"), []))),
                       "pvid": int(pvid) if pvid else None,
                       "untagged": sorted(int(v) for v in values.get(("BridgeVLAN", "EgressUntagged"), [])),
                       "flags": flags}
    return ports


def _port_line(name, port):
    return "%s: vlans=%s pvid=%s untagged=%s %s" % (
        name, ",".join(str(v) for v in port["vlans"]) or "-", port["pvid"] or "-",
        ",".join(str(v) for v in port["untagged"]) or "-",
        " ".join("%s=%s" % (key, "on" if value else "off") for key, value in sorted(port["flags"].items())))


def bridge(run, files, path, args=None):
    """The VLANs of every bridge port (and of the bridge itself) as they run (bridge vlan), and the port flags the
    networkd files set (ip -d link): a VLAN added to an access port by hand shows, and is deleted before the
    activation; a VLAN or flag missing is put back."""
    declared = parse_bridge_ports(_under(files, path))
    rc, out, err = run(["bridge", "-j", "vlan", "show"])
    if rc != 0:
        raise RuntimeError("bridge vlan show failed: %s" % err.strip())
    vlans = dict((entry["ifname"], entry.get("vlans") or []) for entry in json.loads(out or "[]"))
    rc, out, err = run(["ip", "-j", "-d", "link", "show"])
    if rc != 0:
        raise RuntimeError("ip link show failed: %s" % err.strip())
    slave = dict((link["ifname"], (link.get("linkinfo") or {}).get("info_slave_data") or {})
                 for link in json.loads(out or "[]"))
    live, intended, repairs = [], [], []
    for name in sorted(declared):
        want = declared[name]
        intended.append(_port_line(name, want))
        if name not in slave:
            live.append("%s: absent" % name)
            continue
        entries = vlans.get(name, [])
        range_vlans = []
        for entry in entries:
            range_vlans.extend(range(entry["vlan"], entry.get("vlanEnd", entry["vlan"]) + 1))
        have = {"vlans": sorted(set(range_vlans)),
                "pvid": next((e["vlan"] for e in entries if "PVID" in (e.get("flags") or [])), None),
                "untagged": sorted(set(v for e in entries if "Egress Untagged" in (e.get("flags") or [])
                                       for v in range(e["vlan"], e.get("vlanEnd", e["vlan"]) + 1))),
                "flags": dict((key, bool(slave[name].get(key))) for key in want["flags"])}
        live.append(_port_line(name, have))
        self_ = ["self"] if name not in slave or not slave[name] else []
        for vid in sorted(set(have["vlans"]) - set(want["vlans"])):
            repairs.append(["bridge", "vlan", "del", "dev", name, "vid", str(vid)] + self_)
        for vid in want["vlans"]:
            if vid not in have["vlans"] or (vid == want["pvid"]) != (vid == have["pvid"]) \
                    or (vid in want["untagged"]) != (vid in have["untagged"]):
                repairs.append(["bridge", "vlan", "add", "dev", name, "vid", str(vid)]
                               + (["pvid"] if vid == want["pvid"] else [])
                               + (["untagged"] if vid in want["untagged"] else []) + self_)
        changed = [key for key in want["flags"] if have["flags"][key] != want["flags"][key]]
        if changed:
            repairs.append(["ip", "link", "set", "dev", name, "type", "bridge_slave"]
                           + [arg for key in changed for arg in (key, "on" if want["flags"][key] else "off")])
    return _result("bridge", "bridge state", "\n".join(live) + "\n", "\n".join(intended) + "\n", repairs)


def _networkd(run, files, path, args=None):
    return networkd(run, _under(files, path), (args or {}).get("moving") or ())


def sysctl(run, files, path, args=None, proc="/proc/sys"):
    """The kernel's values of the `key = value` lines of the bundle's sysctl files under ``path``."""
    wanted = {}
    for _name, content in sorted(_under(files, path).items()):
        for line in content.splitlines():
            line = line.strip().lstrip("-")
            if not line or line.startswith(("#", ";")) or "=" not in line:
                continue
            key, _, value = line.partition("=")
            wanted[key.strip()] = " ".join(value.split())
    live, intended = [], []
    for key in sorted(wanted):
        intended.append("%s = %s" % (key, wanted[key]))
        try:
            with open(os.path.join(proc, key.replace(".", "/"))) as handle:
                value = " ".join(handle.read().split())
        except (IOError, OSError):
            value = "(absent)"
        live.append("%s = %s" % (key, value))
    return _result("sysctl", "kernel state", "\n".join(live) + "\n", "\n".join(intended) + "\n")


def services(run, files, path, args=None):
    """The units in ``args["units"]`` run: active, or for a oneshot that does its work and exits, exited with
    success. A unit stopped by hand is started again by the activation."""
    live, intended = [], []
    for unit in (args or {}).get("units") or []:
        rc, out, _err = run(["systemctl", "show", "-p", "ActiveState", "-p", "Result", "-p", "Type", unit])
        values = dict(line.partition("=")[::2] for line in out.splitlines()) if rc == 0 else {}
        state, result, kind = values.get("ActiveState", ""), values.get("Result", ""), values.get("Type", "")
        running = state == "active" or (kind == "oneshot" and state == "inactive" and result == "success")
        intended.append("%s: running" % unit)
        live.append("%s: %s" % (unit, "running" if running else "%s (%s)" % (state or "unknown", result or "-")))
    return _result("services", "service state", "\n".join(live) + "\n", "\n".join(intended) + "\n")


def kea_file(text):
    """Kea's configuration file as data: JSON with whole-line // and # comments (the only ones our template writes)."""
    return json.loads("\n".join(line for line in text.splitlines()
                                if not line.strip().startswith(("//", "#"))))


def kea_listing(dhcp):
    """What Kea serves, one line per subnet (id, prefix, pools, reservations, options) and its interfaces: the same
    listing from the file and from the running server's config-get, whose defaults it leaves out. ``dhcp`` is the
    Dhcp4 or Dhcp6 part of the configuration."""
    lines = ["interfaces: %s" % ",".join(sorted((dhcp.get("interfaces-config") or {}).get("interfaces") or []))]
    options = sorted("%s=%s" % (o.get("name"), o.get("data")) for o in dhcp.get("option-data") or [])
    lines.append("global options: %s" % ";".join(options))
    subnets = (dhcp.get("subnet4") or []) + (dhcp.get("subnet6") or [])
    for subnet in sorted(subnets, key=lambda item: item.get("id") or 0):
        lines.append("subnet %s id=%s interface=%s pools=%s reservations=%s options=%s" % (
            subnet.get("subnet"), subnet.get("id"), subnet.get("interface"),
            ",".join(sorted(pool["pool"].replace(" ", "") for pool in subnet.get("pools") or [])),
            ",".join(sorted("%s>%s" % (r.get("hw-address"), r.get("ip-address")) for r in subnet.get("reservations") or [])),
            ";".join(sorted("%s=%s" % (o.get("name"), o.get("data")) for o in subnet.get("option-data") or []))))
    return "\n".join(lines) + "\n"


def kea_command(path, command, timeout=10):
    """One command on Kea's control socket; the answer as data, or None when nothing answers."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(timeout)
    try:
        client.connect(path)
        client.sendall(json.dumps({"command": command}).encode())
        data = b""
        while True:
            try:
                answer = json.loads(data.decode()) if data else None
            except ValueError:
                answer = None
            if answer is not None:
                return answer
            chunk = client.recv(65536)
            if not chunk:
                return json.loads(data.decode()) if data else None
            data += chunk
    except (socket.error, ValueError):
        return None
    finally:
        client.close()


def kea(run, files, path, args=None, command=kea_command):
    """The running Kea's (DHCPv4's or DHCPv6's, as the file says) configuration (config-get on its control socket)
    against the bundle's file at ``path``:
    interfaces, subnets, pools, reservations and options. A subnet removed with config-set shows; so does a Kea that
    does not answer."""
    config = kea_file(files[path])
    server = "Dhcp6" if "Dhcp6" in config else "Dhcp4"
    wanted = config[server]
    socket_path = wanted["control-socket"]["socket-name"]
    answer = command(socket_path, "config-get")
    if not answer or answer.get("result") != 0 or server not in (answer.get("arguments") or {}):
        live = "Kea does not answer config-get on %s\n" % socket_path
    else:
        live = kea_listing(answer["arguments"][server])
    return _result("kea", "Kea's running configuration", live, kea_listing(wanted))


# A device that does not exist (the shaper never ran, or its ingress device was deleted) lists as absent. One ip and
# one tc process per device (tc -batch): on a slow host each process costs a good part of a second.
# In braces: it follows `&&` in the shaping check's build, which must fail when the script does.
_TC_LIST = ('{ links=" $(ip -o link show | sed -n \'s/^[0-9]*: \\([^:@]*\\).*/\\1/p\' | tr \'\\n\' \' \') "; '
            'for d in "$@"; do echo "== $d"; case "$links" in *" $d "*) '
            'printf \'qdisc show dev %s\\nclass show dev %s\\nfilter show dev %s\\nfilter show dev %s ingress\\n\' '
            '"$d" "$d" "$d" "$d" | tc -batch - ;; *) echo absent ;; esac; done; }')


def normalise_tc(text):
    """A tc listing (qdiscs, classes, filters of each device) without run-time state: the handles the kernel gives
    leaf queues (8xxx:), cake's per-flow classes, refcounts, action indexes and packet counts; sorted per device (the
    kernel lists a device's leaves in hash order)."""
    out, section = [], []
    for line in text.splitlines() + ["== (end)"]:
        if line.startswith("== "):
            out.extend(sorted(section))
            section = []
            out.append(line)
            continue
        line = line.rstrip()
        if not line.strip() or line.strip().startswith("class cake "):
            continue
        line = re.sub(r"\b8[0-9a-f]{3}:", "auto:", line)
        line = re.sub(r" refcnt \d+| direct_packets_stat \d+| direct_qlen \d+|index \d+ ref \d+ bind \d+", "", line)
        section.append(line)
    return "\n".join(out[:-1]) + "\n"


def shaping(run, files, path, args=None):
    """The shaper's queues, classes and filters on each uplink and its ingress device as they run, against what the
    bundle's shaping script (``path``) builds in a throwaway network namespace on dummy uplinks of the same names.
    ``args["uplinks"]``: the site's uplinks [{name, interface}]; the shaper's ingress device is ifb-<name>."""
    uplinks = (args or {}).get("uplinks") or []
    devices = [name for uplink in uplinks for name in (uplink["interface"], "ifb-%s" % uplink["name"])]
    handle, temp = tempfile.mkstemp(prefix=".ktc-live-", suffix=".sh")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(files[path])
        script = ('script=$1; shift; for d in %s; do ip link add "$d" type dummy && ip link set "$d" up || exit 1; '
                  'done; sh "$script" >/dev/null && %s') % (" ".join('"%s"' % u["interface"] for u in uplinks), _TC_LIST)
        rc, intended, err = _built("shaping", [files[path], devices, script], "tc", run,
                                   ["unshare", "--net", "sh", "-c", script, "ktc-live", temp] + devices)
    finally:
        os.unlink(temp)
    if rc != 0:
        raise RuntimeError("cannot build the shaper in a throwaway network namespace: %s" % (err or intended).strip())
    rc, live, err = run(["sh", "-c", _TC_LIST, "ktc-live"] + devices)
    if rc != 0:
        raise RuntimeError("tc show failed: %s" % err.strip())
    return _result("shaping", "shaper state", normalise_tc(live), normalise_tc(intended))


def _record(fields):
    """(name, type, data) of a resource record given as [name, (ttl), (class), type, data...]."""
    name, rest = fields[0].lower().rstrip(".") + ".", fields[1:]
    while rest and (rest[0].isdigit() or rest[0].upper() in ("IN", "CH")):
        rest = rest[1:]
    return name, rest[0].upper(), " ".join(rest[1:]).lower()


def unbound_local(text):
    """The local zones and records the server clause of an unbound.conf declares: ({zone: type}, {records})."""
    zones, records, clause = {}, set(), None
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            clause = line.strip()[:-1]
            continue
        key, _, value = line.strip().partition(":")
        value = value.strip().strip('"')
        if clause != "server" or not value:
            continue
        if key == "local-zone":
            name, _, kind = value.partition('" ')
            zones[name.lower().rstrip(".") + "."] = kind.strip()
        elif key == "local-data":
            records.add(_record(value.split()))
        elif key == "local-data-ptr":
            address, fields = value.split()[0], value.split()[1:]
            records.add((ipaddress.ip_address(address).reverse_pointer + ".", "PTR", fields[-1].lower()))
    return zones, records


def unbound(run, files, path, args=None):
    """Unbound's local zones and records as it serves them (unbound-control list_local_zones, list_local_data)
    against the bundle's unbound.conf: a record added or removed by hand in one of our zones shows. Unbound's own
    default zones, and their NS and SOA records, are left out."""
    zones, records = unbound_local(files[path])

    def ours(name):
        return any(name == zone or name.endswith("." + zone) for zone in zones)
    rc_zones, out_zones, err = run(["unbound-control", "-c", path, "list_local_zones"])
    rc_data, out_data, err_data = run(["unbound-control", "-c", path, "list_local_data"])
    intended = ["zone %s %s" % item for item in sorted(zones.items())] + \
        ["%s %s %s" % record for record in sorted(records)]
    if rc_zones != 0 or rc_data != 0:
        live = ["unbound does not answer unbound-control: %s" % (err or err_data).strip()]
    else:
        live_zones = dict((line.split()[0].lower(), line.split()[1]) for line in out_zones.splitlines()
                          if len(line.split()) == 2 and ours(line.split()[0].lower()))
        live_records = set(record for record in (_record(line.split()) for line in out_data.splitlines()
                                                 if len(line.split()) >= 4)
                           if ours(record[0]) and record[1] not in ("NS", "SOA"))
        live = ["zone %s %s" % item for item in sorted(live_zones.items())] + \
            ["%s %s %s" % record for record in sorted(live_records)]
    return _result("unbound", "Unbound's local data", "\n".join(live) + "\n", "\n".join(intended) + "\n")


# Each check: (run, {path: content} of the bundle, path, args) -> result. ``path`` names the file or directory that
# holds the intended state; ``args`` what else the check needs.
CHECKS = {"nftables": nftables, "networkd": _networkd, "sysctl": sysctl, "services": services, "kea": kea,
          "bridge": bridge, "shaping": shaping, "unbound": unbound}
