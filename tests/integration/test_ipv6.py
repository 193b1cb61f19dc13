"""IPv6 in the lab, from the clients: addresses from core's router advertisements, DNS from the advertisement and from
stateless DHCPv6, the internet by name over IPv6, the same isolation as IPv4, nothing open from the uplink, failover
to the backup uplink (where core translates the site's prefix), shaping in the office's class, and the first-hop
guards against a rogue router, a rogue DHCPv6 server and a client claiming core's addresses."""

import ipaddress
import os
import re

import pytest

import first_hop
from conftest import CORE_NAME, check_isolation, isp, set_link, vm, wait_until
from test_access_switch import attack, captured, guard_drops, rogue_and_victim  # noqa: F401 (a fixture)

ISP_WEB6 = "2001:db8:ff80::80"
ISP_NAME = "www.isp.example"
CORE_LINK_LOCAL = "fe80::1"


def one_per_segment(clients):
    return list({(c.office, c.segment): c for c in clients}.values())


def router_advertisement(client):
    """What core advertises on the client's segment (rdisc6 solicits it): {"prefix", "dns", "from", "lifetime",
    "prefix_lifetimes" (preferred, valid)}."""
    out = client.run("rdisc6 -1 -w 3000 eth0").stdout
    found = dict(re.findall(r"^\s*(Prefix|Recursive DNS server|Pref\. time|Valid time)\s*:\s*(\S+)", out, re.M))
    return {"prefix": found.get("Prefix"), "dns": found.get("Recursive DNS server"),
            "prefix_lifetimes": (found.get("Pref. time"), found.get("Valid time")),
            "from": (re.findall(r"^ from (\S+)", out, re.M) or [None])[-1],
            "lifetime": int(re.search(r"Router lifetime\s*:\s*(\d+)", out).group(1)) if "Router lifetime" in out
            else None}


def global_address(client):
    """The client's SLAAC address in its segment's /64, or None."""
    prefix = ipaddress.ip_network(client.facts["prefix6"])
    for address in re.findall(r"inet6 (\S+)/64 scope global", client.run("ip -6 addr show dev eth0").stdout):
        if ipaddress.ip_address(address) in prefix:
            return address
    return None


@pytest.fixture(scope="module")
def ipv6_clients(addressed_clients):
    """Every client with its SLAAC address (``address6``) after soliciting core's advertisement, as a client plugged
    in afresh: the addresses of segments its port was in before (the event and onboarding tests move ports) are
    flushed first. A real client keeps those until their preferred lifetime ends (core_router_ra_preferred_lifetime_s)
    and may use one as its source meanwhile."""
    for client in addressed_clients:
        client.run("ip -6 addr flush dev eth0 scope global; rdisc6 -1 -w 3000 eth0 >/dev/null")
        assert wait_until(lambda: global_address(client) is not None, 20), "%s got no address in %s" % (
            client, client.facts["prefix6"])
        client.address6 = global_address(client)
    return addressed_clients


def dhcpv6_options(client):
    """The DNS servers and search list stateless DHCPv6 gives the client (dhclient -6 -S, an information request)."""
    script = "/tmp/ktc-dhcp6-%s" % client.namespace
    client.switch_host.check_output("printf '#!/bin/sh\\nenv > %s.env\\n' > %s.sh && chmod +x %s.sh"
                                    % (script, script, script))
    files = "-pf %s.pid -lf %s.leases -sf %s.sh" % (script, script, script)
    result = client.run("rm -f %s.env; timeout 20 dhclient -6 -S -1 %s eth0; dhclient -6 -x %s eth0; cat %s.env"
                        % (script, files, files, script))
    options = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("new_dhcp6_"))
    return options.get("new_dhcp6_name_servers", "").strip("'"), options.get("new_dhcp6_domain_search", "").strip("'")


