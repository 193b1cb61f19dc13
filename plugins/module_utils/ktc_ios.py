# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a Cisco IOS access switch must be: the data for the cisco.ios resource modules (VLANs, ports, trunk,
management address, default route) and the first-hop security lines they cannot express (DHCP snooping, dynamic
ARP inspection, IPv6 RA guard and DHCPv6 guard, port security), computed once from the site model, the ledger's
segment facts and the switch's inventory. Pure Python, no Ansible import.

Every port of the switch (``ktc_switch_ports``) that the inventory does not give a segment or the uplink is shut
down, described ``unused`` and put in the parking VLAN, which is suspended and carried by no trunk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The parking VLAN when the site model does not name one (ktc_site.parking_vlan).
DEFAULT_PARKING_VLAN = 999
# Names of the first-hop security policies the switch gets (IOS creates them with the role we want by default:
# an RA guard policy's device-role is host, a DHCPv6 guard policy's is client).
RA_GUARD_POLICY = "KTC-ACCESS-HOSTS"
DHCPV6_GUARD_POLICY = "KTC-ACCESS-CLIENTS"
# IPv6 sites: IPv6 snooping (SISF) in guard mode on the access ports (IOS's defaults: device-role node, security-level
# guard), so that a client cannot claim an address the binding table holds for another port; the uplink is a trusted
# switch port, so core's addresses (its link-local fe80::1, the gateways) are bound to it, learned from core's own
# neighbour discovery.
ACCESS_SNOOPING_POLICY = "KTC-ACCESS-NODES"
UPLINK_SNOOPING_POLICY = "KTC-UPLINK-TRUSTED"
# The port ACL of every access port: drops VRRP, lets the rest through (ARP inspection and DHCP snooping do the rest).
ACCESS_ACL = "KTC-ACCESS-IN"

# IOS abbreviations, so that Gi1/0/2 in the port map and GigabitEthernet1/0/1-28 in the port list are one port.
_IOS_LONG = {
    "gi": "GigabitEthernet", "fa": "FastEthernet", "te": "TenGigabitEthernet", "tw": "TwoGigabitEthernet",
    "fi": "FiveGigabitEthernet", "twe": "TwentyFiveGigE", "fo": "FortyGigabitEthernet", "hu": "HundredGigE",
    "eth": "Ethernet", "po": "Port-channel",
}
_IOS_NAME_RE = re.compile(r"^([A-Za-z-]+)([0-9/.]+)$")
_IOS_RANGE_RE = re.compile(r"^([A-Za-z-]+(?:[0-9]+/)*)([0-9]+)-([0-9]+)$")


def canonical(port):
    """GigabitEthernet1/0/2 for Gi1/0/2, gigabitethernet1/0/2 or GigabitEthernet1/0/2."""
    match = _IOS_NAME_RE.fullmatch(port)
    if not match:
        return port
    kind, number = match.groups()
    for short, long_name in _IOS_LONG.items():
        if kind.lower() in (short, long_name.lower()):
            return long_name + number
    return port


def expand_ports(spec):
    """The switch's ports from ``ktc_switch_ports``: names and ranges whose last number varies
    (GigabitEthernet1/0/1-24). Returns (ports in order, [problems])."""
    ports, problems = [], []
    for item in spec if isinstance(spec, list) else [spec]:
        match = _IOS_RANGE_RE.fullmatch(item) if isinstance(item, str) else None
        if match:
            prefix, first, last = match.group(1), int(match.group(2)), int(match.group(3))
            if first > last or last - first > 127:
                problems.append("range %r must go upwards and hold at most 128 ports" % item)
                continue
            names = ["%s%d" % (prefix, number) for number in range(first, last + 1)]
        else:
            names = [item]
        ports.extend(names)
    return ports, problems


def vlan_list(vlans):
    """VLAN IDs as IOS prints them in its configuration: ascending, runs of three or more as first-last (101-103,105).
    Runs of two stay apart (101,102), as IOS writes them."""
    ordered = sorted(set(vlans))
    parts, index = [], 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        if end - index >= 2:
            parts.append("%d-%d" % (ordered[index], ordered[end]))
        else:
            parts.extend(str(vlan) for vlan in ordered[index:end + 1])
        index = end + 1
    return ",".join(parts)


