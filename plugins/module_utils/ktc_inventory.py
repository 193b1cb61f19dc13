# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of the inventory's wiring: core's uplinks and management address, each access switch's office,
platform, ports and core port, and the ports open events take. Every refusal names the host, the field and the fix.

Input shapes (what playbooks/group_vars/all.yml passes to ktc_site_validate):
  core:     {name, management_address, uplinks: [{name, interface, address, gateway}]}
  switches: [{name, office, platform, uplink, access_ports: {segment: [port]}, ports, management_address, core_port}]
``ports`` is the switch's every port (ktc_switch_ports, names or ranges), required on cisco_ios.
``access_ports`` is the map the inventory declares; the events' ports are checked against it.
Pure Python, no Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from netaddr import IPAddress, IPNetwork, AddrFormatError

try:
    from ansible.module_utils import ktc_grammar as grammar
    from ansible.module_utils import ktc_ios
    from ansible.module_utils import ktc_topology
    from ansible.module_utils.ktc_site import SWITCH_PLATFORMS, SiteError, core_names, ip_address, ipv6_network
except ImportError:  # outside a module (filters, tests, benchmarks): plugins/module_utils is on sys.path
    import ktc_grammar as grammar
    import ktc_ios
    import ktc_topology
    from ktc_site import SWITCH_PLATFORMS, SiteError, core_names, ip_address, ipv6_network

# VLANs IOS keeps for itself (the default VLAN and the FDDI/Token Ring ones): never an office's or management's.
IOS_RESERVED_VLANS = frozenset([1, 1002, 1003, 1004, 1005])


def _host_address(value, management, where, field, errors):
    """An IPv4 host address inside the management prefix, or None (the refusal is in ``errors``)."""
    try:
        address = IPAddress(value) if isinstance(value, str) else None
    except (AddrFormatError, ValueError, TypeError):
        address = None
    if address is None or address.version != 4:
        errors.append("%s: %s %r is not an IPv4 address. Fix: give a host address of the management prefix %s."
                      % (where, field, value, management))
        return None
    if address not in management or address in (management.network, management.broadcast):
        errors.append("%s: %s %s is not a host address of the management prefix %s. Fix: give one inside it."
                      % (where, field, address, management))
        return None
    return address


LINK_LOCAL6 = IPNetwork("fe80::/10")


def _validate_core_servers(site, servers, errors):
    """Group core_routers against ktc_site.cores: one host, or the two the site model names as a pair. Returns the
    pair's names, or [] for one core."""
    pair = core_names(site)
    names = [server.get("name") for server in servers]
    if len(names) > 2:
        errors.append("group core_routers: %s are %d hosts; core is one server or a pair. Fix: keep one or two."
                      % (", ".join(map(str, names)), len(names)))
    elif len(names) == 2 and not pair:
        errors.append("group core_routers: %s are two hosts, and ktc_site.cores does not name them as a pair; both "
                      "would hold every gateway. Fix: set ktc_site.cores to {preferred: %s, standby: %s} (the one "
                      "that holds the gateways while both run first), or keep one host." % (
                          " and ".join(map(str, names)), names[0], names[1]))
    elif pair and [name for name in names if name not in pair]:
        errors.append("group core_routers: %s %s not of the pair ktc_site.cores names (%s, %s). Fix: name the "
                      "inventory's core servers in ktc_site.cores, or leave cores out for one core server." % (
                          ", ".join(name for name in names if name not in pair),
                          "is" if len([name for name in names if name not in pair]) == 1 else "are", pair[0], pair[1]))
    elif pair and len(names) == 1:
        missing = [name for name in pair if name not in names][0]
        errors.append("group core_routers: ktc_site.cores names the pair %s and %s, and %s is not a host of it; the "
                      "pair's gateways would be left to a server that does not run. Fix: add %s to core_routers "
                      "(cabled like %s), or leave ktc_site.cores out for one core server."
                      % (pair[0], pair[1], missing, missing, names[0]))
    return pair if len(names) <= 2 else []


