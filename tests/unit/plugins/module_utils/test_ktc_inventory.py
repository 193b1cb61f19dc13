"""Unit tests of the wiring validator: core's uplinks and management address, the switches' names, ports, addresses
and core ports, and the ports events take. Each refusal names the host, the field and the fix."""

import os

import pytest
import yaml

import ktc_inventory
import ktc_site
import ktc_topology
from ktc_site import SiteError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
EVENT = {"name": "cat-asn-1", "office": "bkpsdm", "clients": 40, "reserved_mbit": 3, "switch": "sw-bkpsdm",
         "ports": ["swp1"], "starts": "2026-12-01 07:00", "ends": "2026-12-03 17:00"}


def lab():
    """The lab's site model and its wiring as playbooks/group_vars/all.yml hands it to ktc_site_validate."""
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")) as handle:
        site = yaml.safe_load(handle)["ktc_site"]
    wiring = ktc_topology.wiring_from_inventory(*ktc_topology.read_static_inventory(
        os.path.join(REPO, "inventories", "lab", "hosts.yml")))
    return site, wiring["core"], wiring["switches"]


def check(site, core, switches, events=()):
    ktc_inventory.validate_switches(ktc_site.validate_site(ktc_site.with_events(site, list(events))), switches,
                                    list(events), core)


def refusal(change, events=()):
    site, core, switches = lab()
    by_name = {s["name"]: s for s in switches}
    change(site, core, by_name)
    with pytest.raises(SiteError) as caught:
        check(site, core, switches, events)
    return "\n".join(caught.value.errors)


def test_the_lab_and_an_event_on_a_declared_port_pass():
    site, core, switches = lab()
    check(site, core, switches)
    check(site, core, switches, [EVENT])


def cisco(switch, **change):
    """Make a lab switch a Catalyst with 28 ports (uplink Gi1/0/1); ``change`` overrides its fields."""
    switch.update(dict(dict(platform="cisco_ios", uplink="GigabitEthernet1/0/1",
                            access_ports={"staff": ["Gi1/0/2", "GigabitEthernet1/0/3"]},
                            ports=["GigabitEthernet1/0/1-24", "GigabitEthernet1/1/1-4"]), **change))


def wire(switch, parent, port, bond=None, uplink=None, uplink_bond=None):
    """Hang ``switch`` off ``parent`` on ``port`` (a list: an LACP bond named ``bond``)."""
    switch.update(core_port=None, parent=parent, parent_port=port, parent_bond=bond,
                  uplink=uplink or switch["uplink"], uplink_bond=uplink_bond)


def test_a_tree_with_a_bond_a_daisy_chain_and_a_switch_serving_two_offices_passes():
    site, core, switches = lab()
    by_name = {s["name"]: s for s in switches}
    wire(by_name["sw-diskominfo"], "core", ["eth3", "eth4"], bond="bond0", uplink=["eth1", "eth2"], uplink_bond="bond0")
    wire(by_name["sw-dukcapil"], "sw-diskominfo", "swp9")
    wire(by_name["sw-bkpsdm"], "sw-dukcapil", "swp9")
    by_name["sw-bkpsdm"]["access_ports"] = {"staff": ["swp1"], "dukcapil/staff": ["swp2"]}
    check(site, core, switches)
    check(site, core, switches, [dict(EVENT, office="dukcapil", ports=["swp2"])])


def test_a_cisco_switch_listing_its_ports_passes_with_the_default_parking_vlan():
    site, core, switches = lab()
    cisco(next(s for s in switches if s["name"] == "sw-bkpsdm"))
    check(site, core, switches)


