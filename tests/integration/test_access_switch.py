"""access_switch in the lab: the first-hop guards on the access ports (rogue DHCP servers and offers, a client claiming
the gateway's address, DHCP starvation from one port, by source MACs, by client MACs or through a relay's address)."""

import ipaddress
import json
import re
import time
from shlex import quote

import pytest

import first_hop
from conftest import SEGMENTS, forget_clients, lease, wait_until


def pcap_sources(switch_host, path, source):
    """How many DHCP server packets from ``source`` a capture holds."""
    return len(switch_host.run("tcpdump -n -r %s 'udp src port 67 and src host %s' 2>/dev/null" % (path, source))
               .stdout.splitlines())


def test_rogue_dhcp_server_on_an_access_port_answers_no_other_client(addressed_clients):
    # Two clients of one segment on one switch: the rogue and its would-be victim.
    rogue, victim = next((a, b) for a in addressed_clients for b in addressed_clients
                         if a is not b and (a.switch, a.office, a.segment) == (b.switch, b.office, b.segment))
    switch = rogue.switch_host
    prefix = ipaddress.ip_network(rogue.facts["prefix"])
    hosts = list(prefix.hosts())
    config = {"Dhcp4": {
        "interfaces-config": {"interfaces": ["eth0"]},
        "lease-database": {"type": "memfile", "persist": False},
        "subnet4": [{"subnet": str(prefix), "pools": [{"pool": "%s - %s" % (hosts[9], hosts[14])}],
                     "option-data": [{"name": "routers", "data": rogue.address}]}]}}
    switch.check_output("echo %s > /tmp/rogue-dhcp.json" % quote(json.dumps(config)))
    # Kea's pid and lock files go to /tmp: a switch runs no Kea service, so /run/kea does not exist.
    units = {"ktc-test-rogue-dhcp": "--setenv KEA_PIDFILE_DIR=/tmp --setenv KEA_LOCKFILE_DIR=/tmp "
                                    "ip netns exec %s kea-dhcp4 -c /tmp/rogue-dhcp.json" % rogue.namespace}
    for client in (rogue, victim):
        units["ktc-test-capture-" + client.namespace] = (
            "ip netns exec %s tcpdump -n -U -i eth0 -w /tmp/%s.pcap udp port 67 or udp port 68"
            % (client.namespace, client.namespace))
    captures = " ".join("/tmp/%s.pcap" % client.namespace for client in (rogue, victim))
    switch.run("rm -f %s" % captures)     # tcpdump drops its privileges: it cannot reopen an older capture
    try:
        for unit, command in units.items():
            switch.check_output("systemd-run --quiet --collect --unit %s %s" % (unit, command))
        assert wait_until(lambda: rogue.run("ss -nlu | grep -q ':67 '").rc == 0, 30), "the rogue server did not start"
        assert wait_until(lambda: switch.run("ls %s" % captures).rc == 0, 30), "the captures did not start"
        address = lease(victim)
        server = victim.run("grep dhcp-server-identifier /var/lib/dhcp/%s.leases | tail -1" % victim.namespace).stdout
        assert victim.facts["gateway"] in server, server
        assert ipaddress.ip_address(address) in prefix
        # The emulated switch may be slow: the rogue's offer can come after the gateway's lease is taken.
        assert wait_until(lambda: pcap_sources(switch, "/tmp/%s.pcap" % rogue.namespace, rogue.address) > 0, 30), \
            "the rogue server never answered the victim's request (the test proves nothing)"
    finally:
        switch.run("systemctl stop %s" % " ".join(units))
    # The rogue did answer (its capture holds its own replies) and none of them reached the victim.
    assert pcap_sources(switch, "/tmp/%s.pcap" % rogue.namespace, rogue.address) > 0
    assert pcap_sources(switch, "/tmp/%s.pcap" % victim.namespace, rogue.address) == 0
    assert pcap_sources(switch, "/tmp/%s.pcap" % victim.namespace, victim.facts["gateway"]) > 0
    # The guard counted the drops.
    assert re.search(r"counter packets [1-9]", switch.check_output("nft list table bridge ktc_switch"))


