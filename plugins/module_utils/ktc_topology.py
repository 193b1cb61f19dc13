# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KTC as it is wired: core, the switches that hang off it (each names its parent, the parent's port and its own
uplink, either of which may be an LACP bond), the access ports of each switch (office and segment), and so which
segments every trunk carries. Computed once, in Python; the roles, verify and the plan read the result.

Input, one dict per switch (what ``wiring_from_inventory`` reads from the inventory's host variables):
  {name, platform, management_address, parent, parent_port, parent_bond, uplink, uplink_bond, office,
   access_ports: {segment or office/segment: [port]}, ports, serves: [office], planned}
Core is one server, or a pair (ktc_site.cores; both hosts of core_routers, wired alike): a switch below a pair names
either server as ``parent`` and has a second link up, ``uplink_standby``, to the standby one.
``parent`` is core's inventory name or another switch's; ``parent_port`` a port of the parent, or a list of
ports (an LACP bond, named ``parent_bond`` on the parent); ``uplink`` the switch's own port towards its parent,
or a list (``uplink_bond``). A switch written the old way, with ``core_port`` only, hangs off core on that port.

Output of ``build``: {"core": {name, trunks: [...], bonds, bond_members, segments: [facts of the segments served],
                               management: {prefix, vlan, reverse_zones, prefix6, gateway6, ...} (ktc_ipam),
                               management_bridge, reverse_zones: [every in-addr.arpa and ip6.arpa zone of the
                               ledger's segments], pair: a pair of core servers (_pair) or None, moving: [the
                               addresses keepalived moves between them]},
                      "switches": {name: {..., access: [...], uplink: {...}, downlinks: [...], trunks, bonds,
                                          bond_members, interfaces, vlans: [...], gateways6: [...]}},
                      "order": [switch names, parents before children], "planned": [switch names]}
``bonds`` and ``bond_members`` ({link, member}) are flat lists so that a role renders one file per item without
building lists itself; a switch's ``trunks`` are its uplink (``kind`` uplink) then its downlinks.
A trunk carries exactly the VLANs of the segments with an access port below it, plus management.
Pure Python, no Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from netaddr import IPAddress, IPNetwork

try:
    from ansible.module_utils import ktc_grammar as grammar
    from ansible.module_utils.ktc_site import SiteError, core_names
except ImportError:  # outside a module (filters, tests, benchmarks): plugins/module_utils is on sys.path
    import ktc_grammar as grammar
    from ktc_site import SiteError, core_names

# The inventory variables of a switch, and the key each has in the wiring.
SWITCH_VARS = (
    ("office", "ktc_office"), ("platform", "ktc_switch_platform"), ("uplink", "ktc_switch_uplink"),
    ("uplink_bond", "ktc_switch_uplink_bond"), ("management_address", "ktc_management_address"),
    ("parent", "ktc_parent"), ("parent_port", "ktc_parent_port"), ("parent_bond", "ktc_parent_bond"),
    ("core_port", "ktc_core_port"), ("access_ports", "ktc_switch_access_ports"), ("ports", "ktc_switch_ports"),
    ("serves", "ktc_switch_offices"), ("uplink_standby", "ktc_switch_uplink_standby"),
    ("uplink_standby_bond", "ktc_switch_uplink_standby_bond"),
)


def wiring_from_inventory(hostvars, groups):
    """The core and the switches of an inventory as plain dicts: {"core": {...} or None, "switches": [...]}."""
    # Each host of core_routers (a pair of core servers is two): its own management address and its uplinks.
    servers = [{"name": name, "management_address": hostvars[name].get("ktc_management_address"),
                "uplinks": hostvars[name].get("ktc_uplinks")} for name in groups.get("core_routers") or []]
    core = dict(servers[0], servers=servers) if servers else None
    switches = []
    # Switches in planned_switches are not installed yet: part of the model (validated, drawn), never configured.
    for group, planned in (("access_switches", False), ("planned_switches", True)):
        for name in groups.get(group) or []:
            values = hostvars[name]
            switch = {"name": name, "planned": planned}
            for key, variable in SWITCH_VARS:
                switch[key] = values.get(variable)
            switches.append(switch)
    return {"core": core, "switches": switches, "paths": _paths(switches), "office_switches": _office_switches(switches)}


def _paths(switches):
    """{switch: [the switch, its parent, ... up to the one below core]}: what a change below a switch converges, since
    every trunk on the way carries the segments below it."""
    parents = dict((s["name"], s.get("parent")) for s in switches)
    paths = {}
    for name in parents:
        path = [name]
        while parents.get(path[-1]) in parents and parents[path[-1]] not in path:
            path.append(parents[path[-1]])
        paths[name] = path
    return paths


def _office_switches(switches):
    """{office: the installed switches whose port map names it, and every switch on their way to core}."""
    paths, found = _paths(switches), {}
    for switch in switches:
        if switch.get("planned"):
            continue
        keys = switch.get("access_ports") if isinstance(switch.get("access_ports"), dict) else {}
        for key in keys:
            office = str(key).rpartition("/")[0] or switch.get("office")
            found.setdefault(office, set()).update(paths[switch["name"]])
    return dict((office, sorted(names)) for office, names in found.items())


def read_static_inventory(path):
    """(hostvars, groups) of a static YAML inventory file (hosts, vars and children, vars inherited downwards), for the
    lab script, the tests and the benchmarks; no group_vars or host_vars directories, nothing templated."""
    import yaml  # pylint: disable=import-outside-toplevel
    with open(path) as handle:
        data = yaml.safe_load(handle)
    hostvars, groups = {}, {}

    def collect(name, node, inherited):
        own = dict(inherited, **(node.get("vars") or {}))
        members = groups.setdefault(name, [])
        for host, values in (node.get("hosts") or {}).items():
            hostvars[host] = dict(hostvars.get(host, {}), **dict(own, **(values or {})))
            members.append(host)
        for child, sub in (node.get("children") or {}).items():
            collect(child, sub or {}, own)
            members.extend(host for host in groups[child] if host not in members)

    collect("all", data["all"], {})
    return hostvars, groups


def _ports(value):
    """A port or a list of ports (a bond) as a list; None stays None."""
    if value is None:
        return None
    return list(value) if isinstance(value, (list, tuple)) else [value]


def core_servers(core):
    """Core's servers (the hosts of core_routers): core itself (its fields are its first server's), then the second
    server of a pair; [] without core."""
    if not core:
        return []
    return [core] + list(core.get("servers") or [core])[1:]


def core_server_names(core):
    """The inventory names of core's servers, or [] without core."""
    return [server.get("name") for server in core_servers(core)]


def normalise(switch, core_name, core_servers=()):
    """The switch with parent/parent_port filled in from the old ``core_port`` form, a parent naming either server of
    a core pair made core's name, and port lists as lists."""
    switch = dict(switch)
    if switch.get("parent") is None and switch.get("parent_port") is None and switch.get("core_port") is not None:
        switch["parent"], switch["parent_port"] = core_name, switch["core_port"]
    if switch.get("parent") in core_servers:
        switch["parent"] = core_name
    switch["parent_ports"] = _ports(switch.get("parent_port"))
    switch["uplink_ports"] = _ports(switch.get("uplink"))
    switch["standby_ports"] = _ports(switch.get("uplink_standby"))
    switch["planned"] = bool(switch.get("planned"))
    return switch


def access_map(switch, offices, events=()):
    """[(port, office, segment)] of a switch: its port map, with the ports of open events on this switch moved into
    the event's segment. Keys are ``segment`` (of the switch's ``office``) or ``office/segment``."""
    taken = dict((port, (event["office"], event["name"])) for event in events or () if event.get("switch") == switch["name"]
                 for port in event.get("ports") or [])
    found = []
    for key, ports in sorted((switch.get("access_ports") or {}).items(), key=lambda item: str(item[0])):
        office, _, segment = str(key).rpartition("/")
        office = office or switch.get("office")
        for port in ports if isinstance(ports, list) else [ports]:
            found.append((port,) + taken.get(port, (office, segment)))
    return sorted(found, key=lambda item: natural(item[0]))


def natural(name):
    """Sort key that puts swp2 before swp10 and Gi1/0/5 before Gi1/0/24."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(name))]


def _validate_standby_link(switch, core, pair, errors):
    """A switch below a pair of core servers has a link to each, alike (``ktc_parent_port`` names the port(s) on both
    servers); its link to the standby one is ``ktc_switch_uplink_standby``. Any other switch has none."""
    where = "switch %s" % switch["name"]
    ports, standby = switch["parent_ports"] or [], switch["standby_ports"]
    if switch.get("parent") != core or not pair:
        if standby is not None or switch.get("uplink_standby_bond") is not None:
            errors.append("%s: ktc_switch_uplink_standby is the link to the standby core server, and only a switch "
                          "whose parent is a pair of core servers (ktc_site.cores) has one. Fix: remove it%s." % (
                              where, "" if pair else ", or name the pair in ktc_site.cores"))
        return
    if standby is None:
        errors.append("%s: it hangs off core, and core is a pair (%s): without a link to %s too, the standby server "
                      "would have no trunk to it and could not take over its segments. Fix: cable the same port(s) of "
                      "%s (%s) to this switch and name the switch's end in ktc_switch_uplink_standby." % (
                          where, " and ".join(pair), pair[1], pair[1], ", ".join(ports)))
    elif len(standby) != len(ports):
        errors.append("%s: ktc_switch_uplink_standby names %d port(s) and ktc_parent_port %d; the pair is wired alike, "
                      "so the link to each server has as many ports. Fix: list the switch's own ports of the link to %s."
                      % (where, len(standby), len(ports), pair[1]))
    elif len(standby) > 1 or switch.get("uplink_standby_bond") is not None:
        problem = grammar.bond(switch.get("uplink_standby_bond"), switch.get("platform"))
        if problem:
            errors.append("%s: ktc_switch_uplink_standby_bond %r %s. Fix: name the bond of %s on this switch (bond1; "
                          "Port-channel2 on IOS)." % (where, switch.get("uplink_standby_bond"), problem,
                                                      ", ".join(standby)))
        elif switch.get("uplink_standby_bond") == switch.get("uplink_bond"):
            errors.append("%s: ktc_switch_uplink_standby_bond and ktc_switch_uplink_bond are both %s; the links to the "
                          "two core servers are two bonds. Fix: give the second its own name (bond1)."
                          % (where, switch.get("uplink_bond")))


def _validate_links(switches, core, core_interfaces, management_vlan, errors, pair=()):
    """Parents exist, no loops, no port holds two links; returns {name: depth} of the switches reachable from core.
    ``pair``: the names of a pair of core servers (ktc_site.cores), whose switches are wired to both."""
    by_name = dict((s["name"], s) for s in switches)
    parent_ports = {}
    for switch in switches:
        where = "switch %s" % switch["name"]
        parent, ports = switch.get("parent"), switch["parent_ports"]
        if parent is None:
            errors.append("%s: ktc_parent is missing. Fix: name core (%s) or the switch its uplink plugs into, with "
                          "ktc_parent_port." % (where, core))
            continue
        if parent != core and parent not in by_name:
            errors.append("%s: ktc_parent %r is neither core (%s) nor a switch of the inventory. Fix: name the device "
                          "its uplink plugs into." % (where, parent, core))
            continue
        if not ports:
            errors.append("%s: ktc_parent_port is missing. Fix: name the port of %s its uplink plugs into (a list of "
                          "ports for an LACP bond)." % (where, parent))
            continue
        platform = "linux_bridge" if parent == core else by_name[parent].get("platform")
        for port in ports:
            problem = grammar.interface(port, platform)
            if problem:
                errors.append("%s: ktc_parent_port %r %s." % (where, port, problem))
            elif parent == core and port in core_interfaces:
                errors.append("%s: ktc_parent_port %s is one of core's uplinks. Fix: give the core port the switch's "
                              "trunk plugs into." % (where, port))
            elif parent == core and len(ports) == 1 and switch.get("parent_bond") is None \
                    and len("%s.%d" % (port, management_vlan)) > grammar.LINUX_IFNAME_MAX:
                errors.append("%s: ktc_parent_port %s makes core's management VLAN device %s.%d, longer than the %d "
                              "characters Linux allows. Fix: rename the port on core (systemd .link file), or make "
                              "the link a bond with a short name." % (where, port, port, management_vlan,
                                                                     grammar.LINUX_IFNAME_MAX))
            elif (parent, port) in parent_ports:
                errors.append("%s: ktc_parent_port %s of %s also holds the link of %s; one port holds one link. Fix: "
                              "correct the wiring of one of them." % (where, port, parent, parent_ports[(parent, port)]))
            else:
                parent_ports[(parent, port)] = switch["name"]
        if len(ports) > 1 or switch.get("parent_bond") is not None:
            bond = switch.get("parent_bond")
            problem = grammar.bond(bond, platform)
            if problem:
                errors.append("%s: ktc_parent_bond %r %s. Fix: name the bond the ports %s form on %s (bond0; "
                              "Port-channel1 on IOS)." % (where, bond, problem, ", ".join(ports), parent))
            elif parent == core and len("%s.%d" % (bond, management_vlan)) > grammar.LINUX_IFNAME_MAX:
                errors.append("%s: ktc_parent_bond %s makes core's management VLAN device %s.%d, longer than the %d "
                              "characters Linux allows. Fix: a shorter name, such as bond0." % (
                                  where, bond, bond, management_vlan, grammar.LINUX_IFNAME_MAX))
            elif (parent, bond) in parent_ports:
                errors.append("%s: ktc_parent_bond %s of %s is also %s's. Fix: one bond per link."
                              % (where, bond, parent, parent_ports[(parent, bond)]))
            else:
                parent_ports[(parent, bond)] = switch["name"]
        uplinks = switch["uplink_ports"] or []
        if len(uplinks) != len(ports):
            errors.append("%s: ktc_switch_uplink names %d port(s) and ktc_parent_port %d; both ends of a link (or bond) "
                          "have as many ports. Fix: list the switch's own ports of the link in ktc_switch_uplink."
                          % (where, len(uplinks), len(ports)))
        elif len(uplinks) > 1 or switch.get("uplink_bond") is not None:
            problem = grammar.bond(switch.get("uplink_bond"), switch.get("platform"))
            if problem:
                errors.append("%s: ktc_switch_uplink_bond %r %s. Fix: name the bond of %s on this switch (bond0; "
                              "Port-channel1 on IOS)." % (where, switch.get("uplink_bond"), problem, ", ".join(uplinks)))
        _validate_standby_link(switch, core, pair, errors)
    # The same walk up the parents as the paths an event or an onboarding converges (_paths).
    depth = {}
    for name, path in _paths(switches).items():
        top = by_name[path[-1]].get("parent")
        if top in path:
            loop = path[path.index(top):] + [top]
            if name == min(loop):   # report each loop once
                errors.append("switch %s: its ktc_parent chain is a loop (%s); no path reaches it from core. Fix: "
                              "give one of them the port towards core as its parent." % (name, " -> ".join(loop)))
        elif top == core:
            depth[name] = len(path)
    return depth


def _validate_ports(switch, offices, errors):
    """Each port of the switch holds one thing (an access port, the uplink, a downlink); names fit the platform; the
    port map names offices and segments that exist."""
    where = "switch %s" % switch["name"]
    platform = switch.get("platform")
    used = {}
    for field, ports, what in (("ktc_switch_uplink", switch["uplink_ports"], UPLINK),
                               ("ktc_switch_uplink_standby", switch["standby_ports"], UPLINK_STANDBY)):
        for port in ports or []:
            problem = grammar.interface(port, platform)
            if problem:
                errors.append("%s: %s %r %s. Fix: name the port that trunks towards the parent." % (
                    where, field, port, problem))
            elif port in used:
                errors.append("%s: %s names %s, which is already %s." % (where, field, port, used[port]))
            else:
                used[port] = what
    serves = switch.get("serves") or []
    if not isinstance(serves, list):
        errors.append("%s: ktc_switch_offices must list office ids." % where)
    else:
        for office_id in serves:
            if office_id not in offices:
                errors.append("%s: ktc_switch_offices names office %r, which ktc_site does not have (known: %s)."
                              % (where, office_id, ", ".join(sorted(offices))))
    access = switch.get("access_ports") or {}
    if not isinstance(access, dict):
        errors.append("%s: ktc_switch_access_ports must map segment (or office/segment) names to lists of ports."
                      % where)
        return used
    for key, ports in sorted(access.items(), key=lambda item: str(item[0])):
        office_id, _, segment = str(key).rpartition("/")
        office_id = office_id or switch.get("office")
        office = offices.get(office_id)
        if office is None:
            errors.append("%s: ktc_switch_access_ports.%s names office %r, which ktc_site does not have (known: %s). "
                          "Fix: write office/segment with an office id of site.yml%s." % (
                              where, key, office_id, ", ".join(sorted(offices)),
                              "" if "/" in str(key) else ", or set ktc_office"))
        elif segment not in [s["name"] for s in office["segments"] if s.get("kind") != "event"]:
            errors.append("%s: ktc_switch_access_ports names segment %r, which office %s does not have (it has: %s)."
                          % (where, segment, office_id, ", ".join(s["name"] for s in office["segments"]
                                                                  if s.get("kind") != "event")))
        for port in ports if isinstance(ports, list) else [ports]:
            problem = grammar.interface(port, platform)
            if problem:
                errors.append("%s: ktc_switch_access_ports.%s: port %r %s." % (where, key, port, problem))
            elif port in used:
                errors.append("%s port %s: given to %s and to %s; a port holds one thing. Fix: keep it under one."
                              % (where, port, used[port], key))
            else:
                used[port] = key
    return used


# What a switch's port holds when it is one end of the switch's link towards core (the other holds access ports).
UPLINK, UPLINK_STANDBY = "the uplink", "the uplink to the standby core"


def check_wiring(site, core, switches, errors):
    """Validate the wiring against the site model, adding each problem to ``errors``; return the normalised switches,
    {switch: {port: what it holds}} and {switch: depth below core} (1 for core's own children)."""
    core_name = core["name"] if core else "core"
    core_interfaces = set(u.get("interface") for u in (core or {}).get("uplinks") or [] if isinstance(u, dict))
    offices = dict((office["id"], office) for office in site["offices"])
    switches = [normalise(switch, core_name, core_server_names(core)) for switch in switches]
    used_ports = dict((switch["name"], _validate_ports(switch, offices, errors)) for switch in switches)
    depth = _validate_links(switches, core_name, core_interfaces, site["management"]["vlan"], errors,
                            core_names(site))
    for switch in switches:
        for port in switch["parent_ports"] or []:
            parent = switch.get("parent")
            if parent in used_ports and port in used_ports[parent]:
                errors.append("switch %s: ktc_parent_port %s of %s is already %s there. Fix: plug the link into a free "
                              "port of %s." % (switch["name"], port, parent, used_ports[parent][port], parent))
    return switches, used_ports, depth


def build(site, segment_facts, core, switches, events=(), management=None):
    """The wiring model of the site (see the module's docstring); raise SiteError listing every problem found.

    ``site`` comes from ktc_site.validate_site (events included), ``segment_facts`` from ktc_ipam.segment_facts,
    ``core`` is {name, uplinks, ...} or None, ``switches`` the inventory's switches, ``events`` the open events,
    ``management`` ktc_ipam.management_facts (given to core as it is).
    """
    errors = []
    switches, _, depth = check_wiring(site, core, switches, errors)
    if errors:
        raise SiteError(errors)
    core_name = core["name"] if core else "core"
    offices = dict((office["id"], office) for office in site["offices"])
    facts = dict(((f["office"], f["segment"]), f) for f in segment_facts)
    order = dict((key, index) for index, key in enumerate(facts))
    children = {}
    for switch in sorted(switches, key=lambda s: (depth[s["name"]], s["name"])):
        children.setdefault(switch["parent"], []).append(switch)

    model = {}
    # A pair of core servers: their own management addresses, which no access port may claim either.
    pair_management = [server.get("management_address") for server in core_servers(core)
                       if server.get("name") in core_names(site)]

    def walk(switch):
        access = []
        for port, office, segment in access_map(switch, offices, events):
            fact = facts.get((office, segment))
            if fact is not None:
                access.append({"name": port, "office": office, "segment": segment, "vlan": fact["vlan"]})
        served = set((a["office"], a["segment"]) for a in access)
        downlinks = []
        for child in children.get(switch["name"], []):
            below = walk(child)
            served |= below
            downlinks.append(_link(child, child["parent_ports"], child.get("parent_bond"), below, facts, order,
                                   "to " + child["name"]))
        uplink = _link(switch, switch["uplink_ports"], switch.get("uplink_bond"), served, facts, order,
                       "to core" if depth[switch["name"]] == 1 else "to " + switch["parent"])
        # Below a pair of core servers: a second link up, to the standby server, carrying the same VLANs.
        uplinks = [uplink]
        if switch["standby_ports"]:
            uplinks.append(_link(switch, switch["standby_ports"], switch.get("uplink_standby_bond"), served, facts,
                                 order, "to core (standby)"))
        model[switch["name"]] = dict(
            switch, depth=depth[switch["name"]], access=access, downlinks=downlinks, uplink=uplink,
            # The links towards core (the uplink, then the one to a pair's standby server), and their interfaces: where
            # core's replies (DHCP, router advertisements) come from.
            uplinks=uplinks, upward=[link["interface"] for link in uplinks],
            offices=sorted(set(a["office"] for a in access) | set(switch.get("serves") or [])),
            vlans=sorted(facts[key]["vlan"] for key in served),
            interfaces=[link["interface"] for link in uplinks + downlinks] + [port["name"] for port in access],
            gateways=_gateways(uplink["segments"], management, pair_management),
            **_gateways6(uplink["segments"], management),
            **_trunk_files([dict(link, kind="uplink") for link in uplinks]
                           + [dict(link, kind="downlink") for link in downlinks]))
        return served

    trunks, served, errors = [], {}, []
    for switch in children.get(core_name, []):
        below = walk(switch)
        for key in sorted(below & set(served), key=order.get):
            errors.append("segment %s/%s: it has access ports below %s and below %s, two of core's trunks; core gives a "
                          "segment one VLAN interface, on one trunk. Fix: serve it below one of them (normally the "
                          "backbone switch)." % (key[0], key[1], served[key], switch["name"]))
        served.update((key, switch["name"]) for key in below)
        trunks.append(_link(switch, switch["parent_ports"], switch.get("parent_bond"), below, facts, order,
                            "to " + switch["name"]))
    if errors:
        raise SiteError(errors)
    return {
        "core": dict(_trunk_files(trunks), name=core_name, management=management, management_bridge=MANAGEMENT_BRIDGE,
                     segments=[facts[key] for key in sorted(served, key=order.get)],
                     reverse_zones=_reverse_zones(segment_facts, management),
                     shaping=_shaping(site, segment_facts, (core or {}).get("uplinks") or []),
                     # The shaper's mark of each prefix (nftables' class_of_prefix maps): offices first, then events.
                     shaping_marks=[fact for fact in segment_facts if fact["kind"] != "event"]
                     + [fact for fact in segment_facts if fact["kind"] == "event"],
                     # The uplinks with IPv6 whose ISP does not route the site's prefix: it leaves them translated.
                     translated6=[uplink["interface"] for uplink in (core or {}).get("uplinks") or []
                                  if site.get("ipv6") and uplink.get("address6")
                                  and uplink["name"] != site["ipv6"].get("routed_by")],
                     **_pair_facts(site, core, [facts[key] for key in sorted(served, key=order.get)], management)),
        "switches": model,
        "order": [name for name, _ in sorted(depth.items(), key=lambda item: (item[1], item[0]))],
        "planned": sorted(switch["name"] for switch in switches if switch["planned"]),
    }


# The bridge on core that joins the management VLAN of every trunk, where core's management address lives.
MANAGEMENT_BRIDGE = "br-mgmt"

# VRRP priorities once a server is ready (converged since it started): the preferred server wins while both run;
# keepalived moves every address to the other when it stops.
PRIORITY_PREFERRED, PRIORITY_STANDBY = 150, 100

# What a server's readiness file adds to its priority, times the file's value: 1 once the converge has brought the
# server up to date (written at the end of its core play), 0 after it boots (the file lives in /run, a tmpfs;
# keepalived creates it with 0), -1 while the operator frees it for maintenance (playbooks/core_switchover.yml; a
# converge leaves -1 alone unless it names the server in ktc_core_release). A server that comes back therefore stays backup
# (preferred 90 < standby 100) until a converge has given it the repository's files, and a drained one (30) hands the
# gateways over; with the other server gone either still takes them, as nothing outbids it.
READY_WEIGHT = 60
READY_FILE = "/run/ktc-core-ready"


def vrid(vlan):
    """The VRRP router id of a VLAN's instance: the VLAN ID itself up to 255, folded into 1-255 above (an id need only
    be unique on its own link, and each instance has its VLAN to itself)."""
    return (vlan - 1) % 255 + 1


def _pair(site, core, segments, management):
    """A pair of core servers (ktc_site.cores), or None for one core: each server's own addresses and VRRP priority, and
    the VRRP instances both run, one per served segment and one for management, all in one sync group (the gateways
    and the uplinks move together). The gateways are the instances' virtual addresses; a segment's IPv6 gateway and
    link-local address, management's IPv6 address and the uplinks' public addresses ride along as excluded addresses
    (moved, not advertised)."""
    names = core_names(site)
    if not names or not core or not management:
        return None
    by_name = dict((server["name"], server) for server in core_servers(core))
    prefixlen = IPNetwork(management["prefix"]).prefixlen
    gateway = str(IPNetwork(management["prefix"]).network + 1)
    # Every own address of each server (management's first): where its VRRP adverts come from.
    own = dict((name, [by_name[name]["management_address"]] + [fact["core_addresses"][name] for fact in segments])
               for name in names)
    servers = {}
    for index, name in enumerate(names):
        peer = names[1 - index]
        servers[name] = {
            "name": name, "preferred": index == 0, "peer": peer,
            # keepalived's configured priority: the ready priority less the readiness file's weight.
            "priority": (PRIORITY_PREFERRED if index == 0 else PRIORITY_STANDBY) - READY_WEIGHT,
            "ready_priority": PRIORITY_PREFERRED if index == 0 else PRIORITY_STANDBY,
            "management_address": by_name[name]["management_address"],
            "peer_management_address": by_name[peer]["management_address"],
            # {segment interface: the server's own address with the segment's prefix length}
            "addresses": dict((fact["interface"], "%s/%d" % (fact["core_addresses"][name], fact["prefixlen"]))
                              for fact in segments),
            "own_addresses": own[name],
            "peer_own_addresses": own[peer],
        }

    def on(interface, addresses):
        return [{"address": address, "interface": interface} for address in addresses]

    uplinks = core.get("uplinks") or []
    instances = [{
        "name": "management", "interface": MANAGEMENT_BRIDGE, "vrid": vrid(management["vlan"]),
        "addresses": on(MANAGEMENT_BRIDGE, ["%s/%d" % (gateway, prefixlen)]),
        "excluded": on(MANAGEMENT_BRIDGE, [management["gateway6_cidr"]] if management.get("prefix6") else [])
        + [item for uplink in uplinks
           for item in on(uplink["interface"], [uplink[key] for key in ("address", "address6") if uplink.get(key)])],
    }]
    instances.extend({
        "name": "%s-%s" % (fact["office"], fact["segment"]), "interface": fact["interface"], "vrid": vrid(fact["vlan"]),
        "addresses": on(fact["interface"], [fact["gateway_cidr"]]),
        "excluded": on(fact["interface"], [fact["gateway6_cidr"], "%s/64" % fact["link_local6"]] if fact.get("prefix6")
                       else []),
    } for fact in segments)
    return {"preferred": names[0], "standby": names[1], "management_gateway": gateway, "servers": servers,
            "instances": instances, "ready_file": READY_FILE, "ready_weight": READY_WEIGHT,
            # What ktc_probe's `pair` option reads on each server (verify, the switchover).
            "probe": {"ready_file": READY_FILE, "gateway": gateway}}


def _pair_facts(site, core, segments, management):
    """{pair, moving}: the pair of core servers (_pair) or None, and every address keepalived moves between them
    ({address, interface}; none with one core): networkd's live check neither removes nor expects them."""
    pair = _pair(site, core, segments, management)
    return {"pair": pair, "moving": [item for instance in (pair or {}).get("instances") or []
                                     for item in instance["addresses"] + instance["excluded"]]}


def _shaping(site, segment_facts, uplinks):
    """The uplink shaper's tree on each uplink (/usr/local/sbin/ktc-shaping, both directions alike), rates in kbit/s:
    one class per office that has a segment (guaranteed and ceiling from the site model), one per open event (its
    reservation, up to the whole uplink), every rate scaled by the uplink's bandwidth against the first uplink's;
    the offices share what the events leave (``offices_kbit``). No rate below 8 kbit/s, tc's smallest."""
    classes = []
    for office in site["offices"]:
        segments = [fact for fact in segment_facts if fact["office"] == office["id"] and fact["kind"] != "event"]
        if segments:
            classes.append({"minor": segments[0]["shaping_class"], "name": office["id"], "event": False,
                            "rate_mbit": office["bandwidth"]["guaranteed_mbit"],
                            "ceil_mbit": office["bandwidth"]["ceiling_mbit"]})
    classes.extend({"minor": fact["shaping_class"], "name": "%s/%s" % (fact["office"], fact["segment"]), "event": True,
                    "rate_mbit": fact["reserved_mbit"], "ceil_mbit": None}
                   for fact in segment_facts if fact["kind"] == "event")
    events_mbit = sum(item["rate_mbit"] for item in classes if item["event"])
    bandwidth = dict((uplink["name"], uplink["bandwidth_mbit"]) for uplink in site["uplinks"])
    primary_mbit = site["uplinks"][0]["bandwidth_mbit"]
    plan = []
    for uplink in uplinks:
        total = int(bandwidth[uplink["name"]] * 1000)
        scale = bandwidth[uplink["name"]] / primary_mbit
        offices_total = max(total - int(events_mbit * 1000 * scale), 8)
        # An event's class hangs off the root (the offices cannot borrow it), an office's off the offices' 1:3.
        scaled = [dict(item, parent="1:1" if item["event"] else "1:3",
                       rate_kbit=max(int(item["rate_mbit"] * 1000 * scale), 8),
                       ceil_kbit=total if item["event"] else min(int(item["ceil_mbit"] * 1000 * scale), offices_total))
                  for item in classes]
        plan.append({
            "name": uplink["name"], "interface": uplink["interface"], "ifb": "ifb-%s" % uplink["name"],
            "bandwidth_mbit": bandwidth[uplink["name"]], "scale": scale, "total_kbit": total,
            "offices_kbit": offices_total, "classes": scaled,
            # What the shaper keeps on each device, each class at its parent (CLASS@PARENT); any other class or
            # filter is pruned, and a class number found under another parent is deleted and added again.
            "placements": ["1:1@root", "1:3@1:1", "1:2@1:3"] + ["1:%s@%s" % (item["minor"], item["parent"])
                                                                for item in scaled],
            "filter_handles": ["0x%s" % item["minor"] for item in classes],
        })
    return plan


def _gateways(segments, management, pair_management):
    """The IPv4 addresses of core that no access port below a switch may claim (ARP spoofing): management's gateway and
    the gateways of the segments the switch carries; of a pair of core servers, also each one's own addresses
    (``pair_management`` and those in the segments: its VRRP adverts come from them)."""
    found = []
    if management:
        found.append(str(IPNetwork(management["prefix"]).network + 1))
    found.extend(fact["gateway"] for fact in segments)
    found.extend(pair_management)
    found.extend(fact["core_addresses"][name] for fact in segments for name in sorted(fact["core_addresses"]))
    return [address for index, address in enumerate(found) if address not in found[:index]]


def _gateways6(segments, management):
    """{gateways6, gateways6_raw}: the IPv6 addresses of core that no access port below a switch may claim (neighbour
    spoofing): its link-local one, the gateways of the segments the switch carries and management's; none on an
    IPv4-only site."""
    if not management or not management.get("prefix6"):
        return {"gateways6": [], "gateways6_raw": []}
    addresses = sorted(set([management["gateway6"]] + [fact[key] for fact in segments
                                                        for key in ("link_local6", "gateway6") if fact.get(key)]))
    # Also as 128-bit numbers: nftables 1.0.6 has no name for a neighbour advertisement's target address, which a
    # switch matches as raw bytes of the ICMPv6 header (@th,64,128).
    return {"gateways6": addresses, "gateways6_raw": ["0x%032x" % int(IPAddress(a)) for a in addresses]}


def _reverse_zones(segment_facts, management):
    """Every reverse zone core's resolver answers for: those of every segment in the ledger (served or not) and of
    management, in-addr.arpa and ip6.arpa, sorted."""
    zones = set(zone for fact in segment_facts for zone in fact["reverse_zones"] + [fact.get("reverse_zone6")])
    if management:
        zones.update(management["reverse_zones"] + [management["reverse_zone6"]])
    return sorted(zone for zone in zones if zone)


def _trunk_files(trunks):
    """A device's trunks, and its bonds and their member ports as flat lists: one item per file the roles render."""
    bonds = [link for link in trunks if link["bond"]]
    return {"trunks": trunks, "bonds": bonds,
            "bond_members": [{"link": link, "member": member} for link in bonds for member in link["members"]]}


def _link(switch, ports, bond, served, facts, order, towards):
    """One end of the trunk to or from ``switch``: its interface (the port, or the bond of several), the member ports,
    and the segments (facts) it carries, in site order; ``towards`` says where it leads (to core, to sw-x)."""
    keys = sorted(served, key=order.get)
    return {
        "switch": switch["name"],
        "towards": towards,
        "below": switch["name"],
        "interface": bond if bond is not None or len(ports) > 1 else ports[0],
        "members": list(ports),
        "bond": bond is not None or len(ports) > 1,
        "segments": [facts[key] for key in keys],
        "vlans": sorted(facts[key]["vlan"] for key in keys),
    }