REFUSALS = [
    ("unknown office", lambda s, c, w: w["sw-bkpsdm"].update(office="dispar"),
     ["switch sw-bkpsdm: ktc_office 'dispar' is not an office"]),
    ("port map naming an unknown segment", lambda s, c, w: w["sw-bkpsdm"].update(access_ports={"lab": ["swp1"]}),
     ["names segment 'lab', which office bkpsdm does not have"]),
    ("uplink as an access port", lambda s, c, w: w["sw-bkpsdm"].update(access_ports={"staff": ["swp1", "eth1"]}),
     ["switch sw-bkpsdm port eth1: given to the uplink and to staff; a port holds one thing"]),
    ("port on two segments", lambda s, c, w: w["sw-dukcapil"].update(access_ports={"staff": ["swp1"], "wifi": ["swp1"]}),
     ["switch sw-dukcapil port swp1: given to staff and to wifi; a port holds one thing"]),
    ("port with shell code", lambda s, c, w: w["sw-bkpsdm"].update(access_ports={"staff": ["swp1$(reboot)"]}),
     ["switch sw-bkpsdm: ktc_switch_access_ports.staff: port 'swp1$(reboot)' is not a Linux interface name"]),
    ("port name longer than Linux allows", lambda s, c, w: w["sw-bkpsdm"].update(access_ports={"staff": ["s" * 16]}),
     ["port 'ssssssssssssssss' is 16 characters long; Linux interface names have at most 15"]),
    ("uplink port with a newline", lambda s, c, w: w["sw-bkpsdm"].update(uplink="eth1\nx"),
     ["switch sw-bkpsdm: ktc_switch_uplink 'eth1\\nx' is not a Linux interface name"]),
    # re.match with $ accepts one newline at the end: every grammar matches the whole value.
    ("uplink port with a newline at its end", lambda s, c, w: w["sw-bkpsdm"].update(uplink="eth1\n"),
     ["switch sw-bkpsdm: ktc_switch_uplink 'eth1\\n' is not a Linux interface name"]),
    ("host name with a newline at its end", lambda s, c, w: w["sw-bkpsdm"].update(name="sw-bkpsdm\n"),
     ["is not a host name"]),
    ("Linux port name on a Cisco switch", lambda s, c, w: w["sw-bkpsdm"].update(platform="cisco_ios", uplink="Gi1/0/48",
                                                                               access_ports={"staff": ["swp1"]}),
     ["port 'swp1' is not an IOS interface name"]),
    ("host name with a space", lambda s, c, w: w["sw-bkpsdm"].update(name="sw bkpsdm"),
     ["the inventory host name 'sw bkpsdm' is not a host name"]),
    ("duplicate management address", lambda s, c, w: w["sw-bkpsdm"].update(management_address="10.40.255.11"),
     ["switch sw-bkpsdm: ktc_management_address 10.40.255.11 is taken by sw-diskominfo"]),
    ("switch at core's management address", lambda s, c, w: w["sw-bkpsdm"].update(management_address="10.40.255.1"),
     ["switch sw-bkpsdm: ktc_management_address 10.40.255.1 is taken by core"]),
    ("management address outside the prefix", lambda s, c, w: w["sw-bkpsdm"].update(management_address="10.40.1.12"),
     ["switch sw-bkpsdm: ktc_management_address 10.40.1.12 is not a host address of the management prefix"]),
    ("management address is the broadcast", lambda s, c, w: c.update(management_address="10.40.255.255"),
     ["host core: ktc_management_address 10.40.255.255 is not a host address"]),
    ("duplicate core port", lambda s, c, w: wire(w["sw-bkpsdm"], "core", "eth3"),
     ["switch sw-bkpsdm: ktc_parent_port eth3 of core also holds the link of sw-diskominfo; one port holds one link"]),
    ("core port that is an uplink", lambda s, c, w: wire(w["sw-bkpsdm"], "core", "eth1"),
     ["switch sw-bkpsdm: ktc_parent_port eth1 is one of core's uplinks"]),
    ("core port too long for its management VLAN device",
     lambda s, c, w: wire(w["sw-bkpsdm"], "core", "enp129s0f1np1"),
     ["makes core's management VLAN device enp129s0f1np1.10, longer than the 15 characters"]),
    ("uplink interface with shell code", lambda s, c, w: c["uplinks"][0].update(interface="eth1`id`"),
     ["host core: ktc_uplinks[primary].interface 'eth1`id`' is not a Linux interface name"]),
    ("uplinks not matching the site model", lambda s, c, w: c["uplinks"].pop(),
     ["host core: ktc_uplinks names ['primary']; ktc_site.uplinks has ['primary', 'backup']"]),
    ("uplink gateway outside its prefix", lambda s, c, w: c["uplinks"][0].update(gateway="192.0.2.1"),
     ["ktc_uplinks[primary].gateway '192.0.2.1' is not another address of 198.51.100.0/30"]),
    ("uplink IPv6 gateway without an address", lambda s, c, w: c["uplinks"][0].pop("address6"),
     ["ktc_uplinks[primary].address6 None is not an IPv6 host address", "give both address6 and gateway6, or neither"]),
    ("uplink IPv6 address without a length", lambda s, c, w: c["uplinks"][0].update(address6="2001:db8:ffff:1::2"),
     ["ktc_uplinks[primary].address6 '2001:db8:ffff:1::2' is not an IPv6 host address"]),
    ("uplink IPv6 address with a newline", lambda s, c, w: c["uplinks"][0].update(address6="2001:db8:ffff:1::2/64\n"),
     ["ktc_uplinks[primary].address6"]),
    ("uplink IPv6 address in the site's prefix", lambda s, c, w: c["uplinks"][0].update(address6="2001:db8:40:ff::2/64",
                                                                                         gateway6="2001:db8:40:ff::1"),
     ["ktc_uplinks[primary].address6 2001:db8:40:ff::2/64 overlaps ktc_site.ipv6.prefix 2001:db8:40::/48"]),
    ("uplink IPv6 link too wide", lambda s, c, w: c["uplinks"][0].update(address6="2001:db8:ffff::2/40",
                                                                           gateway6="2001:db8:ffff::1"),
     ["ktc_uplinks[primary].address6 2001:db8:ffff::2/40: a link's prefix length is 64..127"]),
    ("uplink IPv6 address written oddly", lambda s, c, w: c["uplinks"][0].update(address6="2001:db8:ffff:1::2/+64"),
     ["ktc_uplinks[primary].address6 '2001:db8:ffff:1::2/+64' is not written the usual way. Fix: write "
      "2001:db8:ffff:1::2/64"]),
    ("uplink IPv6 gateway in upper case", lambda s, c, w: c["uplinks"][1].update(gateway6="FE80::1"),
     ["ktc_uplinks[backup].gateway6 'FE80::1' is not written the usual way. Fix: write fe80::1"]),
    ("uplink IPv6 address link-local", lambda s, c, w: c["uplinks"][0].update(address6="fe80::2/64"),
     ["ktc_uplinks[primary].address6 fe80::2/64 is not a global or unique local address"]),
    ("uplink IPv6 gateway off the link", lambda s, c, w: c["uplinks"][0].update(gateway6="2001:db8:fffe::1"),
     ["ktc_uplinks[primary].gateway6 '2001:db8:fffe::1' is not another address of 2001:db8:ffff:1::/64 nor a "
      "link-local"]),
    ("uplink IPv6 gateway with shell code", lambda s, c, w: c["uplinks"][1].update(gateway6="fe80::1;reboot"),
     ["ktc_uplinks[backup].gateway6 'fe80::1;reboot'"]),
    ("IOS VLAN 1002-1005 in the pool on a site with Cisco",
     lambda s, c, w: (s.update(vlan_pool={"first": 1000, "last": 1100}),
                      w["sw-bkpsdm"].update(platform="cisco_ios", uplink="Gi1/0/48", access_ports={"staff": ["Gi1/0/1"]})),
     ["ktc_site.vlan_pool: 1000..1100 holds VLAN(s) 1002, 1003, 1004, 1005, which Cisco IOS keeps"]),
    ("management VLAN 1 on a site with Cisco",
     lambda s, c, w: (s["management"].update(vlan=1), w["sw-bkpsdm"].update(platform="cisco_ios", uplink="Gi1/0/48",
                                                                              access_ports={"staff": ["Gi1/0/1"]})),
     ["ktc_site.management.vlan"]),
    ("Cisco switch without its port list", lambda s, c, w: cisco(w["sw-bkpsdm"], ports=None),
     ["switch sw-bkpsdm: ktc_switch_ports must list every port of the switch"]),
    ("Cisco access port missing from the port list",
     lambda s, c, w: cisco(w["sw-bkpsdm"], access_ports={"staff": ["GigabitEthernet1/0/30"]}),
     ["switch sw-bkpsdm: ktc_switch_access_ports.staff names GigabitEthernet1/0/30, which is not in ktc_switch_ports"]),
    ("Cisco uplink missing from the port list", lambda s, c, w: cisco(w["sw-bkpsdm"], uplink="TenGigabitEthernet1/1/1"),
     ["switch sw-bkpsdm: ktc_switch_uplink names TenGigabitEthernet1/1/1, which is not in ktc_switch_ports"]),
    ("Cisco port range going downwards", lambda s, c, w: cisco(w["sw-bkpsdm"], ports=["GigabitEthernet1/0/24-1"]),
     ["switch sw-bkpsdm: ktc_switch_ports: range 'GigabitEthernet1/0/24-1' must go upwards"]),
    ("Cisco port listed twice, once abbreviated",
     lambda s, c, w: cisco(w["sw-bkpsdm"], ports=["GigabitEthernet1/0/1-24", "Gi1/0/24"]),
     ["switch sw-bkpsdm: ktc_switch_ports names Gi1/0/24 twice"]),
    ("Cisco port list with shell code", lambda s, c, w: cisco(w["sw-bkpsdm"], ports=["GigabitEthernet1/0/1-24", "x;reboot"]),
     ["switch sw-bkpsdm: ktc_switch_ports: port 'x;reboot' is not an IOS interface name"]),
    # The wiring as a tree: parents, ports, bonds (ktc_topology.check_wiring).
    ("unknown parent", lambda s, c, w: wire(w["sw-bkpsdm"], "sw-nowhere", "swp9"),
     ["switch sw-bkpsdm: ktc_parent 'sw-nowhere' is neither core (core) nor a switch of the inventory"]),
    ("loop", lambda s, c, w: (wire(w["sw-bkpsdm"], "sw-dukcapil", "swp9"), wire(w["sw-dukcapil"], "sw-bkpsdm", "swp9")),
     ["switch sw-bkpsdm: its ktc_parent chain is a loop (sw-bkpsdm -> sw-dukcapil -> sw-bkpsdm); no path reaches it "
      "from core"]),
    ("two links on one port of a switch", lambda s, c, w: (wire(w["sw-bkpsdm"], "sw-dukcapil", "swp9"),
                                                           wire(w["sw-diskominfo"], "sw-dukcapil", "swp9")),
     ["switch sw-bkpsdm: ktc_parent_port swp9 of sw-dukcapil also holds the link of sw-diskominfo; one port holds one "
      "link"]),
    ("a link on an access port of the parent", lambda s, c, w: wire(w["sw-bkpsdm"], "sw-dukcapil", "swp2"),
     ["switch sw-bkpsdm: ktc_parent_port swp2 of sw-dukcapil is already wifi there"]),
    ("parent missing", lambda s, c, w: w["sw-bkpsdm"].update(core_port=None, parent=None, parent_port=None),
     ["switch sw-bkpsdm: ktc_parent is missing"]),
    ("bond without a name", lambda s, c, w: wire(w["sw-bkpsdm"], "core", ["eth4", "eth6"], uplink=["eth1", "eth2"]),
     ["switch sw-bkpsdm: ktc_parent_bond None must be an interface name. Fix: name the bond the ports eth4, eth6 form "
      "on core"]),
    ("Cisco bond that is no port-channel", lambda s, c, w: (
        cisco(w["sw-bkpsdm"]), wire(w["sw-bkpsdm"], "sw-dukcapil", ["swp3", "swp4"], bond="bond1",
                                    uplink=["GigabitEthernet1/0/1", "GigabitEthernet1/0/2"], uplink_bond="bond0")),
     ["switch sw-bkpsdm: ktc_switch_uplink_bond 'bond0' is not an IOS port-channel such as Port-channel1"]),
    ("bond of two ports to one uplink port", lambda s, c, w: wire(w["sw-bkpsdm"], "core", ["eth4", "eth6"], bond="bond0"),
     ["switch sw-bkpsdm: ktc_switch_uplink names 1 port(s) and ktc_parent_port 2"]),
    ("bond member used twice", lambda s, c, w: wire(w["sw-bkpsdm"], "core", ["eth4", "eth3"], bond="bond0",
                                                    uplink=["eth1", "eth2"], uplink_bond="bond0"),
     ["ktc_parent_port eth3 of core also holds the link of sw-diskominfo"]),
    ("port map naming an unknown office", lambda s, c, w: w["sw-bkpsdm"].update(access_ports={"dispar/staff": ["swp1"]}),
     ["switch sw-bkpsdm: ktc_switch_access_ports.dispar/staff names office 'dispar', which ktc_site does not have"]),
    ("port map naming another office's unknown segment",
     lambda s, c, w: w["sw-bkpsdm"].update(access_ports={"staff": ["swp1"], "dukcapil/lab": ["swp2"]}),
     ["names segment 'lab', which office dukcapil does not have (it has: staff, wifi)"]),
    ("parking VLAN inside the VLAN pool", lambda s, c, w: (s.update(parking_vlan=150), cisco(w["sw-bkpsdm"])),
     ["ktc_site.parking_vlan: 150 is inside vlan_pool"]),
    ("parking VLAN is management's", lambda s, c, w: (s.update(parking_vlan=10), cisco(w["sw-bkpsdm"])),
     ["ktc_site.parking_vlan: 10 is the management VLAN"]),
    ("parking VLAN IOS keeps", lambda s, c, w: (s.update(parking_vlan=1002), cisco(w["sw-bkpsdm"])),
     ["ktc_site.parking_vlan: 1002 is not a VLAN ID Cisco IOS lets us use"]),
]