def bridge_vlans(switch_host, port):
    """The VLANs of a bridge port as `bridge -j vlan` reports them: {vid: flags}."""
    entries = json.loads(switch_host.check_output("bridge -j vlan show dev %s", port))
    return {vlan["vlan"]: sorted(vlan.get("flags", [])) for entry in entries for vlan in entry["vlans"]}


# --- First-hop security on the access ports: each attack is sent from one client, and the guard's own counter proves
# it was sent and dropped on the switch (so a quiet victim is not just a broken attack).
def guard_drops(switch_host, comment):
    """Packets the ktc_switch rule(s) with ``comment`` dropped."""
    rules = [line for line in switch_host.check_output("nft list chain bridge ktc_switch forward").splitlines()
             if 'comment "%s"' % comment in line]
    return sum(int(n) for line in rules for n in re.findall(r"counter packets (\d+)", line))


@pytest.fixture
def rogue_and_victim(addressed_clients):
    """Two clients of one segment on one switch, with a capture running on the victim's port."""
    return next((a, b) for a in addressed_clients for b in addressed_clients
                if a is not b and (a.switch, a.office, a.segment) == (b.switch, b.office, b.segment))


def attack(rogue, victim, script, capture_filter):
    """Run ``script`` (python3) in the rogue's namespace while the victim's port is captured; return the capture's
    path on the switch."""
    switch = rogue.switch_host
    path = "/tmp/victim-%s.pcap" % victim.namespace
    # tcpdump writes as its own user: a capture file left by an earlier run could not be reopened in sticky /tmp.
    switch.check_output("rm -f %s && systemd-run --quiet --collect --unit ktc-test-victim-capture ip netns exec %s "
                        "tcpdump -n -U -i eth0 -w %s %s" % (path, victim.namespace, path, quote(capture_filter)))
    try:
        time.sleep(2)
        assert switch.run("systemctl is-active -q ktc-test-victim-capture").rc == 0, "the victim's capture did not start"
        result = rogue.run("python3 -c %s" % quote(script))
        assert result.rc == 0, result.stderr
        time.sleep(2)
    finally:
        switch.run("systemctl stop ktc-test-victim-capture")
    return path, result.stdout


def captured(switch_host, path, expression):
    return len(switch_host.run("tcpdump -n -r %s %s 2>/dev/null" % (path, quote(expression))).stdout.splitlines())


# The rogue router advertisement and DHCPv6 server, with IPv6 running on the segments: tests/integration/test_ipv6.py.


def test_a_rogue_dhcp_offer_from_another_source_port_reaches_no_neighbour(rogue_and_victim):
    rogue, victim = rogue_and_victim
    dropped = guard_drops(rogue.switch_host, "rogue DHCPv4 server")
    path, _ = attack(rogue, victim, first_hop.DHCP_FROM_ODD_PORT, "udp")
    assert captured(rogue.switch_host, path, "udp dst port 9999 and src host %s" % rogue.address) > 0   # control
    assert captured(rogue.switch_host, path, "udp dst port 68 and src host %s" % rogue.address) == 0
    assert guard_drops(rogue.switch_host, "rogue DHCPv4 server") >= dropped + 3


def test_a_client_claiming_the_gateway_address_diverts_nobody(rogue_and_victim):
    rogue, victim = rogue_and_victim
    gateway = victim.facts["gateway"]
    assert victim.reaches(gateway)
    before = victim.run("ip neigh show %s dev eth0" % gateway).stdout.split("lladdr ")[1].split()[0]
    rogue_mac = rogue.run("cat /sys/class/net/eth0/address").stdout.strip()
    dropped = guard_drops(rogue.switch_host, "ARP claiming a gateway")
    path, _ = attack(rogue, victim, first_hop.ARP_CLAIM % {"gateway": gateway}, "arp")
    assert captured(rogue.switch_host, path, "arp and ether src %s" % rogue_mac) == 0
    after = victim.run("ip neigh show %s dev eth0" % gateway).stdout.split("lladdr ")[1].split()[0]
    assert after == before != rogue_mac
    assert victim.reaches(gateway)
    assert guard_drops(rogue.switch_host, "ARP claiming a gateway") >= dropped + 5


