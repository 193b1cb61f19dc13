# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The allocation ledger of a KTC site: its file format, the allocator, and the facts derived from it.

No Ansible import here on purpose: the module and filter plugins are thin adapters over these
functions, and the unit tests, property tests and benchmarks call them directly.

Data path: ktc_site.validate_site(site) -> ``check_ledger(ledger, site)`` -> ``allocate(site, ledger)``
-> ``dump_ledger(ledger)`` (the file in git) -> ``segment_facts(site, ledger)`` (what roles read).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import heapq
import os

import yaml
from netaddr import IPAddress, IPNetwork, IPSet

try:
    from ansible.module_utils.ktc_site import (SiteError, core_names, host_capacity, ipv4_address, ipv4_network,
                                               ipv6_network, is_int, prefixlen_for, validate_site)
except ImportError:  # outside a module (filters, tests, benchmarks): plugins/module_utils is on sys.path
    from ktc_site import (SiteError, core_names, host_capacity, ipv4_address, ipv4_network, ipv6_network, is_int,
                          prefixlen_for, validate_site)

LEDGER_VERSION = 1
LEDGER_HEADER = (
    "---\n"
    "# KTC allocation ledger: VLAN IDs, prefixes and reserved addresses given to offices.\n"
    "# Written by the ktc_ipam_allocate module; review every change as a git diff.\n"
    "# Never edit by hand: entries of removed offices stay here until released with\n"
    "# playbooks/release.yml, so that their VLANs and prefixes are never handed out twice.\n"
)

# Core's link-local address on every segment, fixed (not derived from a MAC) so that the switches can refuse a client
# that claims it, and a replaced NIC changes no client's default route.
GATEWAY_LINK_LOCAL6 = "fe80::1"

# libyaml's dumper when present (several times faster); both write the same text for the ledger.
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


def empty_ledger():
    return {"ktc_ipam_ledger_version": LEDGER_VERSION, "offices": {}}


def load_ledger(text):
    """Parse the ledger file's text (empty text is an empty ledger)."""
    try:
        data = yaml.safe_load(text) if text and text.strip() else None
    except yaml.YAMLError as exc:
        raise SiteError(["ledger: not valid YAML (%s). Fix: restore it from git (git checkout -- ipam.yml)."
                         % str(exc).replace("\n", " ")])
    if data is None:
        return empty_ledger()
    if not isinstance(data, dict) or not isinstance(data.get("offices", {}), dict):
        raise SiteError(["ledger: expected a mapping with an 'offices' mapping. Fix: restore it from git."])
    if data.get("ktc_ipam_ledger_version") != LEDGER_VERSION:
        raise SiteError(["ledger: ktc_ipam_ledger_version is %r, this code reads version %d."
                         % (data.get("ktc_ipam_ledger_version"), LEDGER_VERSION)])
    data["offices"] = data.get("offices") or {}
    return data


def read_ledger(path):
    """Return ``(text, ledger)`` of the ledger file at ``path``; a missing file is an empty ledger."""
    text = ""
    if os.path.exists(path):
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    return text, load_ledger(text)


def dump_ledger(ledger):
    """The ledger as the exact text of the file: deterministic, so an unchanged ledger is byte-identical."""
    body = yaml.dump(ledger, Dumper=_Dumper, default_flow_style=False, sort_keys=True, width=200)
    return LEDGER_HEADER + body


def _entries(ledger):
    for office_id, segments in sorted(ledger["offices"].items()):
        for segment_name, entry in sorted((segments or {}).items()):
            yield office_id, segment_name, entry


