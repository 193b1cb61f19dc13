# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The KTC site model as an operator writes it (inventories/<env>/group_vars/all/site.yml): its grammar and rules,
checked before anything else runs, and the open events added to it as temporary segments.

No Ansible import here on purpose: the module and filter plugins are thin adapters over these functions, and the
unit tests, property tests and benchmarks call them directly. The ledger and the allocator are in ktc_ipam, the
wiring in ktc_topology.

Data path: ``with_events(site, events)`` -> ``validate_site(site)`` -> ktc_ipam (ledger, allocation, facts).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from netaddr import IPAddress, IPNetwork, IPSet, AddrFormatError

try:
    from ansible.module_utils import ktc_grammar as grammar
except ImportError:  # outside a module (filters, tests, benchmarks): plugins/module_utils is on sys.path
    import ktc_grammar as grammar

ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])$")
SEGMENT_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$")
PORT_RE = re.compile(r"^(tcp|udp)/([0-9]{1,5})$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SEGMENT_KINDS = ("office", "guest", "event", "services")
SWITCH_PLATFORMS = ("linux_bridge", "cisco_ios")
PRIVATE_RANGES = IPSet(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])
DEFAULT_HEADROOM_PERCENT = 25
# Network, broadcast and gateway addresses are not available to hosts.
OVERHEAD_ADDRESSES = 3
SMALLEST_PREFIXLEN = 29
# The shaper names each uplink's ingress device ifb-<uplink name>, which must fit a Linux interface name.
UPLINK_NAME_MAX = grammar.LINUX_IFNAME_MAX - len("ifb-")
DEFAULT_TIMEZONE = "Asia/Makassar"
# IPv6: a site prefix is what an ISP delegates (a /48 or /56, at most a /60), global unicast or unique local; every
# segment and management take one /64 of it.
IPV6_SITE_PREFIXLENS = (48, 60)
IPV6_GLOBAL = IPNetwork("2000::/3")
IPV6_ULA = IPNetwork("fc00::/7")


class SiteError(Exception):
    """The site model, the ledger or a request cannot be accepted; ``errors`` says why, one line each."""

    def __init__(self, errors):
        self.errors = list(errors)
        super(SiteError, self).__init__("\n".join(self.errors))


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def ip_network(value, version):
    """Return an IPNetwork of IP ``version`` for a CIDR string (no surrounding space), or None when it is not one."""
    if not isinstance(value, str) or "/" not in value or value != value.strip():
        return None
    try:
        net = IPNetwork(value)
    except (AddrFormatError, ValueError, TypeError):
        return None
    return net if net.version == version else None


def ip_address(value, version):
    """Return an IPAddress of IP ``version`` for a string (no surrounding space), or None when it is not one."""
    if not isinstance(value, str) or value != value.strip():
        return None
    try:
        addr = IPAddress(value)
    except (AddrFormatError, ValueError, TypeError):
        return None
    return addr if addr.version == version else None


def ipv4_network(value):
    return ip_network(value, 4)


def ipv6_network(value):
    return ip_network(value, 6)


def ipv4_address(value):
    return ip_address(value, 4)


def prefixlen_for(hosts, headroom_percent=DEFAULT_HEADROOM_PERCENT, cores=0):
    """Smallest prefix length whose block holds ``hosts`` plus headroom, gateway, network and broadcast, and the own
    addresses of ``cores`` core servers when a pair shares the gateway."""
    needed = int(math.ceil(hosts * (100 + headroom_percent) / 100.0)) + OVERHEAD_ADDRESSES + cores
    return min(SMALLEST_PREFIXLEN, 32 - (needed - 1).bit_length())


def host_capacity(prefixlen, cores=0):
    """Hosts a segment of this prefix length can serve (its gateway, and the own addresses of ``cores`` core servers
    of a pair, excluded)."""
    return 2 ** (32 - prefixlen) - OVERHEAD_ADDRESSES - cores