def switch_config(site, switch, gateway, max_macs, mac_timeout_s, dhcp_per_s):
    """The switch's configuration.

    ``switch``: the switch as the wiring model (ktc_topology.build) gives it: {name, office, depth, parent, uplink
    {interface, segments}, downlinks [{switch, interface, segments}], access [{name, office, segment, vlan}] (open
    events applied), ports (the inventory's ktc_switch_ports), management_address, gateways6}; ``gateway``: the management
    prefix's router. A link with several ports (``bond``) is an LACP port-channel: ``lag_interfaces`` joins its
    members, which carry the same trunk. Returns {vlans, interfaces, l2_interfaces, lag_interfaces, l3_interfaces,
    static_routes, acls, acl_interfaces} in the form of each
    resource module's ``config``, ``guard_global`` (lines for the global configuration), ``guard_policies``
    ({policy line: its lines}, the policies IOS's defaults do not give; IPv6 sites, when ``switch`` has
    ``gateways6``), ``guard_interfaces`` ({port: lines}) and ``guard_rendered`` (all of them as one list of commands, each port's lines after its
    ``interface`` line).
    """
    management_vlan = site["management"]["vlan"]
    parking = site.get("parking_vlan", DEFAULT_PARKING_VLAN)
    prefix_length = site["management"]["prefix"].split("/")[1]
    access = switch["access"]
    # The links towards core (the uplink; below a pair of core servers, also the one to the standby), then those down.
    # Labels by position: the model's dicts may come back as new objects each time they are read (Ansible's lazy
    # containers), so they are never compared by identity.
    uplinks = list(switch["uplinks"])
    towards = "core" if switch.get("depth", 1) == 1 else switch.get("parent")
    links = [(link, "trunk to %s" % (towards if index == 0 else towards + " (standby)"), True)
             for index, link in enumerate(uplinks)]
    links += [(link, "trunk to %s" % link["switch"], False) for link in switch["downlinks"]]
    # A bond's member ports belong to its link: never parked.
    named = set(canonical(port["name"]) for port in access) \
        | set(canonical(name) for link, _, _ in links for name in [link["interface"]] + list(link.get("members") or []))
    unused = [port for port in expand_ports(switch.get("ports") or [])[0] if canonical(port) not in named]
    svi = "Vlan%d" % management_vlan
    # The VLANs of every segment below this switch (its uplink carries exactly those), plus management.
    vlans = [{"vlan_id": management_vlan, "name": "management", "state": "active", "shutdown": "disabled"}]
    vlans += [{"vlan_id": fact["vlan"], "name": "%s-%s" % (fact["office"], fact["segment"]), "state": "active",
               "shutdown": "disabled"} for fact in switch["uplink"]["segments"]]
    trunk_vlans = [vlan["vlan_id"] for vlan in vlans]
    if unused:
        # Suspended: no port of it forwards a frame. Not also shut down: ios_vlans (cisco.ios 11.1.1) renders
        # `no shutdown` for either value of `shutdown` it is given, so `enabled` would change on every run.
        vlans.append({"vlan_id": parking, "name": "parking", "state": "suspend", "shutdown": "disabled"})
    interfaces, l2_interfaces, lag_interfaces = [], [], []
    # DHCP replies come only from core, above: the uplink is trusted. A switch below inspects its own access ports,
    # so ARP from a downlink is trusted too; DHCP from below is not (no server sits there).
    ipv6 = bool(switch.get("gateways6"))
    guard_interfaces = dict((link["interface"], ["ip dhcp snooping trust", "ip arp inspection trust"]
                             + (["ipv6 snooping attach-policy %s" % UPLINK_SNOOPING_POLICY] if ipv6 else []))
                            for link in uplinks)
    for link, label, upward in links:
        # Each trunk carries exactly management and the VLANs below it, tagged; the native VLAN stays VLAN 1, which is
        # not allowed, so no untagged frame crosses it; no DTP on any link.
        trunk = {"mode": "trunk", "nonegotiate": True, "trunk": {"allowed_vlans": [str(management_vlan)] + [
            str(fact["vlan"]) for fact in link["segments"]]}}
        interfaces.append({"name": link["interface"], "description": label, "enabled": True})
        l2_interfaces.append(dict(trunk, name=link["interface"]))
        if link["bond"]:
            # An LACP port-channel: its members carry the same trunk (IOS suspends a member that differs).
            lag_interfaces.append({"name": link["interface"], "members": [
                {"member": member, "mode": "active"} for member in link["members"]]})
            for member in link["members"]:
                interfaces.append({"name": member, "description": "%s, in %s" % (label, link["interface"]),
                                   "enabled": True})
                l2_interfaces.append(dict(trunk, name=member))
        if not upward:
            guard_interfaces[link["interface"]] = ["ip arp inspection trust"]
    access_lines = [
        "switchport port-security maximum %d" % max_macs,
        "switchport port-security violation restrict",
        "switchport port-security aging time %d" % max(1, min(1440, (mac_timeout_s + 59) // 60)),
        "switchport port-security aging type inactivity",
        "switchport port-security",
        "ip dhcp snooping limit rate %d" % dhcp_per_s,
        "ipv6 nd raguard attach-policy %s" % RA_GUARD_POLICY,
        "ipv6 dhcp guard attach-policy %s" % DHCPV6_GUARD_POLICY,
    ] + (["ipv6 snooping attach-policy %s" % ACCESS_SNOOPING_POLICY] if ipv6 else [])
    for port in access:
        # The segment's name, with its office when the switch serves it for an office other than its own.
        label = port["segment"] if port["office"] == switch.get("office") else "%s/%s" % (port["office"], port["segment"])
        interfaces.append({"name": port["name"], "description": label, "enabled": True})
        l2_interfaces.append({"name": port["name"], "mode": "access", "nonegotiate": True,
                              "access": {"vlan": port["vlan"]}})
        guard_interfaces[port["name"]] = list(access_lines)
    for port in unused:
        interfaces.append({"name": port, "description": "unused", "enabled": False})
        l2_interfaces.append({"name": port, "mode": "access", "nonegotiate": True, "access": {"vlan": parking}})
    interfaces.append({"name": svi, "description": "management", "enabled": True})

    guarded = vlan_list(trunk_vlans[1:])
    guard_global = [
        "ip dhcp snooping",
        # Core's Kea serves the segment directly, not through a relay: an option 82 with no relay address would
        # make it drop the requests.
        "no ip dhcp snooping information option",
        # The bindings survive a reload, so that ARP inspection does not cut every client off until it renews.
        "ip dhcp snooping database flash:ktc-dhcp-snooping.db",
        "ipv6 nd raguard policy %s" % RA_GUARD_POLICY,
        "ipv6 dhcp guard policy %s" % DHCPV6_GUARD_POLICY,
    ]
    guard_policies = {}
    if ipv6:
        guard_global.append("ipv6 snooping policy %s" % ACCESS_SNOOPING_POLICY)
        guard_policies["ipv6 snooping policy %s" % UPLINK_SNOOPING_POLICY] = ["device-role switch", "trusted-port"]
    if guarded:
        guard_global += ["ip dhcp snooping vlan %s" % guarded, "ip arp inspection vlan %s" % guarded]
    rendered = list(guard_global)
    for policy, lines in guard_policies.items():
        rendered += [policy] + [" " + line for line in lines]
    for port, lines in guard_interfaces.items():
        rendered += ["interface %s" % port] + lines
    # VRRP (IP protocol 112) from a client would take the gateways from a pair of core servers (its adverts carry no
    # authentication): every access port's ACL drops it, as the Linux switches do, also with one core. Through the
    # resource modules, which read IOS's ACLs back (IOS-XE prints sequence numbers) instead of comparing lines.
    acls = [{"afi": "ipv4", "acls": [{"name": ACCESS_ACL, "acl_type": "extended", "aces": [
        {"sequence": 10, "grant": "deny", "protocol_options": {"protocol_number": 112},
         "source": {"any": True}, "destination": {"any": True}},
        {"sequence": 20, "grant": "permit", "protocol": "ip", "source": {"any": True}, "destination": {"any": True}},
    ]}]}] if access else []
    acl_interfaces = [{"name": port["name"], "access_groups": [
        {"afi": "ipv4", "acls": [{"name": ACCESS_ACL, "direction": "in"}]}]} for port in access]
    return {
        "acls": acls,
        "acl_interfaces": acl_interfaces,
        "vlans": vlans,
        "interfaces": interfaces,
        "l2_interfaces": l2_interfaces,
        "lag_interfaces": lag_interfaces,
        "l3_interfaces": [{"name": svi, "ipv4": [{"address": "%s/%s" % (switch["management_address"],
                                                                        prefix_length)}]}],
        "static_routes": [{"address_families": [{"afi": "ipv4", "routes": [
            {"dest": "0.0.0.0/0", "next_hops": [{"forward_router_address": gateway}]}]}]}],
        "guard_global": guard_global,
        "guard_policies": guard_policies,
        "guard_interfaces": guard_interfaces,
        "guard_rendered": rendered,
    }