def validate_core(site, core, errors, addresses):
    """Check the wiring of core's servers (one, or a pair); record their management addresses in ``addresses``
    ({address: host}); return the interfaces of core's uplinks."""
    if not core:
        return set()
    servers = ktc_topology.core_servers(core)
    pair = _validate_core_servers(site, servers, errors)
    management = IPNetwork(site["management"]["prefix"])
    if pair:
        # The pair's management gateway (the first address, as for one core): keepalived moves it to the active one.
        addresses[management.network + 1] = "the pair's management gateway, which keepalived moves to the active server"
    interfaces = set()
    for server in servers:
        where = "host %s" % server.get("name")
        problem = grammar.host(server.get("name"))
        if problem:
            errors.append("%s: the inventory host name %r %s." % (where, server.get("name"), problem))
        address = _host_address(server.get("management_address"), management, where, "ktc_management_address",
                                errors)
        if address is not None and address in addresses:
            errors.append("%s: ktc_management_address %s is taken by %s. Fix: give each core server an address of its "
                          "own in %s, such as %s and %s." % (where, address, addresses[address], management,
                                                      management.network + 2, management.network + 3))
        elif address is not None:
            addresses[address] = server.get("name")
        interfaces = _validate_uplinks(site, server, where, errors)
    first = servers[0]
    for server in servers[1:]:
        if server.get("uplinks") != first.get("uplinks"):
            errors.append("host %s: ktc_uplinks differ from %s's; the pair shares each uplink (its public address moves "
                          "to the active server) and is wired alike. Fix: give both the same ktc_uplinks (in "
                          "group_vars of core_routers)." % (server.get("name"), first.get("name")))
    return interfaces


def _validate_uplinks(site, core, where, errors):
    """Check one core server's ktc_uplinks against the site's uplinks; return their interfaces."""
    interfaces = set()
    wanted = [uplink["name"] for uplink in site["uplinks"]]
    uplinks = core.get("uplinks")
    if not isinstance(uplinks, list):
        errors.append("%s: ktc_uplinks must list core's uplinks {name, interface, address, gateway} in the order of "
                      "ktc_site.uplinks (%s)." % (where, ", ".join(wanted)))
        return interfaces
    names = [uplink.get("name") if isinstance(uplink, dict) else None for uplink in uplinks]
    if names != wanted:
        errors.append("%s: ktc_uplinks names %s; ktc_site.uplinks has %s. Fix: one entry per uplink of the site "
                      "model, in the same order." % (where, names, wanted))
    for index, uplink in enumerate(uplinks):
        if not isinstance(uplink, dict):
            continue
        field = "ktc_uplinks[%s]" % (uplink.get("name") if isinstance(uplink.get("name"), str) else index)
        problem = grammar.interface(uplink.get("interface"))
        if problem:
            errors.append("%s: %s.interface %r %s." % (where, field, uplink.get("interface"), problem))
        elif uplink["interface"] in interfaces:
            errors.append("%s: %s.interface %s is used by two uplinks. Fix: each uplink has its own port."
                          % (where, field, uplink["interface"]))
        else:
            interfaces.add(uplink["interface"])
        try:
            network = IPNetwork(uplink.get("address")) if isinstance(uplink.get("address"), str) else None
            gateway = IPAddress(uplink.get("gateway")) if isinstance(uplink.get("gateway"), str) else None
        except (AddrFormatError, ValueError, TypeError):
            network = gateway = None
        if network is None or network.version != 4 or "/" not in uplink["address"]:
            errors.append("%s: %s.address %r is not an IPv4 address with its prefix length, such as 198.51.100.2/30."
                          % (where, field, uplink.get("address")))
        elif gateway is None or gateway.version != 4 or gateway not in network or gateway == network.ip:
            errors.append("%s: %s.gateway %r is not another address of %s. Fix: give the ISP router's address."
                          % (where, field, uplink.get("gateway"), network.cidr))
        _validate_uplink_ipv6(site, uplink, "%s: %s" % (where, field), errors)
    return interfaces