def core_names(site):
    """The core servers that share each segment's gateway (ktc_site.cores, the preferred first), or [] for one core:
    one core needs no address of its own beside the gateway's."""
    cores = site.get("cores")
    return [cores["preferred"], cores["standby"]] if cores else []


# --------------------------------------------------------------------------------------------
# Validation of the site model
# --------------------------------------------------------------------------------------------


def _validate_network_plan(site, errors):
    pool = ipv4_network(site.get("address_pool"))
    if pool is None:
        errors.append("ktc_site.address_pool: %r is not an IPv4 prefix. Fix: write it as a CIDR such as 10.40.0.0/16."
                      % (site.get("address_pool"),))
    elif pool.ip != pool.network:
        errors.append("ktc_site.address_pool: %s is not a network address. Fix: use %s."
                      % (site.get("address_pool"), pool.cidr))
        pool = None
    elif IPSet([pool.cidr]) - PRIVATE_RANGES:
        errors.append("ktc_site.address_pool: %s is not private (RFC 1918). Fix: carve it from 10.0.0.0/8, "
                      "172.16.0.0/12 or 192.168.0.0/16." % pool)
        pool = None
    elif pool.prefixlen > SMALLEST_PREFIXLEN:
        errors.append("ktc_site.address_pool: %s is too small to hold a segment (a /%d at least)."
                      % (pool, SMALLEST_PREFIXLEN))
        pool = None

    management = site.get("management")
    mgmt = None
    if not isinstance(management, dict):
        errors.append("ktc_site.management: missing. Fix: give {vlan: 10, prefix: 10.40.255.0/24}.")
    else:
        mgmt = ipv4_network(management.get("prefix"))
        if mgmt is None or mgmt.ip != mgmt.network:
            errors.append("ktc_site.management.prefix: %r is not an IPv4 network address such as 10.40.255.0/24."
                          % (management.get("prefix"),))
            mgmt = None
        elif IPSet([mgmt.cidr]) - PRIVATE_RANGES:
            errors.append("ktc_site.management.prefix: %s is not private (RFC 1918)." % mgmt)
        vlan = management.get("vlan")
        if not is_int(vlan) or not 2 <= vlan <= 4094:
            errors.append("ktc_site.management.vlan: %r is not a VLAN ID (2..4094)." % (vlan,))
    if pool is not None and mgmt is not None and pool.cidr in mgmt.cidr:
        errors.append("ktc_site.address_pool: %s overlaps management %s and leaves nothing to allocate. Fix: use a "
                      "pool that holds or sits beside the management prefix." % (pool, mgmt))

    vlan_pool = site.get("vlan_pool")
    if not isinstance(vlan_pool, dict) or not is_int(vlan_pool.get("first")) or not is_int(vlan_pool.get("last")):
        errors.append("ktc_site.vlan_pool: %r must be {first: N, last: M} with whole numbers." % (vlan_pool,))
    elif not 2 <= vlan_pool["first"] <= vlan_pool["last"] <= 4094:
        errors.append("ktc_site.vlan_pool: %d..%d is not a range inside 2..4094 with first <= last."
                      % (vlan_pool["first"], vlan_pool["last"]))

    headroom = site.get("headroom_percent", DEFAULT_HEADROOM_PERCENT)
    if not is_int(headroom) or not 0 <= headroom <= 400:
        errors.append("ktc_site.headroom_percent: %r must be a whole number 0..400." % (headroom,))


