"""The lab as the real KTC is wired (a bonded backbone, a daisy chain, an office on two switches, a switch serving
two offices), tested on the devices: every trunk carries exactly the VLANs of the segments below it, a bond survives
a cut member, and an office spread over two switches is one segment."""

import ipaddress
import json
import os
import time
from shlex import quote

import first_hop
from conftest import CORE_NAME, ISP_WEB, LINKS, MODEL, REPO, SITE, lease, set_link, vm, wait_until

MANAGEMENT_VLAN = SITE["management"]["vlan"]


def bridge_vlans(host):
    """{port: set of VLAN ids} of the host's bridge."""
    return {entry["ifname"]: {vlan["vlan"] for vlan in entry["vlans"]}
            for entry in json.loads(host.check_output("bridge -j vlan show"))}


def test_every_trunk_and_port_of_every_switch_carries_exactly_what_is_below_it():
    for name, switch in MODEL["switches"].items():
        found = bridge_vlans(vm(name))
        for link in [switch["uplink"]] + switch["downlinks"]:
            assert found[link["interface"]] == {MANAGEMENT_VLAN} | set(link["vlans"]), (name, link["interface"])
        for port in switch["access"]:
            assert found[port["name"]] == {port["vlan"]}, (name, port["name"])


def capture(host, interface, expression, action):
    """Run ``action`` while capturing on ``interface`` of ``host``; return how many packets matched."""
    path = "/tmp/ktc-topology.pcap"
    host.check_output("rm -f %s && systemd-run --quiet --collect --unit ktc-test-topology-capture tcpdump -n -U -i %s "
                      "-w %s %s", path, interface, path, expression)
    try:
        assert wait_until(lambda: host.run("test -s %s" % path).rc == 0 or host.run(
            "systemctl is-active -q ktc-test-topology-capture").rc == 0, 10)
        time.sleep(2)
        action()
        time.sleep(2)
    finally:
        host.run("systemctl stop ktc-test-topology-capture")
    return len(host.run("tcpdump -n -r %s 2>/dev/null" % path).stdout.splitlines())


def test_a_frame_tagged_with_a_vlan_not_below_a_trunk_is_dropped_at_its_parent():
    """From each switch below the backbone, an ARP request is sent up its uplink tagged with a segment's VLAN that is not
    below it (dropped by the parent: core never sees it) and with one that is (core sees it: the control)."""
    core = vm(CORE_NAME)
    by_vlan = {f["vlan"]: f for trunk in MODEL["core"]["trunks"] for f in trunk["segments"]}
    for name, switch in MODEL["switches"].items():
        if switch["depth"] < 2:
            continue
        below = set(switch["vlans"])
        outside = sorted(set(by_vlan) - below)
        assert outside and below, name
        host = vm(name)
        for vlan, expected in ((outside[0], False), (sorted(below)[0], True)):
            facts = by_vlan[vlan]
            sender = str(ipaddress.ip_network(facts["prefix"]).broadcast_address - 1)

            def send():
                result = host.run("python3 -c %s" % quote(first_hop.TAGGED_ARP % {
                    "interface": switch["uplink"]["interface"], "vlan": vlan, "sender": sender,
                    "target": facts["gateway"]}))
                assert result.rc == 0, result.stderr
            seen = capture(core, facts["interface"], "arp and ether src 02:%02x:%02x:00:00:00" % (vlan >> 8, vlan & 255),
                           send)
            assert (seen > 0) == expected, "%s: VLAN %d (%s/%s) reached core %d times" % (
                name, vlan, facts["office"], facts["segment"], seen)


def tx_bytes(host, interface):
    return int(host.check_output("cat /sys/class/net/%s/statistics/tx_bytes", interface))


def test_cutting_one_bond_member_keeps_a_running_download_going(addressed_clients):
    """A client behind the backbone downloads from the isp while the bond member carrying the download is cut (both
    ends lose the link, as a pulled cable); the download completes, whole."""
    (trunk,) = [t for t in MODEL["core"]["trunks"] if t["bond"]]
    switch = MODEL["switches"][trunk["switch"]]
    client = next(c for c in addressed_clients if c.switch != trunk["switch"] and c.facts["kind"] == "office")
    www = os.path.join(REPO, ".lab", "isp", "www")
    size = 6 * 1000 * 1000
    with open(os.path.join(www, "big.bin"), "wb") as handle:
        handle.write(os.urandom(size))
    core = vm(CORE_NAME)
    host = client.switch_host
    host.run("rm -f /tmp/ktc-download.out; systemctl reset-failed ktc-test-download 2>/dev/null")
    download = "curl -s -o /dev/null -m 120 -w '%{http_code} %{size_download}' http://" + ISP_WEB + "/big.bin"
    host.check_output("systemd-run --quiet --collect --unit ktc-test-download ip netns exec %s sh -c %s",
                      client.namespace, download + " > /tmp/ktc-download.out")
    before = {member: tx_bytes(core, member) for member in trunk["members"]}
    time.sleep(2)
    busy = max(trunk["members"], key=lambda member: tx_bytes(core, member) - before[member])
    peer = switch["uplink"]["members"][trunk["members"].index(busy)]
    set_link(CORE_NAME, busy, False)
    set_link(trunk["switch"], peer, False)
    try:
        assert wait_until(lambda: host.run("systemctl is-active -q ktc-test-download").rc != 0, 120)
        # Still running when the member went: the cut happened during the download.
        result = host.run("cat /tmp/ktc-download.out").stdout.split()
        assert result == ["200", str(size)], result
    finally:
        set_link(CORE_NAME, busy, True)
        set_link(trunk["switch"], peer, True)
        os.unlink(os.path.join(www, "big.bin"))
    # The cut member joins the bond again (LACP), so the next test starts from two.
    assert wait_until(lambda: core.run("cat /proc/net/bonding/%s" % trunk["interface"]).stdout.count(
        "MII Status: up") == len(trunk["members"]) + 1, 60)


def test_an_office_on_two_switches_is_one_segment_with_one_pool(clients):
    """Clients of one segment on two switches get leases from the same subnet and reach each other directly."""
    by_segment = {}
    for client in clients:
        by_segment.setdefault((client.office, client.segment), set()).add(client.switch)
    key = next(k for k, switches in sorted(by_segment.items()) if len(switches) > 1)
    first, second = [next(c for c in clients if (c.office, c.segment) == key and c.switch == s)
                     for s in sorted(by_segment[key])]
    prefix = ipaddress.ip_network(first.facts["prefix"])
    addresses = [lease(first), lease(second)]
    assert all(ipaddress.ip_address(a) in prefix for a in addresses) and addresses[0] != addresses[1], addresses
    assert first.reaches(addresses[1]) and second.reaches(addresses[0])
    assert first.run("ip route show default").stdout.split()[2] == second.run("ip route show default").stdout.split()[2]


def test_links_of_the_lab_are_the_model_s():
    """The lab wires what the inventory says: a bonded backbone and a daisy chain (the shapes the tests above need)."""
    assert any(parent == CORE_NAME and interface.startswith("bond") for parent, interface, _, _ in LINKS)
    assert max(switch["depth"] for switch in MODEL["switches"].values()) >= 3
    assert any(len(switch["offices"]) > 1 for switch in MODEL["switches"].values())