@pytest.mark.parametrize("change, expected", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusal_names_the_host_the_field_and_the_fix(change, expected):
    message = refusal(change)
    for words in expected:
        assert words in message


def test_vlans_ios_keeps_are_fine_on_a_site_without_cisco():
    site, core, switches = lab()
    site["vlan_pool"] = {"first": 1000, "last": 1100}
    check(site, core, switches)


@pytest.mark.parametrize("event, expected", [
    (dict(EVENT, switch="sw-dukcapil"), "event cat-asn-1.switch: sw-dukcapil serves office dukcapil, not bkpsdm"),
    (dict(EVENT, switch="sw-nowhere"), "event cat-asn-1.switch: 'sw-nowhere' is not an access switch"),
    (dict(EVENT, ports=["swp7"]), "event cat-asn-1.ports: 'swp7' is not an access port of sw-bkpsdm (it has: swp1, swp2)"),
    (dict(EVENT, ports=["eth1"]), "event cat-asn-1.ports: 'eth1' is not an access port of sw-bkpsdm"),
])
def test_an_event_takes_only_ports_its_switch_declares(event, expected):
    message = refusal(lambda s, c, w: None, [event])
    assert expected in message


def test_two_events_cannot_take_one_port():
    message = refusal(lambda s, c, w: None, [dict(EVENT, reserved_mbit=1), dict(EVENT, name="cat-asn-2", reserved_mbit=1)])
    assert "event cat-asn-2.ports: swp1 of sw-bkpsdm is already taken by event cat-asn-1" in message


def test_every_problem_is_reported_at_once():
    message = refusal(lambda s, c, w: (wire(w["sw-bkpsdm"], "core", "eth3"), c.update(management_address="x")))
    assert len(message.splitlines()) >= 2


def test_the_lab_core_is_the_one_core_server():
    _site, core, _switches = lab()
    assert ktc_topology.core_server_names(core) == ["core"]
    # A pair of core servers: tests/unit/plugins/module_utils/test_ktc_topology_core_pair.py.