def _validate_ipv6(site, uplink_names, errors):
    """The optional IPv6 prefix of the site: what the ISP delegates (a /48../60 of global unicast) or a ULA."""
    if "ipv6" not in site:
        return
    ipv6 = site["ipv6"]
    if not isinstance(ipv6, dict):
        errors.append("ktc_site.ipv6: %r must be a mapping {prefix, routed_by}, or left out for an IPv4-only site."
                      % (ipv6,))
        return
    unknown = sorted(str(key) for key in set(ipv6) - set(("prefix", "routed_by")))
    if unknown:
        errors.append("ktc_site.ipv6: unknown field(s) %s; it has prefix and routed_by." % ", ".join(unknown))
    prefix = ipv6_network(ipv6.get("prefix"))
    if prefix is None:
        errors.append("ktc_site.ipv6.prefix: %r is not an IPv6 prefix. Fix: write the prefix the ISP delegates as a "
                      "CIDR such as 2001:db8:40::/48, or a ULA such as fd4b:7a31:c2e0::/48." % (ipv6.get("prefix"),))
        return
    if prefix.ip != prefix.network:
        errors.append("ktc_site.ipv6.prefix: %s is not a network address. Fix: use %s." % (ipv6["prefix"], prefix.cidr))
    elif ipv6["prefix"] != str(prefix):
        # The files print it as written: only the one way netaddr writes it passes (lower case, shortest form).
        errors.append("ktc_site.ipv6.prefix: %r is not written the usual way. Fix: write %s." % (ipv6["prefix"], prefix))
    elif not IPV6_SITE_PREFIXLENS[0] <= prefix.prefixlen <= IPV6_SITE_PREFIXLENS[1]:
        errors.append("ktc_site.ipv6.prefix: %s is a /%d; a site prefix is a /%d../%d (each segment takes a /64, and "
                      "a /%d holds only %d). Fix: ask the ISP for a /48 or /56."
                      % (prefix, prefix.prefixlen, IPV6_SITE_PREFIXLENS[0], IPV6_SITE_PREFIXLENS[1],
                         IPV6_SITE_PREFIXLENS[1], 2 ** (64 - IPV6_SITE_PREFIXLENS[1])))
    elif prefix not in IPV6_GLOBAL and prefix not in IPV6_ULA:
        errors.append("ktc_site.ipv6.prefix: %s is neither global unicast (2000::/3) nor unique local (fc00::/7). "
                      "Fix: use the ISP's delegated prefix, or a ULA (RFC 4193) such as fd4b:7a31:c2e0::/48." % prefix)
    routed_by = ipv6.get("routed_by")
    if routed_by is None:
        return
    if routed_by not in uplink_names:
        errors.append("ktc_site.ipv6.routed_by: %r is not an uplink of ktc_site.uplinks (%s). Fix: name the uplink "
                      "whose ISP delegated the prefix." % (routed_by, ", ".join(str(name) for name in uplink_names)))
    elif prefix in IPV6_ULA:
        errors.append("ktc_site.ipv6.routed_by: %s is a unique local prefix, which no ISP routes. Fix: leave routed_by "
                      "out (every uplink then translates it), or use the ISP's prefix." % prefix)


def _validate_uplinks(site, errors):
    uplinks = site.get("uplinks")
    if not isinstance(uplinks, list) or not uplinks:
        errors.append("ktc_site.uplinks: give at least one uplink, e.g. [{name: primary, bandwidth_mbit: 1000}].")
        return None
    names = set()
    for index, uplink in enumerate(uplinks):
        where = "ktc_site.uplinks[%d]" % index
        if not isinstance(uplink, dict):
            errors.append("%s: must be a mapping {name, bandwidth_mbit}." % where)
            continue
        if not isinstance(uplink.get("name"), str) or not ID_RE.fullmatch(uplink["name"]) \
                or len(uplink["name"]) > UPLINK_NAME_MAX:
            errors.append("%s.name: %r must be 2..%d of [a-z0-9-] (core names a device ifb-<name>, and Linux device "
                          "names have at most %d characters)." % (where, uplink.get("name"), UPLINK_NAME_MAX,
                                                                  grammar.LINUX_IFNAME_MAX))
        elif uplink["name"] in names:
            errors.append("%s.name: %s is used twice; uplink names must be unique." % (where, uplink["name"]))
        names.add(uplink.get("name"))
        if not is_int(uplink.get("bandwidth_mbit")) or uplink["bandwidth_mbit"] <= 0:
            errors.append("%s.bandwidth_mbit: %r must be a whole number of Mbit/s above 0."
                          % (where, uplink.get("bandwidth_mbit")))
    first = uplinks[0] if isinstance(uplinks[0], dict) else {}
    return first.get("bandwidth_mbit") if is_int(first.get("bandwidth_mbit")) else None