def check_ledger(ledger, site):
    """Refuse a ledger that was edited into an inconsistent state; return nothing or raise SiteError."""
    errors = []
    pool = IPNetwork(site["address_pool"])
    mgmt = IPNetwork(site["management"]["prefix"])
    vlans, prefixes = {}, []
    for office_id, segment_name, entry in _entries(ledger):
        where = "ledger offices.%s.%s" % (office_id, segment_name)
        if not isinstance(entry, dict):
            errors.append("%s: must be a mapping {vlan, prefix}. Fix: restore the ledger from git." % where)
            continue
        vlan, prefix = entry.get("vlan"), ipv4_network(entry.get("prefix"))
        if not is_int(vlan) or not 2 <= vlan <= 4094:
            errors.append("%s.vlan: %r is not a VLAN ID." % (where, vlan))
        elif vlan in vlans:
            errors.append("%s.vlan: VLAN %d is also given to %s. Fix: restore the ledger from git; never edit it by "
                          "hand." % (where, vlan, vlans[vlan]))
        elif vlan == site["management"]["vlan"]:
            errors.append("%s.vlan: VLAN %d is the management VLAN." % (where, vlan))
        else:
            vlans[vlan] = "%s/%s" % (office_id, segment_name)
        if prefix is None or prefix.ip != prefix.network:
            errors.append("%s.prefix: %r is not a network address. Fix: restore the ledger from git."
                          % (where, entry.get("prefix")))
            continue
        if prefix not in pool:
            errors.append("%s.prefix: %s lies outside address_pool %s. Fix: widen address_pool back, or release the "
                          "segment." % (where, prefix, pool))
        if prefix.cidr in mgmt.cidr or mgmt.cidr in prefix.cidr:
            errors.append("%s.prefix: %s overlaps the management prefix %s." % (where, prefix, mgmt))
        held = {}
        for key in ("reservations", "cores"):
            for name, address in sorted((entry.get(key) or {}).items()):
                addr = ipv4_address(address)
                if addr is None or addr not in prefix or addr in (prefix.network, prefix.broadcast, prefix.network + 1):
                    errors.append("%s.%s.%s: %r is not a host address of %s." % (where, key, name, address, prefix))
                elif str(addr) in held:
                    errors.append("%s.%s.%s: %s is also %s. Fix: restore the ledger from git; never edit it by hand."
                                  % (where, key, name, addr, held[str(addr)]))
                else:
                    held[str(addr)] = "%s.%s" % (key, name)
        prefixes.append((prefix.first, prefix.last, "%s/%s" % (office_id, segment_name), prefix))
    _check_ledger_ipv6(ledger, site, errors)
    prefixes.sort()
    for (first_a, last_a, name_a, net_a), (first_b, _, name_b, net_b) in zip(prefixes, prefixes[1:]):
        if first_b <= last_a:
            errors.append("ledger: %s (%s) overlaps %s (%s). Fix: restore the ledger from git; never edit it by hand."
                          % (name_a, net_a, name_b, net_b))
    if errors:
        raise SiteError(errors)


def _ipv6_entries(ledger):
    """(where, entry) of every ledger entry that may hold a /64: management, then each segment."""
    yield "ledger management", ledger.get("management") or {}
    for office_id, segment_name, entry in _entries(ledger):
        if isinstance(entry, dict):
            yield "ledger offices.%s.%s" % (office_id, segment_name), entry


def _check_ledger_ipv6(ledger, site, errors):
    management = ledger.get("management", {})
    if not isinstance(management, dict) or set(management) - set(("prefix6",)):
        errors.append("ledger management: must be a mapping {prefix6}. Fix: restore the ledger from git.")
        return
    site_prefix = IPNetwork(site["ipv6"]["prefix"]) if site.get("ipv6") else None
    seen = {}
    for where, entry in _ipv6_entries(ledger):
        if "prefix6" not in entry:
            continue
        prefix6 = ipv6_network(entry["prefix6"])
        if prefix6 is None or prefix6.prefixlen != 64 or prefix6.ip != prefix6.network:
            errors.append("%s.prefix6: %r is not an IPv6 /64 network address. Fix: restore the ledger from git."
                          % (where, entry["prefix6"]))
        elif prefix6 in seen:
            errors.append("%s.prefix6: %s is also given to %s. Fix: restore the ledger from git; never edit it by hand."
                          % (where, prefix6, seen[prefix6]))
        elif site_prefix is not None and prefix6 not in site_prefix:
            errors.append("%s.prefix6: %s lies outside ktc_site.ipv6.prefix %s, and allocated prefixes never move. "
                          "Fix: put ktc_site.ipv6.prefix back; to renumber to a new ISP prefix, release the site's "
                          "IPv6 prefixes first (playbooks/release.yml -e '{\"ktc_release\": [\"ipv6\"]}')."
                          % (where, prefix6, site_prefix))
        else:
            seen[prefix6] = where


