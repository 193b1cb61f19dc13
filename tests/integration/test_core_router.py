"""core_router in the lab: VLAN interfaces from the ledger, forwarding, NAT, uplink failover."""

import ipaddress
import os

import pytest

from conftest import CORE_VARS, ISP_WEB, MODEL, REPO, SEGMENTS, isp, wait_until

PRIMARY = CORE_VARS["ktc_uplinks"][0]


@pytest.mark.parametrize("key", sorted(SEGMENTS), ids=["%s-%s" % k for k in sorted(SEGMENTS)])
def test_one_vlan_interface_per_segment_with_its_gateway(core, key):
    facts = SEGMENTS[key]
    trunk = next(t["interface"] for t in MODEL["core"]["trunks"] if t["vlans"].count(facts["vlan"]))
    details = core.check_output("ip -d -o addr show dev %s", facts["interface"])
    assert "inet %s " % facts["gateway_cidr"] in details
    link = core.check_output("ip -d -o link show dev %s", facts["interface"])
    assert "@%s:" % trunk in link and "vlan protocol 802.1Q id %d " % facts["vlan"] in link


def test_forwarding_and_anti_spoofing_are_on(core):
    assert core.sysctl("net.ipv4.ip_forward") == 1
    assert core.sysctl("net.ipv4.conf.all.rp_filter") == 1


def test_each_trunk_carries_only_the_vlans_of_the_segments_below_it(core):
    for trunk in MODEL["core"]["trunks"]:
        expected = {f["interface"] for f in trunk["segments"]}
        on_trunk = {line.split("@")[0].split(": ")[1] for line in
                    core.check_output("ip -o link show type vlan").splitlines()
                    if "@%s:" % trunk["interface"] in line}
        assert on_trunk - {"%s.10" % trunk["interface"], "probe"} == expected, trunk["switch"]


def test_offices_reach_the_internet_through_nat(addressed_clients):
    for client in addressed_clients:
        assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).stdout.startswith("ktc-lab isp"), client
    # The isp sees core's uplink address, never an office address.
    with open(os.path.join(REPO, ".lab", "run", "isp-web.log")) as handle:
        log = handle.read()
    assert "198.51.100." in log and "10.40." not in log


def nat_entries(core, address):
    """Connections in core's table NATed to ``address`` (an uplink's): not core's own, such as the monitor's pings."""
    listed = core.run("conntrack -L --reply-dst %s" % address)
    return [line for line in listed.stdout.splitlines() if line.strip() and " src=%s " % address not in line]


def test_failover_to_backup_uplink_when_primary_stops_answering(core, addressed_clients):
    """The default route moves to the backup uplink, and the connections NATed to the failed one leave the connection
    table (they would stall there with the old address), so new and retried connections work at once."""
    client = addressed_clients[0]
    assert core.check_output("cat /run/ktc/uplink") == "primary"
    # A connection through the primary uplink, still in the table (TIME_WAIT) when the uplink fails: the control.
    assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).rc == 0
    assert nat_entries(core, "198.51.100.2")
    # The primary's gateway stops answering, its link staying up (the failure only a probe sees): its address is
    # taken away in the isp namespace.
    gateway = "%s/%d" % (PRIMARY["gateway"], ipaddress.ip_interface(PRIMARY["address"]).network.prefixlen)
    try:
        assert isp("ip addr del %s dev ktc-primary" % gateway).returncode == 0
        assert wait_until(lambda: core.check_output("cat /run/ktc/uplink") == "backup", timeout=30)
        assert "default via 198.51.100.5 dev eth2" in core.check_output("ip route show default")
        assert nat_entries(core, "198.51.100.2") == []
        assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).rc == 0
    finally:
        isp("ip addr replace %s dev ktc-primary" % gateway)
    assert wait_until(lambda: core.check_output("cat /run/ktc/uplink") == "primary", timeout=30)
    assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).rc == 0