def _validate_cores(site, errors):
    """ktc_site.cores, for two core servers: {preferred, standby}, the inventory names of core_routers' two hosts. Each
    segment's gateway becomes an address the pair shares, held by the preferred one while it runs; each server keeps an
    address of its own in every segment (from the ledger). Left out, one core holds the gateways."""
    cores = site.get("cores")
    if cores is None:
        return
    if not isinstance(cores, dict) or set(cores) != {"preferred", "standby"}:
        errors.append("ktc_site.cores: %r must be {preferred: <core>, standby: <core>}, the inventory names of the two "
                      "core servers. Fix: name both, or leave cores out for one core server." % (cores,))
        return
    for key in ("preferred", "standby"):
        problem = grammar.host(cores[key])
        if problem:
            errors.append("ktc_site.cores.%s: %r %s. Fix: give the inventory name of a host of core_routers."
                          % (key, cores[key], problem))
    if cores["preferred"] == cores["standby"]:
        errors.append("ktc_site.cores: preferred and standby are both %r; a pair is two servers. Fix: name the second "
                      "core server as standby, or leave cores out for one." % (cores["preferred"],))


def _validate_services(site, macs, errors):
    """Shared services: each a server with a name, its open ports and (optionally) its MAC. Their addresses come from the
    ledger, in the site's one segment of kind services, never from management (the hardening issue)."""
    services = site.get("services", [])
    if not isinstance(services, list):
        errors.append("ktc_site.services: must be a list of {name, ports, mac}.")
        return
    names = set()
    for index, service in enumerate(services):
        where = "ktc_site.services[%s]" % (service.get("name") if isinstance(service, dict) else index)
        if not isinstance(service, dict):
            errors.append("%s: must be a mapping {name, ports, mac}." % where)
            continue
        unknown = sorted(str(key) for key in set(service) - set(("name", "ports", "mac")))
        if "address" in service:
            errors.append("%s.address: shared services no longer take an address of their own: they sit in the "
                          "site's services segment (kind: services), outside management, and the ledger gives each a "
                          "stable address there. Fix: remove address, allocate, and read the new address in the plan "
                          "(give mac: so that DHCP hands it to the server)." % where)
        elif unknown:
            errors.append("%s: unknown field(s) %s; a service has name, ports and mac." % (where, ", ".join(unknown)))
        if not isinstance(service.get("name"), str) or not ID_RE.fullmatch(service["name"]):
            errors.append("%s.name: %r must be 2..24 of [a-z0-9-]." % (where, service.get("name")))
        elif service["name"] in names:
            errors.append("%s.name: used twice; service names must be unique." % where)
        names.add(service.get("name"))
        if "mac" in service:
            problem = grammar.mac(service["mac"])
            if problem:
                errors.append("%s.mac: %r %s." % (where, service["mac"], problem))
            elif service["mac"].lower() in macs:
                errors.append("%s.mac: %s is already reserved for %s. Fix: each device gets one reservation."
                              % (where, service["mac"], macs[service["mac"].lower()]))
            else:
                macs[service["mac"].lower()] = where
        ports = service.get("ports")
        if not isinstance(ports, list) or not ports:
            errors.append("%s.ports: give a list such as [tcp/443]." % where)
            continue
        for port in ports:
            match = PORT_RE.fullmatch(port) if isinstance(port, str) else None
            if not match or not 1 <= int(match.group(2)) <= 65535:
                errors.append("%s.ports: %r is not tcp/N or udp/N with N in 1..65535." % (where, port))