# --------------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------------


class _FreeSpace:
    """Free address space as aligned blocks, one heap per size: lowest-address first fit in O(33 log n).

    Taking the lowest block that fits fills the pool from the bottom up, which is what operators
    expect to read in the plan; placing the largest segments first keeps the packing tight.
    """

    def __init__(self, free_set):
        self._lists = dict((length, []) for length in range(33))
        for cidr in free_set.iter_cidrs():
            heapq.heappush(self._lists[cidr.prefixlen], cidr.first)

    def take(self, prefixlen):
        fitting = [(firsts[0], length) for length, firsts in self._lists.items() if length <= prefixlen and firsts]
        if not fitting:
            return None
        first, length = min(fitting)
        heapq.heappop(self._lists[length])
        # Keep the block's lowest part; give its upper halves back as free blocks.
        for split in range(length + 1, prefixlen + 1):
            heapq.heappush(self._lists[split], first + 2 ** (32 - split))
        return IPNetwork((first, prefixlen))

    def describe(self):
        blocks = [(length, len(firsts)) for length, firsts in self._lists.items() if firsts]
        total = sum(count * 2 ** (32 - length) for length, count in blocks)
        largest = min(length for length, _ in blocks) if blocks else None
        return total, largest


def _release(ledger, release, site_keys, errors):
    offices = ledger["offices"]
    released = []
    for item in release:
        if item == "ipv6":
            # Renumbering to another ISP's prefix: every /64 is given up at once, and allocated again in the new one.
            for where, entry in _ipv6_entries(ledger):
                prefix6 = entry.pop("prefix6", None)
                if prefix6:
                    released.append("%s %s" % (where[len("ledger "):], prefix6))
            ledger.pop("management", None)
            continue
        office_id, _, segment_name = str(item).partition("/")
        if office_id not in offices or (segment_name and segment_name not in offices[office_id]):
            errors.append("release %s: not in the ledger (nothing to release). Known: office ids, or office/segment."
                          % item)
            continue
        names = [segment_name] if segment_name else sorted(offices[office_id])
        in_site = [name for name in names if (office_id, name) in site_keys]
        if in_site:
            errors.append("release %s: %s/%s is still in site.yml. Fix: remove it from site.yml first; release only "
                          "frees space of removed offices and segments." % (item, office_id, in_site[0]))
            continue
        for name in names:
            del offices[office_id][name]
            released.append("%s/%s" % (office_id, name))
        if not offices[office_id]:
            del offices[office_id]
    return released


def _reserved_names(site, office):
    """{name: segment} of every address reserved in ``office``: its devices, and the shared services when the site's
    services segment is one of its segments."""
    wanted = dict((r["name"], r["segment"]) for r in office.get("reservations", []))
    holder = site.get("services_segment")
    if holder and holder[0] == office["id"]:
        wanted.update((service["name"], holder[1]) for service in site.get("services", []))
    return wanted


def _place(entry, key, names, office_id, segment_name, report):
    """Give each of ``names`` a stable address from the top of the segment ``entry`` under ``entry[key]``, below every
    address the segment already holds (reservations and the core servers' own); drop names no longer listed."""
    # Reported as office/segment/name, a core server's as office/segment/core name.
    where = "%s/%s/%s" % (office_id, segment_name, "core " if key == "cores" else "")
    current = entry.get(key) or {}
    kept = dict((name, addr) for name, addr in current.items() if name in names)
    for name in sorted(set(current) - set(kept)):
        report["reservations_dropped"].append(where + name)
    new = [name for name in names if name not in kept]
    if new:
        prefix = IPNetwork(entry["prefix"])
        taken = set(kept.values()) | set(addr for other in ("reservations", "cores") if other != key
                                         for addr in (entry.get(other) or {}).values())
        candidate = prefix.broadcast - 1
        for name in new:
            while str(candidate) in taken:
                candidate -= 1
            if candidate <= prefix.network + 1:
                what = "core server %s" % name if key == "cores" else name
                raise SiteError(["ktc_site.offices[%s].segments[%s]: %s has no free address left in %s (it holds %d "
                                 "reserved addresses). Fix: remove reservations or services, or use a bigger segment."
                                 % (office_id, segment_name, what, prefix, len(taken))])
            kept[name] = str(candidate)
            taken.add(str(candidate))
            report["reservations_added"].append("%s%s %s" % (where, name, candidate))
    if kept:
        entry[key] = kept
    else:
        entry.pop(key, None)


