"""access_switch in the lab: the rogue-DHCP guard, and a port moved to another segment from the inventory."""

import ipaddress
import json
import re
from shlex import quote

import pytest

from conftest import SWITCHES, converge, lease, wait_until


def pcap_sources(switch_host, path, source):
    """How many DHCP server packets from ``source`` a capture holds."""
    return len(switch_host.run("tcpdump -n -r %s 'udp src port 67 and src host %s' 2>/dev/null" % (path, source))
               .stdout.splitlines())


def test_rogue_dhcp_server_on_an_access_port_answers_no_other_client(addressed_clients):
    # Two clients of one segment on one switch: the rogue and its would-be victim.
    rogue, victim = next((a, b) for a in addressed_clients for b in addressed_clients
                         if a is not b and (a.switch, a.segment) == (b.switch, b.segment))
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
    try:
        for unit, command in units.items():
            switch.check_output("systemd-run --quiet --collect --unit %s %s" % (unit, command))
        assert wait_until(lambda: rogue.run("ss -nlu | grep -q ':67 '").rc == 0, 30), "the rogue server did not start"
        address = lease(victim)
        server = victim.run("grep dhcp-server-identifier /var/lib/dhcp/%s.leases | tail -1" % victim.namespace).stdout
        assert victim.facts["gateway"] in server, server
        assert ipaddress.ip_address(address) in prefix
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


def changed_on(output, host):
    """The changed count of ``host`` in the play recap (colour codes, if any, removed first)."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", output)
    return int(re.search(r"^%s\s+: ok=\d+\s+changed=(\d+)" % re.escape(host), plain, re.M).group(1))


@pytest.fixture
def moved_port(clients):
    """A port moved to another segment of its office through the inventory (extra vars); put back afterwards."""
    switch, host_vars = next((s, v) for s, v in sorted(SWITCHES.items()) if len(v["ktc_switch_access_ports"]) > 1)
    ports = host_vars["ktc_switch_access_ports"]
    source, target = sorted(ports)[-1], sorted(ports)[0]
    port = ports[source][-1]
    moved = {segment: [p for p in names if p != port] for segment, names in ports.items()}
    moved[target] = moved[target] + [port]
    moved = {segment: names for segment, names in moved.items() if names}
    client = next(c for c in clients if (c.switch, c.port) == (switch, port))
    yield switch, client, target, json.dumps({"ktc_switch_access_ports": moved})
    returncode, output = converge(switch, "{}")
    assert returncode == 0, output[-3000:]
    lease(client)  # back in its own segment for the tests that follow


def test_moving_a_port_moves_its_client_and_the_rerun_changes_nothing(moved_port, clients):
    switch, client, target, extra_vars = moved_port
    target_facts = next(c.facts for c in clients if c.office == client.office and c.segment == target)
    returncode, output = converge(switch, extra_vars)
    assert returncode == 0, output[-3000:]
    assert changed_on(output, switch) > 0
    # Untagged in the new VLAN only: the old segment's broadcasts must not leak onto the port.
    assert bridge_vlans(client.switch_host, client.port) == {target_facts["vlan"]: ["Egress Untagged", "PVID"]}
    address = lease(client)
    assert ipaddress.ip_address(address) in ipaddress.ip_network(target_facts["prefix"]), (client, address)
    returncode, output = converge(switch, extra_vars)
    assert returncode == 0 and changed_on(output, switch) == 0, output[-3000:]