def _services_segment(site, errors):
    """[office id, segment name] of the site's one segment of kind services, or None."""
    found = [(office.get("id"), segment.get("name")) for office in site.get("offices") or [] if isinstance(office, dict)
             for segment in office.get("segments") or [] if isinstance(segment, dict)
             and segment.get("kind") == "services"]
    if len(found) > 1:
        errors.append("ktc_site.offices: %s are all of kind services; a site has one services segment, where every "
                      "shared service gets its address. Fix: keep one." % ", ".join("%s/%s" % key for key in found))
        return None
    if not found and site.get("services"):
        errors.append("ktc_site.services: the site lists shared services but has no segment of kind services for "
                      "them. Fix: add {name: servers, hosts: 14, kind: services} to the office whose switch the "
                      "servers plug into (normally diskominfo).")
        return None
    if not found:
        return None
    office = next(o for o in site["offices"] if isinstance(o, dict) and o.get("id") == found[0][0])
    taken = set(r.get("name") for r in office.get("reservations") or [] if isinstance(r, dict)
                and r.get("segment") == found[0][1])
    for service in site.get("services") or []:
        if isinstance(service, dict) and service.get("name") in taken:
            errors.append("ktc_site.services[%s].name: office %s has a reservation of that name in the services "
                          "segment %s; both would be given an address under one name. Fix: rename one."
                          % (service["name"], found[0][0], found[0][1]))
    return list(found[0])


def _validate_bandwidth(office, where, uplink_mbit, errors):
    bandwidth = office.get("bandwidth")
    if not isinstance(bandwidth, dict):
        errors.append("%s.bandwidth: missing. Fix: give {guaranteed_mbit: N, ceiling_mbit: M}." % where)
        return 0
    guaranteed, ceiling = bandwidth.get("guaranteed_mbit"), bandwidth.get("ceiling_mbit")
    if not is_int(guaranteed) or guaranteed < 0:
        errors.append("%s.bandwidth.guaranteed_mbit: %r must be a whole number >= 0." % (where, guaranteed))
        return 0
    if not is_int(ceiling) or ceiling <= 0:
        errors.append("%s.bandwidth.ceiling_mbit: %r must be a whole number above 0." % (where, ceiling))
        return guaranteed
    if guaranteed > ceiling:
        errors.append("%s.bandwidth: guaranteed_mbit %d is above ceiling_mbit %d. Fix: lower the guarantee or raise "
                      "the ceiling." % (where, guaranteed, ceiling))
    if uplink_mbit is not None and ceiling > uplink_mbit:
        errors.append("%s.bandwidth.ceiling_mbit: %d is above the primary uplink's %d Mbit/s. Fix: lower it to %d or "
                      "less." % (where, ceiling, uplink_mbit, uplink_mbit))
    return guaranteed


def _validate_segments(office, where, errors):
    segments = office.get("segments")
    if not isinstance(segments, list) or not segments:
        errors.append("%s.segments: give at least one segment, e.g. [{name: staff, hosts: 40}]." % where)
        return set()
    names = set()
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict):
            errors.append("%s.segments[%d]: must be a mapping {name, hosts, kind}." % (where, index))
            continue
        name = segment.get("name")
        seg_where = "%s.segments[%s]" % (where, name if isinstance(name, str) else index)
        if not isinstance(name, str) or not SEGMENT_RE.fullmatch(name):
            errors.append("%s.name: %r must be 1..12 of [a-z0-9-], not starting or ending with '-'."
                          % (seg_where, name))
        elif name in names:
            errors.append("%s.name: the office has two segments named %s. Fix: rename or merge one."
                          % (seg_where, name))
        names.add(name)
        hosts = segment.get("hosts")
        if not is_int(hosts) or hosts <= 0:
            errors.append("%s.hosts: must be a whole number above 0 (got %r). Fix: set it to the number of devices "
                          "the segment must serve." % (seg_where, hosts))
        if segment.get("kind", "office") not in SEGMENT_KINDS:
            errors.append("%s.kind: %r is not one of %s." % (seg_where, segment.get("kind"), ", ".join(SEGMENT_KINDS)))
        elif segment.get("kind") == "event":
            reserved = segment.get("reserved_mbit")
            if not is_int(reserved) or reserved <= 0:
                errors.append("%s.reserved_mbit: an event needs the Mbit/s it reserves on the uplink, a whole number "
                              "above 0 (got %r)." % (seg_where, reserved))
        _validate_segment_noc(office, segment, seg_where, errors)
    if office.get("noc") is True and not any(isinstance(s, dict) and s.get("noc") is True for s in segments):
        errors.append("%s.noc: the office is a NOC, but none of its segments is marked noc: true. Fix: mark the "
                      "segment the NOC staff work in, e.g. {name: noc, hosts: 20, noc: true}; its printers and "
                      "other segments stay without management rights." % where)
    return names