def _validate_uplink_ipv6(site, uplink, where, errors):
    """An uplink's optional IPv6: its address with the link's prefix length, and the ISP router's address (on the link,
    or its link-local one, as many ISPs give)."""
    if "address6" not in uplink and "gateway6" not in uplink:
        return
    network = ipv6_network(uplink.get("address6"))
    gateway = ip_address(uplink.get("gateway6"), 6)
    if network is None or network.prefixlen > 127 or network.ip == network.network:
        errors.append("%s.address6 %r is not an IPv6 host address with the link's prefix length, such as "
                      "2001:db8:ffff:1::2/64. Fix: give both address6 and gateway6, or neither (an uplink without IPv6)."
                      % (where, uplink.get("address6")))
        return
    site_prefix = IPNetwork(site["ipv6"]["prefix"]) if site.get("ipv6") else None
    if uplink["address6"] != str(network):
        errors.append("%s.address6 %r is not written the usual way. Fix: write %s." % (where, uplink["address6"], network))
    elif not 64 <= network.prefixlen <= 127:
        errors.append("%s.address6 %s: a link's prefix length is 64..127. Fix: give the length the ISP assigned."
                      % (where, network))
    elif network.ip in LINK_LOCAL6 or network.ip.is_multicast():
        errors.append("%s.address6 %s is not a global or unique local address. Fix: give the address the ISP assigned "
                      "on the link." % (where, network))
    elif site_prefix is not None and network.cidr in site_prefix:
        errors.append("%s.address6 %s overlaps ktc_site.ipv6.prefix %s, which is for the segments. Fix: give the "
                      "address of the ISP's link." % (where, network, site_prefix))
    if gateway is None or gateway == network.ip or not (gateway in network or gateway in LINK_LOCAL6):
        errors.append("%s.gateway6 %r is not another address of %s nor a link-local (fe80::/10) one. Fix: give the ISP "
                      "router's address." % (where, uplink.get("gateway6"), network.cidr))
    elif uplink["gateway6"] != str(gateway):
        errors.append("%s.gateway6 %r is not written the usual way. Fix: write %s." % (where, uplink["gateway6"], gateway))


def _validate_port_list(switch, port_owner, where, errors):
    """A Cisco switch lists every port it has, so that the ones the inventory does not use can be shut down."""
    spec = switch.get("ports")
    if not isinstance(spec, list) or not spec:
        errors.append("%s: ktc_switch_ports must list every port of the switch, such as [GigabitEthernet1/0/1-28]; "
                      "the ports it names and the inventory does not use are shut down in the parking VLAN."
                      % where)
        return
    ports, problems = ktc_ios.expand_ports(spec)
    for problem in problems:
        errors.append("%s: ktc_switch_ports: %s." % (where, problem))
    seen = set()
    for port in ports:
        problem = grammar.interface(port, "cisco_ios")
        if problem:
            errors.append("%s: ktc_switch_ports: port %r %s." % (where, port, problem))
        elif ktc_ios.canonical(port) in seen:
            errors.append("%s: ktc_switch_ports names %s twice. Fix: name each port once." % (where, port))
        else:
            seen.add(ktc_ios.canonical(port))
    used = [(port, "ktc_switch_uplink") for port in switch.get("uplink_ports") or []] + [
        (port, "ktc_switch_access_ports.%s" % segment) for port, segment in sorted(port_owner.items())]
    for port, field in used:
        if isinstance(port, str) and ktc_ios.canonical(port) not in seen:
            errors.append("%s: %s names %s, which is not in ktc_switch_ports. Fix: correct the port or add it to the "
                          "list of the switch's ports." % (where, field, port))


def _validate_events(events, by_name, declared, errors):
    """An event takes access ports its switch declares, of a switch that serves the event's office."""
    taken = {}
    for event in events or []:
        where = "event %s" % event.get("name")
        switch = by_name.get(event.get("switch"))
        if switch is None:
            errors.append("%s.switch: %r is not an access switch of the inventory (known: %s)."
                          % (where, event.get("switch"), ", ".join(sorted(str(n) for n in by_name))))
            continue
        own = declared.get(switch["name"], {})
        served = sorted(set(office for office, _ in own.values()))
        if event.get("office") not in served:
            errors.append("%s.switch: %s serves office %s, not %s. Fix: use a switch of %s."
                          % (where, switch["name"], ", ".join(served) or "none", event.get("office"), event.get("office")))
        for port in event.get("ports") or []:
            if port not in own:
                errors.append("%s.ports: %r is not an access port of %s (it has: %s). Fix: name ports the inventory "
                              "gives that switch." % (where, port, switch["name"], ", ".join(sorted(own)) or "none"))
            elif (switch["name"], port) in taken:
                errors.append("%s.ports: %s of %s is already taken by event %s. Fix: close that event first or "
                              "choose another port." % (where, port, switch["name"], taken[(switch["name"], port)]))
            else:
                taken[(switch["name"], port)] = event.get("name")