def _place_reservations(office_id, wanted, entry_by_segment, report, cores=()):
    """Give each reserved name, then each core server of a pair, a stable address from the top of its segment; drop
    names no longer listed."""
    for segment_name, entry in entry_by_segment.items():
        _place(entry, "reservations", sorted(name for name, seg in wanted.items() if seg == segment_name), office_id,
               segment_name, report)
        _place(entry, "cores", list(cores), office_id, segment_name, report)


def _allocate_ipv6(site, ledger, report):
    """Give management and every segment of ``site`` without one a /64 of the site's IPv6 prefix, in place.

    A segment's /64 is the one whose subnet ID reads like its VLAN ID (VLAN 101 -> 2001:db8:40:101::/64) when the
    prefix has room for it and it is free, so that an operator reads one from the other; otherwise the lowest free
    /64 above the zero one. Like IPv4 prefixes, a /64 in the ledger never moves.
    """
    site_prefix = IPNetwork(site["ipv6"]["prefix"])
    subnets = 2 ** (64 - site_prefix.prefixlen)
    base = site_prefix.first >> 64
    taken = set((IPNetwork(entry["prefix6"]).first >> 64) - base for _, entry in _ipv6_entries(ledger)
                if "prefix6" in entry)
    segments = [("%s/%s" % (office["id"], segment["name"]), ledger["offices"][office["id"]][segment["name"]])
                for office in site["offices"] for segment in office["segments"]]
    # Management first, then by VLAN: where VLAN-like IDs do not fit, the /64s follow the VLANs' order.
    wanted = [("management", site["management"]["vlan"], ledger.setdefault("management", {}))]
    wanted += [(name, vlan, entry) for vlan, name, entry in
               sorted((entry["vlan"], name, entry) for name, entry in segments if "prefix6" not in entry)]
    lowest_free = 1
    for name, vlan, entry in wanted:
        if "prefix6" in entry:
            continue
        subnet = int(str(vlan), 16)
        if subnet >= subnets or subnet in taken:
            while lowest_free in taken:
                lowest_free += 1
            subnet = lowest_free
        if subnet >= subnets:
            raise SiteError(["ktc_site.ipv6.prefix: %s holds %d /64s, and management and the segments in the ledger "
                             "take all of them; %s gets none. Fix: ask the ISP for a shorter prefix (a /56 or /48), or "
                             "release removed offices." % (site_prefix, subnets, name)])
        taken.add(subnet)
        entry["prefix6"] = str(IPNetwork(((base + subnet) << 64, 64), version=6))
        report["allocated"].append("%s ipv6 %s" % (name, entry["prefix6"]))