def _validate_segment_noc(office, segment, seg_where, errors):
    """NOC rights (the management plane, SSH to core and the switches) go to segments one by one."""
    noc = segment.get("noc", False)
    if not isinstance(noc, bool):
        errors.append("%s.noc: %r must be true or false." % (seg_where, noc))
    elif noc and segment.get("kind", "office") != "office":
        errors.append("%s.noc: a %s segment cannot be a NOC segment. Fix: give NOC rights to an office segment."
                      % (seg_where, segment.get("kind")))
    elif noc and office.get("noc") is not True:
        errors.append("%s.noc: the segment is marked noc, but its office is not a NOC office. Fix: set noc: true on "
                      "the office as well, or remove it from the segment." % seg_where)


def _validate_reservations(office, where, segment_names, macs, errors):
    reservations = office.get("reservations", [])
    if not isinstance(reservations, list):
        errors.append("%s.reservations: must be a list of {name, segment, mac}." % where)
        return
    names = set()
    for index, reservation in enumerate(reservations):
        if not isinstance(reservation, dict):
            errors.append("%s.reservations[%d]: must be a mapping {name, segment, mac}." % (where, index))
            continue
        name = reservation.get("name")
        res_where = "%s.reservations[%s]" % (where, name if isinstance(name, str) else index)
        if not isinstance(name, str) or not SEGMENT_RE.fullmatch(name):
            errors.append("%s.name: %r must be 1..12 of [a-z0-9-]." % (res_where, name))
        elif name in names:
            errors.append("%s.name: used twice in this office; reservation names must be unique." % res_where)
        names.add(name)
        if reservation.get("segment") not in segment_names:
            errors.append("%s.segment: %r is not a segment of this office (it has: %s). Fix: name one of those."
                          % (res_where, reservation.get("segment"), ", ".join(sorted(s for s in segment_names if s))))
        mac = reservation.get("mac")
        mac_text = mac.lower() if isinstance(mac, str) else None
        problem = grammar.mac(mac)
        if problem:
            errors.append("%s.mac: %r %s." % (res_where, mac, problem))
        elif mac_text in macs:
            errors.append("%s.mac: %s is already reserved for %s. Fix: each device gets one reservation."
                          % (res_where, mac, macs[mac_text]))
        else:
            macs[mac_text] = res_where