def _validate_cisco_vlans(site, errors):
    first, last = site["vlan_pool"]["first"], site["vlan_pool"]["last"]
    reserved = sorted(v for v in IOS_RESERVED_VLANS if first <= v <= last)
    if reserved:
        errors.append("ktc_site.vlan_pool: %d..%d holds VLAN(s) %s, which Cisco IOS keeps for itself, and the site "
                      "has Cisco switches. Fix: keep vlan_pool inside 2..1001 or 1006..4094."
                      % (first, last, ", ".join(str(v) for v in reserved)))
    parking = site.get("parking_vlan", ktc_ios.DEFAULT_PARKING_VLAN)
    if not isinstance(parking, int) or isinstance(parking, bool) or not 2 <= parking <= 4094 \
            or parking in IOS_RESERVED_VLANS:
        errors.append("ktc_site.parking_vlan: %r is not a VLAN ID Cisco IOS lets us use (2..1001 or 1006..4094)."
                      % (parking,))
    elif parking == site["management"]["vlan"] or first <= parking <= last:
        errors.append("ktc_site.parking_vlan: %d is %s; the unused ports of the Cisco switches would share it. "
                      "Fix: choose a VLAN outside vlan_pool (%d..%d) and other than management's."
                      % (parking, "the management VLAN" if parking == site["management"]["vlan"]
                         else "inside vlan_pool, where the allocator gives office VLANs", first, last))
    if site["management"]["vlan"] in IOS_RESERVED_VLANS:
        errors.append("ktc_site.management.vlan: %d is kept by Cisco IOS for itself, and the site has Cisco "
                      "switches. Fix: use another VLAN, such as 10." % site["management"]["vlan"])


def validate_switches(site, switches, events=(), core=None):
    """Check core's and the switches' wiring and the events' ports against them; raise SiteError listing every problem.

    ``site`` comes from validate_site() (with the events' segments added, see ktc_site.with_events). The links between
    the devices and each switch's port map are checked by ktc_topology.check_wiring.
    """
    offices = dict((office["id"], office) for office in site["offices"])
    errors = []
    management = IPNetwork(site["management"]["prefix"])
    addresses = {}
    validate_core(site, core, errors, addresses)
    by_name = {}
    platforms = set()
    for switch in switches:
        name = switch.get("name")
        where = "switch %s" % name
        problem = grammar.host(name)
        if problem:
            errors.append("%s: the inventory host name %r %s." % (where, name, problem))
            continue
        by_name[name] = switch
        if switch.get("office") is not None and switch.get("office") not in offices:
            errors.append("%s: ktc_office %r is not an office of ktc_site (known: %s). Fix: set ktc_office to one of "
                          "them or add the office to site.yml." % (where, switch.get("office"), ", ".join(sorted(offices))))
        if switch.get("platform") not in SWITCH_PLATFORMS:
            errors.append("%s: ktc_switch_platform %r is not one of %s."
                          % (where, switch.get("platform"), ", ".join(SWITCH_PLATFORMS)))
            continue
        platforms.add(switch["platform"])
        if switch.get("management_address") is not None or core:
            address = _host_address(switch.get("management_address"), management, where, "ktc_management_address",
                                    errors)
            if address is not None and address in addresses:
                errors.append("%s: ktc_management_address %s is taken by %s. Fix: give each device its own address."
                              % (where, address, addresses[address]))
            elif address is not None:
                addresses[address] = name
    valid = [switch for switch in switches if switch.get("name") in by_name
             and switch.get("platform") in SWITCH_PLATFORMS and (switch.get("office") is None
                                                                 or switch.get("office") in offices)]
    normalised, used_ports, _ = ktc_topology.check_wiring(site, core, valid, errors)
    declared = {}
    for switch in normalised:
        access = dict((port, what) for port, what in used_ports[switch["name"]].items()
                      if what not in (ktc_topology.UPLINK, ktc_topology.UPLINK_STANDBY))
        declared[switch["name"]] = dict(
            (port, (office or switch.get("office"), segment)) for port, key in access.items()
            for office, _, segment in [str(key).rpartition("/")])
        # A Cisco switch lists every port, the trunks to the switches below it included; a planned one has none yet.
        if switch["platform"] == "cisco_ios" and not switch["planned"]:
            below = dict((port, "the trunk to %s" % child["name"]) for child in normalised
                         if child.get("parent") == switch["name"] for port in child["parent_ports"] or [])
            _validate_port_list(switch, dict(access, **below), "switch %s" % switch["name"], errors)
    if "cisco_ios" in platforms:
        _validate_cisco_vlans(site, errors)
    _validate_events(events, by_name, declared, errors)
    if errors:
        raise SiteError(errors)