def allocate(site, ledger, release=()):
    """Allocate VLANs, prefixes and reserved addresses for everything in ``site`` missing from ``ledger``.

    ``site`` must come from validate_site(); ``ledger`` is not modified. Returns ``(new_ledger, report)``.
    Entries already in the ledger never move; entries of removed offices stay until released; new
    segments are placed largest first, then by office id and name, so the result does not depend on
    the order of site.yml.
    """
    new = {"ktc_ipam_ledger_version": LEDGER_VERSION,
           "offices": dict((office_id, dict((name, dict(entry)) for name, entry in (segments or {}).items()))
                           for office_id, segments in ledger["offices"].items())}
    if isinstance(ledger.get("management"), dict):
        new["management"] = dict(ledger["management"])
    report = {"allocated": [], "released": [], "reservations_added": [], "reservations_dropped": []}
    errors = []
    site_keys = set((office["id"], segment["name"]) for office in site["offices"] for segment in office["segments"])
    report["released"] = _release(new, release, site_keys, errors)
    if errors:
        raise SiteError(errors)
    check_ledger(new, site)

    headroom = site["headroom_percent"]
    cores = core_names(site)
    pool = IPNetwork(site["address_pool"])
    mgmt = IPNetwork(site["management"]["prefix"])
    entries = [entry for _office, _segment, entry in _entries(new)]
    used_vlans = set([site["management"]["vlan"]] + [entry["vlan"] for entry in entries])
    # One IPSet built at once: adding prefixes one by one re-merges the whole set each time.
    used = IPSet([mgmt.cidr] + [entry["prefix"] for entry in entries])

    wanted = []
    for office in site["offices"]:
        for segment in office["segments"]:
            entry = new["offices"].get(office["id"], {}).get(segment["name"])
            if entry is None:
                wanted.append((prefixlen_for(segment["hosts"], headroom, len(cores)), office["id"], segment["name"],
                               segment["hosts"]))
            elif host_capacity(IPNetwork(entry["prefix"]).prefixlen, len(cores)) < segment["hosts"]:
                errors.append("ktc_site.offices[%s].segments[%s].hosts: %d no longer fits its allocated prefix %s "
                              "(%d hosts at most%s), and allocated prefixes never move. Fix: lower hosts, or add a "
                              "second segment for the extra devices." % (
                                  office["id"], segment["name"], segment["hosts"], entry["prefix"],
                                  host_capacity(IPNetwork(entry["prefix"]).prefixlen, len(cores)),
                                  " beside the two core servers' own addresses" if cores else ""))
    if errors:
        raise SiteError(errors)

    free = _FreeSpace(IPSet([pool.cidr]) - used)
    vlan_first, vlan_last = site["vlan_pool"]["first"], site["vlan_pool"]["last"]
    next_vlan = vlan_first
    for prefixlen, office_id, segment_name, hosts in sorted(wanted):
        where = "ktc_site.offices[%s].segments[%s]" % (office_id, segment_name)
        while next_vlan in used_vlans:
            next_vlan += 1
        if next_vlan > vlan_last:
            kept = len([1 for key in _entries(new) if (key[0], key[1]) not in site_keys])
            raise SiteError(["%s: VLAN pool %d..%d is exhausted (%d segments in the ledger, %d of them of removed "
                             "offices). Fix: release removed offices (playbooks/release.yml) or widen vlan_pool."
                             % (where, vlan_first, vlan_last, sum(1 for _ in _entries(new)), kept)])
        prefix = free.take(prefixlen)
        if prefix is None:
            total, largest = free.describe()
            raise SiteError(["%s: %d hosts need a /%d, but address_pool %s has %d free addresses left, the largest "
                             "free block being %s. Fix: lower hosts, release removed offices, or widen "
                             "address_pool." % (where, hosts, prefixlen, pool, total,
                                                "/%d" % largest if largest is not None else "none")])
        used_vlans.add(next_vlan)
        new["offices"].setdefault(office_id, {})[segment_name] = {"vlan": next_vlan, "prefix": str(prefix)}
        report["allocated"].append("%s/%s vlan %d %s" % (office_id, segment_name, next_vlan, prefix))

    if site.get("ipv6"):
        _allocate_ipv6(site, new, report)
    for office in site["offices"]:
        segments = new["offices"][office["id"]]
        _place_reservations(office["id"], _reserved_names(site, office),
                            dict((s["name"], segments[s["name"]]) for s in office["segments"]), report, cores)
    return new, report


def plan(site, ledger, release=()):
    """Validate the site, then allocate; return ``(normalised_site, new_ledger, report)``."""
    site = validate_site(site)
    new_ledger, report = allocate(site, ledger, release)
    return site, new_ledger, report