def validate_site(site):
    """Return ``site`` with defaults filled in, or raise SiteError listing every problem found."""
    if not isinstance(site, dict):
        raise SiteError(["ktc_site: must be a mapping (see inventories/<env>/group_vars/all/site.yml)."])
    errors = []
    for field in ("name",):
        problem = grammar.text_line(site.get(field)) if field in site else None
        if problem:
            errors.append("ktc_site.%s: %r %s." % (field, site[field], problem))
    problem = grammar.timezone(site.get("timezone", DEFAULT_TIMEZONE))
    if problem:
        errors.append("ktc_site.timezone: %r %s. Fix: KTC is Asia/Makassar (WITA)." % (site.get("timezone"), problem))
    if not isinstance(site.get("domain"), str) or not DOMAIN_RE.fullmatch(site["domain"]):
        errors.append("ktc_site.domain: %r is not a DNS domain such as ktc.sumbawabaratkab.go.id."
                      % (site.get("domain"),))
    _validate_network_plan(site, errors)
    _validate_cores(site, errors)
    uplink_mbit = _validate_uplinks(site, errors)
    _validate_ipv6(site, [uplink.get("name") for uplink in site.get("uplinks") or [] if isinstance(uplink, dict)],
                   errors)
    macs = {}
    _validate_services(site, macs, errors)

    offices = site.get("offices")
    if not isinstance(offices, list):
        raise SiteError(errors + ["ktc_site.offices: must be a list of offices."])
    seen_ids, guaranteed_total, reserved_total = {}, 0, 0
    for index, office in enumerate(offices):
        if not isinstance(office, dict):
            errors.append("ktc_site.offices[%d]: must be a mapping {id, name, bandwidth, segments}." % index)
            continue
        office_id = office.get("id")
        where = "ktc_site.offices[%s]" % (office_id if isinstance(office_id, str) else index)
        if not isinstance(office_id, str) or not ID_RE.fullmatch(office_id):
            errors.append("%s.id: %r must be 2..24 of [a-z0-9-], not starting or ending with '-' (quote it if YAML "
                          "reads it as a number or boolean)." % (where, office_id))
        elif office_id in seen_ids:
            errors.append("%s.id: %s is used by offices[%d] and offices[%d]; office ids must be unique. Fix: rename "
                          "one (ids are never reused for another office)." % (where, office_id, seen_ids[office_id],
                                                                              index))
        else:
            seen_ids[office_id] = index
        problem = grammar.text_line(office.get("name"))
        if problem:
            errors.append("%s.name: %r %s. Fix: give the office's full name on one line." % (where, office.get("name"),
                                                                                            problem))
        if not isinstance(office.get("noc", False), bool):
            errors.append("%s.noc: %r must be true or false." % (where, office.get("noc")))
        guaranteed_total += _validate_bandwidth(office, where, uplink_mbit, errors)
        segment_names = _validate_segments(office, where, errors)
        reserved_total += sum(segment.get("reserved_mbit", 0) for segment in office.get("segments") or []
                              if isinstance(segment, dict) and segment.get("kind") == "event"
                              and is_int(segment.get("reserved_mbit")))
        _validate_reservations(office, where, segment_names, macs, errors)
    if uplink_mbit is not None and guaranteed_total > uplink_mbit:
        errors.append("ktc_site.offices: guaranteed_mbit adds up to %d Mbit/s, above the primary uplink's %d. Fix: "
                      "lower guarantees by %d Mbit/s in total." % (guaranteed_total, uplink_mbit,
                                                                    guaranteed_total - uplink_mbit))
    elif uplink_mbit is not None and guaranteed_total + reserved_total > uplink_mbit:
        errors.append("events: they reserve %d Mbit/s while the offices' guarantees take %d of the primary uplink's %d. "
                      "Fix: reserve at most %d Mbit/s for events in total." % (
                          reserved_total, guaranteed_total, uplink_mbit, uplink_mbit - guaranteed_total))
    services_segment = _services_segment(site, errors)
    if errors:
        raise SiteError(errors)

    normal = dict(site)
    normal["headroom_percent"] = site.get("headroom_percent", DEFAULT_HEADROOM_PERCENT)
    normal["timezone"] = site.get("timezone", DEFAULT_TIMEZONE)
    normal["services"] = [dict(service, mac=service["mac"].lower()) if "mac" in service else dict(service)
                          for service in site.get("services", [])]
    normal["services_segment"] = services_segment
    normal["offices"] = []
    for office in offices:
        office = dict(office, noc=office.get("noc", False), reservations=[
            dict(r, mac=r["mac"].lower()) for r in office.get("reservations", [])])
        office["segments"] = [dict(s, kind=s.get("kind", "office")) for s in office["segments"]]
        normal["offices"].append(office)
    return normal


# --------------------------------------------------------------------------------------------
# Events: temporary segments (exams, recruitment days), opened and closed by playbooks/event.yml
# --------------------------------------------------------------------------------------------