def test_one_port_asking_for_leases_for_random_macs_leaves_the_pool_serving(rogue_and_victim, core):
    """DHCP starvation from one access port, five ways, each at the port's DHCP rate limit (5 requests/s), which alone
    would let them empty a pool within minutes: 40 clients each from its own random MAC (the port's MAC limit), 40
    client MACs (chaddr) all from the port's own MAC (the port's DHCP client limit: the MAC limit alone let these
    through and Kea leased to each), 40 16-byte chaddrs starting with the port's MAC (dropped: Ethernet clients
    only), 40 client identifiers (option 61) with the port's own MAC (Kea knows a client by
    its MAC only, match-client-id off: before, it leased to each identifier), and requests carrying a relay's address
    (giaddr) of another segment, which Kea would answer from that segment's pool: dropped on the switch, none reaches
    core."""
    rogue, victim = rogue_and_victim
    switch = rogue.switch_host
    limit = 4   # access_switch_port_max_macs (defaults)
    original = victim.run("cat /sys/class/net/eth0/address").stdout.strip()
    other = next(f for f in SEGMENTS.values() if f["vlan"] != rogue.facts["vlan"])
    capture = "/tmp/relayed-dhcp.pcap"

    def starve(vary, count=40, interval=0.25, giaddr="0.0.0.0"):
        result = rogue.run("python3 -c %s" % quote(first_hop.DHCP_STARVATION % {
            "count": count, "interval": interval, "vary": vary, "giaddr": giaddr}))
        assert result.rc == 0, result.stderr
        offers, addresses = map(int, result.stdout.split()[-2:])
        print("DHCP starvation from one port, varying %s: %d of %d made-up clients got an offer, of %d addresses"
              % (vary, offers, count, addresses))
        return offers, addresses

    try:
        for guard, vary in (("MAC limit", "source"), ("DHCP client limit", "chaddr"),
                            ("DHCP request not from an Ethernet client", "hlen")):
            forget_clients(switch, rogue.port)
            dropped = guard_drops(switch, guard)
            assert starve(vary)[0] <= limit
            assert guard_drops(switch, guard) >= dropped + 40 - limit
        forget_clients(switch, rogue.port)
        offers, addresses = starve("client_id")
        assert offers > 0 and addresses == 1      # the control: Kea answers, with the one address of the port's MAC
        # Relayed: captured on core's interface of the rogue's segment, where Kea listens.
        core.check_output("rm -f %s && systemd-run --quiet --collect --unit ktc-test-relayed-capture tcpdump -n -U -i %s "
                          "-w %s 'udp dst port 67 and udp[32:4] != 0'" % (capture, rogue.facts["interface"], capture))
        assert wait_until(lambda: core.run("test -s %s" % capture).rc == 0, 30), "the capture on core did not start"
        forget_clients(switch, rogue.port)
        dropped = guard_drops(switch, "relayed DHCP request")
        starve("chaddr", count=20, interval=0.01, giaddr=other["gateway"])
        time.sleep(2)
        core.run("systemctl stop ktc-test-relayed-capture")
        assert core.check_output("tcpdump -n -r %s 2>/dev/null | wc -l" % capture) == "0"
        assert guard_drops(switch, "relayed DHCP request") >= dropped + 20
        # A new device on the neighbouring port still gets an address.
        assert ipaddress.ip_address(lease(victim, mac="02:00:00:00:5e:01")) in ipaddress.ip_network(victim.facts["prefix"])
    finally:
        core.run("systemctl stop ktc-test-relayed-capture; rm -f %s" % capture)
        # Both ports forget what they learned here: the tests that follow change MACs on these ports too (reservations).
        forget_clients(switch, rogue.port, victim.port)
        lease(victim, mac=original)