# --------------------------------------------------------------------------------------------
# Facts derived from the ledger (what the roles' templates read)
# --------------------------------------------------------------------------------------------


def reverse_zones(prefix):
    """The in-addr.arpa zones that hold the PTR records of ``prefix`` (octet boundaries)."""
    net = IPNetwork(prefix)
    octets = max(1, min(3, (net.prefixlen + 7) // 8))
    zone_len = octets * 8
    if net.prefixlen >= zone_len:
        supernets = [net.supernet(zone_len)[0] if net.prefixlen > zone_len else net]
    else:
        supernets = list(net.subnet(zone_len))
    zones = []
    for supernet in supernets:
        parts = str(supernet.network).split(".")[:octets]
        zones.append(".".join(reversed(parts)) + ".in-addr.arpa")
    return zones


def reverse_zone6(prefix6):
    """The ip6.arpa zone of a /64: its 16 nibbles, reversed."""
    nibbles = "%032x" % IPNetwork(prefix6).first
    return ".".join(reversed(nibbles[:16])) + ".ip6.arpa"


def ipv6_facts(prefix6, host=1):
    """The IPv6 facts of a /64 (``prefix6`` None: the IPv6-less ones): its gateway at ``host`` (::1), and core's
    link-local address on it, the one clients route through (router advertisements come from it)."""
    if not prefix6:
        return {"prefix6": None, "gateway6": None, "gateway6_cidr": None, "reverse_zone6": None,
                "link_local6": None}
    net = IPNetwork(prefix6)
    gateway = IPAddress(net.first + host, 6)
    return {"prefix6": str(net.cidr), "gateway6": str(gateway), "gateway6_cidr": "%s/64" % gateway,
            "reverse_zone6": reverse_zone6(net), "link_local6": GATEWAY_LINK_LOCAL6}


def management_facts(site, ledger):
    """Management as the roles read it: the IPv4 prefix and its reverse zones, and (on an IPv6 site) its /64, core's
    address ::1 in it and its ip6.arpa zone."""
    prefix6 = (ledger.get("management") or {}).get("prefix6") if site.get("ipv6") else None
    if site.get("ipv6") and not prefix6:
        raise SiteError(["management has no IPv6 /64 in the ledger yet. Fix: run playbooks/allocate.yml (or site.yml) "
                         "first."])
    facts = {"prefix": site["management"]["prefix"], "vlan": site["management"]["vlan"],
             "reverse_zones": reverse_zones(site["management"]["prefix"])}
    facts.update(ipv6_facts(prefix6))
    return facts


def dhcp_pools(prefix, excluded=()):
    """Address ranges a DHCP server may hand out: hosts minus the gateway and every excluded address."""
    net = IPNetwork(prefix)
    hosts = IPSet([net.cidr]) - IPSet([str(net.network), str(net.broadcast), str(net.network + 1)])
    hosts -= IPSet(list(excluded))
    return [{"start": str(IPAddress(r.first)), "end": str(IPAddress(r.last))} for r in hosts.iter_ipranges()]


def segment_facts(site, ledger):
    """One dict per segment of ``site``, in site order, with everything the roles need (from the ledger)."""
    facts, missing = [], []
    domain = site["domain"]
    for office in site["offices"]:
        entries = ledger["offices"].get(office["id"], {})
        for segment in office["segments"]:
            entry = entries.get(segment["name"])
            if entry is None:
                missing.append("%s/%s" % (office["id"], segment["name"]))
                continue
            net = IPNetwork(entry["prefix"])
            if site.get("ipv6") and "prefix6" not in entry:
                missing.append("%s/%s (IPv6)" % (office["id"], segment["name"]))
                continue
            ipv6 = ipv6_facts(entry.get("prefix6") if site.get("ipv6") else None)
            reserved = entry.get("reservations") or {}
            # A pair of core servers: each one's own address in the segment (the gateway is the pair's).
            own = dict((name, entry["cores"][name]) for name in core_names(site) if name in (entry.get("cores") or {}))
            fqdn = "%s.%s.%s" % (segment["name"], office["id"], domain)
            reservations = [{"name": r["name"], "mac": r["mac"].lower(), "address": reserved[r["name"]],
                             "fqdn": "%s.%s.%s" % (r["name"], office["id"], domain)}
                            for r in office.get("reservations", [])
                            if r["segment"] == segment["name"] and r["name"] in reserved]
            services = []
            if site.get("services_segment") == [office["id"], segment["name"]]:
                services = [{"name": service["name"], "mac": service.get("mac"), "address": reserved[service["name"]],
                             "fqdn": "%s.%s" % (service["name"], domain), "ports": list(service["ports"])}
                            for service in site.get("services", []) if service["name"] in reserved]
                missing.extend("services/%s" % service["name"] for service in site.get("services", [])
                               if service["name"] not in reserved)
            facts.append({
                "office": office["id"],
                "office_name": office["name"],
                # NOC rights per segment: the segment is marked, in an office that is a NOC.
                "noc": bool(office.get("noc", False) and segment.get("noc", False)),
                "segment": segment["name"],
                "kind": segment.get("kind", "office"),
                "hosts": segment["hosts"],
                "reserved_mbit": segment.get("reserved_mbit", 0),
                "vlan": entry["vlan"],
                "interface": "vlan%d" % entry["vlan"],
                "prefix": str(net.cidr),
                "network": str(net.network),
                "prefixlen": net.prefixlen,
                "netmask": str(net.netmask),
                "broadcast": str(net.broadcast),
                "gateway": str(net.network + 1),
                "gateway_cidr": "%s/%d" % (net.network + 1, net.prefixlen),
                "dhcp_pools": dhcp_pools(net, list(reserved.values()) + list(own.values())),
                "core_addresses": own,
                "reverse_zones": reverse_zones(net),
                "fqdn": fqdn,
                "gateway_fqdn": "gw.%s" % fqdn,
                "reservations": reservations,
                # The shared services in this segment (the site's services segment only), each at its ledger address.
                "services": services,
                # Firewall set elements "address . protocol . port" of those services.
                "service_endpoints": ["%s . %s . %s" % ((service["address"],) + tuple(port.split("/")))
                                      for service in services for port in service["ports"]],
                # What Kea hands out by MAC, and the names Unbound answers (gateway, devices, services).
                "dhcp_reservations": [{"name": item["name"], "mac": item["mac"], "address": item["address"]}
                                      for item in reservations + services if item["mac"]],
                # A (and on an IPv6 site the gateway's AAAA) records, each with its PTR. Clients choose their own
                # IPv6 addresses (SLAAC), so devices and services have A records only.
                "dns_records": [{"name": item["fqdn"], "type": "A", "address": item["address"]}
                                for item in [{"fqdn": "gw." + fqdn, "address": str(net.network + 1)}]
                                + reservations + services]
                + ([{"name": "gw." + fqdn, "type": "AAAA", "address": ipv6["gateway6"]}] if ipv6["prefix6"] else []),
            })
            facts[-1].update(ipv6)
            missing.extend("%s/%s/%s" % (office["id"], segment["name"], r["name"])
                           for r in office.get("reservations", [])
                           if r["segment"] == segment["name"] and r["name"] not in reserved)
            missing.extend("%s/%s/core %s" % (office["id"], segment["name"], name)
                           for name in core_names(site) if name not in own)
    if missing:
        raise SiteError(["segments not in the ledger yet: %s. Fix: run playbooks/allocate.yml (or site.yml) first."
                         % ", ".join(missing)])
    # The uplink shaper's class of each segment (a tc minor number, hex): an office's segments share one class, named
    # after the office's lowest VLAN, so it stays put when a segment is added; an open event has its own class.
    office_class = {}
    for fact in facts:
        if fact["kind"] != "event":
            office_class[fact["office"]] = min(office_class.get(fact["office"], fact["vlan"]), fact["vlan"])
    for fact in facts:
        fact["shaping_class"] = "%x" % (fact["vlan"] if fact["kind"] == "event" else office_class[fact["office"]])
    return facts