def test_every_client_gets_its_segments_address_and_dns_and_reaches_the_internet_by_name(ipv6_clients):
    resolv = []
    try:
        for client in ipv6_clients:
            facts = client.facts
            advertised = router_advertisement(client)
            assert advertised == {"prefix": facts["prefix6"], "dns": facts["gateway6"], "from": CORE_LINK_LOCAL,
                                  "lifetime": 1800, "prefix_lifetimes": ("2700", "5400")}, client
            routes = client.run("ip -6 route show default").stdout
            assert routes.startswith("default via %s dev eth0 proto ra" % CORE_LINK_LOCAL), routes
            servers, search = dhcpv6_options(client)
            assert (servers, search) == (facts["gateway6"], "ktc.sumbawabaratkab.go.id."), client
            # The client's resolver is the one the advertisement named, and the web server is reached by name.
            path = "/etc/netns/%s/resolv.conf" % client.namespace
            client.switch_host.check_output("mkdir -p %s && echo 'nameserver %s' > %s"
                                            % (os.path.dirname(path), advertised["dns"], path))
            resolv.append((client.switch_host, path))
            page = client.run("curl -6 -sS -m 10 http://%s/" % ISP_NAME)
            assert page.rc == 0 and "ktc-lab isp web server" in page.stdout, "%s: %s" % (client, page.stderr)
            # Our own names: the gateway's AAAA and its PTR (guests are refused the internal zone, as over IPv4).
            name = client.run("dig +short AAAA %s @%s" % (facts["gateway_fqdn"], facts["gateway6"])).stdout.strip()
            pointer = client.run("dig +short -x %s @%s" % (facts["gateway6"], facts["gateway6"])).stdout.strip()
            if facts["kind"] in ("guest", "event"):
                assert (name, pointer) == ("", ""), client
            else:
                assert (name, pointer) == (facts["gateway6"], facts["gateway_fqdn"] + "."), client
    finally:
        for host, path in resolv:
            host.run("rm -f %s" % path)


def test_no_segment_reaches_another_over_ipv6_and_management_only_from_the_noc(ipv6_clients):
    core = vm(CORE_NAME)
    segments = one_per_segment(ipv6_clients)
    assert len(segments) >= 4
    check_isolation(core, segments, lambda client: client.address6)
    management6 = core.check_output("ip -6 -o addr show dev br-mgmt scope global").split()[3].split("/")[0]
    for client in segments:
        reached = client.succeeding([client.probe(management6), client.probe(client.facts["gateway6"], 22)])
        assert reached == ({0, 1} if client.facts["noc"] else set()), client


def test_nothing_is_open_from_the_uplink_over_ipv6(ipv6_clients):
    client = next(c for c in ipv6_clients if c.facts["kind"] == "office")
    core_uplink = "2001:db8:ffff:1::2"
    # Controls: the isp reaches core's uplink address (echo, as over IPv4) and the client reaches the isp.
    assert isp("ping -n -c 1 -W 2 %s" % core_uplink).returncode == 0
    assert client.reaches(ISP_WEB6, 80)
    for target in (core_uplink, client.facts["gateway6"]):
        answer = isp("dig +time=2 +tries=1 +short AAAA %s @%s" % (ISP_NAME, target))
        assert answer.stdout.strip() == "", "the resolver answered the uplink at %s" % target
        assert isp("timeout 2 bash -c '</dev/tcp/%s/22'" % target).returncode != 0
    assert isp("ping -n -c 1 -W 2 %s" % client.address6).returncode != 0, "the isp reached a client"
    # A NOC source forged on the internet, to a shared server (a NOC segment may reach it): dropped as it arrives.
    core = vm(CORE_NAME)
    noc = next(c for c in ipv6_clients if c.facts["noc"])
    server = next(c for c in ipv6_clients if c.facts["kind"] == "services")
    forged = str(ipaddress.ip_network(noc.facts["prefix6"])[0x99])
    before = forged_drops(core)
    isp("ip addr add %s/128 dev lo nodad && ping -n -c 3 -i 0.2 -W 1 -I %s %s; ip addr del %s/128 dev lo"
        % (forged, forged, server.address6, forged))
    assert forged_drops(core) >= before + 3


def forged_drops(core):
    rules = core.check_output("nft list chain inet ktc_filter prerouting")
    return sum(int(n) for line in rules.splitlines() if "site address from an uplink" in line
               for n in re.findall(r"counter packets (\d+)", line))


def class_bytes(core, device, minor):
    out = core.check_output("tc -s class show dev %s classid 1:%s" % (device, minor))
    return int(re.search(r"Sent (\d+) bytes", out).group(1))