EVENT_KEYS = ("name", "office", "clients", "reserved_mbit", "switch", "ports", "starts", "ends")


def with_events(site, events):
    """``site`` with each open event added to its office as a segment of kind event; raise SiteError.

    An event is {name, office, clients, reserved_mbit, switch, ports, starts, ends} (ktc_events, written by
    playbooks/event.yml). Its segment is allocated like any other and isolated like a guest segment; its
    reservation is a shaping class the offices cannot borrow.
    """
    if not events:
        return site
    if not isinstance(events, list):
        raise SiteError(["ktc_events: must be a list of events (see playbooks/event.yml)."])
    offices = dict((o.get("id"), o) for o in site.get("offices") or [] if isinstance(o, dict))
    errors, added = [], {}
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            errors.append("ktc_events[%d]: must be a mapping {%s}." % (index, ", ".join(EVENT_KEYS)))
            continue
        where = "event %s" % event.get("name", index)
        unknown = sorted(set(event) - set(EVENT_KEYS))
        if unknown:
            errors.append("%s: unknown field(s) %s; an event has %s." % (where, ", ".join(unknown), ", ".join(EVENT_KEYS)))
        name = event.get("name")
        office = offices.get(event.get("office")) if isinstance(event.get("office"), str) else None
        if not isinstance(name, str) or not SEGMENT_RE.fullmatch(name):
            errors.append("%s.name: %r must be 1..12 of [a-z0-9-] (it becomes the segment's name), e.g. cat-asn-1."
                          % (where, name))
        if office is None:
            errors.append("%s.office: %r is not an office of ktc_site (known: %s). Fix: name the office that runs "
                          "the event." % (where, event.get("office"), ", ".join(sorted(str(o) for o in offices))))
            continue
        if any(isinstance(seg, dict) and seg.get("name") == name for seg in office.get("segments") or []) \
                or name in added.get(office["id"], ()):
            errors.append("%s: office %s already has a segment or event named %s. Fix: choose another name."
                          % (where, office["id"], name))
        if not is_int(event.get("clients")) or event["clients"] <= 0:
            errors.append("%s.clients: the number of devices expected, a whole number above 0 (got %r)."
                          % (where, event.get("clients")))
        problem = grammar.host(event.get("switch"))
        if problem:
            errors.append("%s.switch: %r %s. Fix: name the access switch whose ports serve the event."
                          % (where, event.get("switch"), problem))
        ports = event.get("ports")
        if not isinstance(ports, list) or not ports:
            errors.append("%s.ports: give the switch ports of the event as a list, e.g. [swp2, swp3] (got %r)."
                          % (where, ports))
        else:
            for port in ports:
                # Either platform's grammar here; validate_switches checks each port against its switch's own ports.
                problem = grammar.interface(port, "linux_bridge")
                if problem and grammar.interface(port, "cisco_ios"):
                    errors.append("%s.ports: %r %s. Fix: name ports of the event's switch, e.g. swp2,swp3."
                                  % (where, port, problem))
        for field in ("starts", "ends"):
            problem = grammar.event_time(event.get(field))
            if problem:
                errors.append("%s.%s: %r %s." % (where, field, event.get(field), problem))
        if event.get("starts") and event.get("ends") and not grammar.event_time(event["starts"]) \
                and not grammar.event_time(event["ends"]) and event["ends"] <= event["starts"]:
            errors.append("%s.ends: %s is not after starts %s." % (where, event["ends"], event["starts"]))
        added.setdefault(office["id"], []).append(name)
    if errors:
        raise SiteError(errors)
    opened = dict(site)
    opened["offices"] = []
    for office in site["offices"]:
        own = [e for e in events if e["office"] == office.get("id")]
        if own:
            office = dict(office, segments=list(office.get("segments") or []) + [
                {"name": e["name"], "hosts": e["clients"], "kind": "event", "reserved_mbit": e["reserved_mbit"]}
                for e in own])
        opened["offices"].append(office)
    return opened