def test_ipv6_is_shaped_in_the_offices_class_both_ways(ipv6_clients):
    core = vm(CORE_NAME)
    client = next(c for c in ipv6_clients if c.facts["kind"] == "office")
    minor = client.facts["shaping_class"]
    before = {device: class_bytes(core, device, minor) for device in ("eth1", "ifb-primary")}
    # 300 echo requests of 1200 bytes out, as many replies back: about 360 KB each way.
    assert client.run("ping -6 -n -q -c 300 -i 0.01 -s 1200 %s" % ISP_WEB6).rc == 0
    grown = {device: class_bytes(core, device, minor) - before[device] for device in before}
    print("IPv6 bytes in %s's class 1:%s: %s" % (client.office, minor, grown))
    assert grown["eth1"] >= 300 * 1200 and grown["ifb-primary"] >= 300 * 1200, grown


def test_ipv6_fails_over_to_the_backup_uplink_translated_to_its_address(ipv6_clients):
    core = vm(CORE_NAME)
    client = next(c for c in ipv6_clients if c.facts["kind"] == "office")
    assert client.reaches(ISP_WEB6, 80)
    set_link(CORE_NAME, "eth1", False)
    try:
        assert wait_until(lambda: core.run("cat /run/ktc/uplink6").stdout.strip() == "backup", 30)
        assert "via fe80::1 dev eth2" in core.check_output("ip -6 route show default")
        # The isp routes the site's prefix over the primary link only: an answer proves core translated the client's
        # address to its own on the backup link.
        assert wait_until(lambda: client.reaches(ISP_WEB6, 80), 20)
    finally:
        set_link(CORE_NAME, "eth1", True)
    assert wait_until(lambda: core.run("cat /run/ktc/uplink6 /run/ktc/uplink").stdout.split() == ["primary"] * 2, 30)
    assert wait_until(lambda: client.reaches(ISP_WEB6, 80), 20)


def default_routers(client):
    return re.findall(r"^default via (\S+)", client.run("ip -6 route show default").stdout, re.M)


def test_a_rogue_router_and_a_rogue_dhcpv6_server_reach_no_neighbour_and_change_nothing(ipv6_clients,
                                                                                         rogue_and_victim):
    rogue, victim = rogue_and_victim
    switch = rogue.switch_host
    routes = default_routers(victim)
    dropped = guard_drops(switch, "rogue IPv6 router")
    path, _ = attack(rogue, victim, first_hop.ROUTER_ADVERTISEMENT % {"prefix": "2001:db8:bad::"}, "icmp6")
    assert captured(switch, path, "icmp6 and ip6[40] == 134") == 0
    assert guard_drops(switch, "rogue IPv6 router") >= dropped + 3
    dropped = guard_drops(switch, "rogue DHCPv6 server")
    path, _ = attack(rogue, victim, first_hop.DHCPV6_REPLY, "udp")
    assert captured(switch, path, "udp dst port 9999") > 0     # control: the rogue's other datagrams arrive
    assert captured(switch, path, "udp src port 547") == 0
    assert guard_drops(switch, "rogue DHCPv6 server") >= dropped + 3
    # The victim's address, routes and DNS are core's still.
    assert "2001:db8:bad:" not in victim.run("ip -6 addr show dev eth0").stdout
    assert default_routers(victim) == routes == [CORE_LINK_LOCAL]
    assert dhcpv6_options(victim)[0] == victim.facts["gateway6"]


def test_a_client_claiming_cores_ipv6_addresses_diverts_nobody(ipv6_clients, rogue_and_victim):
    rogue, victim = rogue_and_victim
    switch = rogue.switch_host
    rogue_mac = rogue.run("cat /sys/class/net/eth0/address").stdout.strip()
    for target in (CORE_LINK_LOCAL, victim.facts["gateway6"]):
        assert victim.reaches(target)
        before = victim.run("ip -6 neigh show %s dev eth0" % target).stdout.split("lladdr ")[1].split()[0]
        dropped = guard_drops(switch, "IPv6 claiming a gateway")
        path, _ = attack(rogue, victim, first_hop.NEIGHBOUR_CLAIM % {"target": target}, "icmp6")
        assert captured(switch, path, "icmp6 and ip6[40] == 136 and ether src %s" % rogue_mac) == 0
        # Each of the six advertisements was dropped by one of the two rules (source, or target).
        assert guard_drops(switch, "IPv6 claiming a gateway") >= dropped + 6
        after = victim.run("ip -6 neigh show %s dev eth0" % target).stdout.split("lladdr ")[1].split()[0]
        assert after == before != rogue_mac, target
    assert victim.reaches(ISP_WEB6, 80)
