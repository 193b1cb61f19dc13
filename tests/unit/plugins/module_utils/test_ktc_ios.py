"""Unit tests of the Cisco IOS model: port lists and ranges, VLAN lists as IOS prints them, unused ports."""

import pytest

import ktc_ios

SITE = {"management": {"vlan": 10, "prefix": "10.40.255.0/24"}}
STAFF, WIFI = ({"office": "setda", "segment": "staff", "vlan": 101}, {"office": "setda", "segment": "wifi", "vlan": 102})


def link(interface, segments, switch="sw-setda", members=None):
    """One end of a trunk as the wiring model gives it (a bond when it has several member ports)."""
    return {"switch": switch, "interface": interface, "segments": segments, "members": members or [interface],
            "bond": members is not None}


# A switch as the wiring model gives it: its uplink towards core carries its two segments.
SWITCH = {"name": "sw-setda", "office": "setda", "depth": 1, "parent": "core", "management_address": "10.40.255.11",
          "uplink": link("GigabitEthernet1/0/1", [STAFF, WIFI]), "downlinks": [],
          "uplinks": [link("GigabitEthernet1/0/1", [STAFF, WIFI])],
          "access": [dict(STAFF, name="Gi1/0/2"), dict(WIFI, name="GigabitEthernet1/0/3")],
          "ports": ["GigabitEthernet1/0/1-4"]}


@pytest.mark.parametrize("vlans, printed", [
    ([101], "101"), ([102, 101], "101,102"), ([101, 102, 103], "101-103"), ([105, 101, 103, 102], "101-103,105"),
    ([10, 20, 21, 22, 30, 31], "10,20-22,30,31"), ([], ""),
])
def test_vlan_lists_are_written_as_ios_prints_them(vlans, printed):
    assert ktc_ios.vlan_list(vlans) == printed


@pytest.mark.parametrize("name, canonical", [
    ("Gi1/0/2", "GigabitEthernet1/0/2"), ("gigabitethernet1/0/2", "GigabitEthernet1/0/2"),
    ("Te1/1/1", "TenGigabitEthernet1/1/1"), ("Po1", "Port-channel1"), ("Vlan10", "Vlan10"),
])
def test_abbreviated_port_names_are_one_port(name, canonical):
    assert ktc_ios.canonical(name) == canonical


def test_port_ranges_expand_and_bad_ranges_are_named():
    assert ktc_ios.expand_ports(["GigabitEthernet1/0/1-3", "TenGigabitEthernet1/1/1"]) == (
        ["GigabitEthernet1/0/1", "GigabitEthernet1/0/2", "GigabitEthernet1/0/3", "TenGigabitEthernet1/1/1"], [])
    assert ktc_ios.expand_ports(["Gi1/0/9-2"])[1] == ["range 'Gi1/0/9-2' must go upwards and hold at most 128 ports"]


def test_only_ports_nobody_uses_are_parked_and_the_parking_vlan_is_on_no_trunk():
    config = ktc_ios.switch_config(SITE, SWITCH, "10.40.255.1", 4, 1800, 5)
    parked = [entry["name"] for entry in config["l2_interfaces"] if entry.get("access", {}).get("vlan") == 999]
    # Gi1/0/2 is in the port map abbreviated: it is the same port as GigabitEthernet1/0/2, so it is not parked.
    assert parked == ["GigabitEthernet1/0/4"]
    trunk = next(entry for entry in config["l2_interfaces"] if entry["name"] == "GigabitEthernet1/0/1")
    assert trunk["trunk"]["allowed_vlans"] == ["10", "101", "102"]
    assert [vlan["vlan_id"] for vlan in config["vlans"]] == [10, 101, 102, 999]
    assert "ip dhcp snooping vlan 101,102" in config["guard_global"]
    assert sorted(config["guard_interfaces"]) == ["Gi1/0/2", "GigabitEthernet1/0/1", "GigabitEthernet1/0/3"]
    assert "switchport port-security aging time 30" in config["guard_interfaces"]["Gi1/0/2"]


def test_a_switch_using_every_port_has_no_parking_vlan():
    config = ktc_ios.switch_config(dict(SITE, parking_vlan=950), dict(SWITCH, ports=["GigabitEthernet1/0/1-3"]),
                                   "10.40.255.1", 4, 1800, 5)
    assert [vlan["vlan_id"] for vlan in config["vlans"]] == [10, 101, 102]


def test_a_daisy_chained_switch_trunks_to_its_parent_and_to_its_child():
    """Behind another switch, serving a second office on one port, with a switch hanging below it."""
    other = {"office": "dukcapil", "segment": "staff", "vlan": 103}
    below = {"office": "bkpsdm", "segment": "staff", "vlan": 104}
    switch = dict(SWITCH, depth=2, parent="sw-backbone", ports=["GigabitEthernet1/0/1-6"],
                  access=SWITCH["access"] + [dict(other, name="GigabitEthernet1/0/4")],
                  uplink=link("GigabitEthernet1/0/1", [STAFF, WIFI, other, below]),
                  uplinks=[link("GigabitEthernet1/0/1", [STAFF, WIFI, other, below])],
                  downlinks=[link("GigabitEthernet1/0/6", [below], switch="sw-annex")])
    config = ktc_ios.switch_config(SITE, switch, "10.40.255.1", 4, 1800, 5)
    l2 = {entry["name"]: entry for entry in config["l2_interfaces"]}
    assert l2["GigabitEthernet1/0/1"]["trunk"]["allowed_vlans"] == ["10", "101", "102", "103", "104"]
    assert l2["GigabitEthernet1/0/6"] == {"name": "GigabitEthernet1/0/6", "mode": "trunk", "nonegotiate": True,
                                          "trunk": {"allowed_vlans": ["10", "104"]}}
    assert l2["GigabitEthernet1/0/4"]["access"] == {"vlan": 103}
    descriptions = {entry["name"]: entry["description"] for entry in config["interfaces"]}
    assert descriptions["GigabitEthernet1/0/1"] == "trunk to sw-backbone"
    assert descriptions["GigabitEthernet1/0/6"] == "trunk to sw-annex"
    assert descriptions["GigabitEthernet1/0/4"] == "dukcapil/staff"
    # The downlink is neither parked nor an access port: ARP from below is trusted (the child inspects its own
    # ports), DHCP replies from below are not.
    assert config["guard_interfaces"]["GigabitEthernet1/0/6"] == ["ip arp inspection trust"]
    assert [p for p, entry in l2.items() if entry.get("access", {}).get("vlan") == 999] == ["GigabitEthernet1/0/5"]
    assert "ip dhcp snooping vlan 101-104" in config["guard_global"]


def test_a_bonded_uplink_and_downlink_are_lacp_port_channels_whose_members_carry_the_same_trunk():
    below = {"office": "bkpsdm", "segment": "staff", "vlan": 104}
    switch = dict(SWITCH, ports=["GigabitEthernet1/0/1-8"], access=[dict(STAFF, name="Gi1/0/3"), dict(WIFI, name="Gi1/0/4")],
                  uplink=link("Port-channel1", [STAFF, WIFI, below], members=["Gi1/0/1", "Gi1/0/2"]),
                  uplinks=[link("Port-channel1", [STAFF, WIFI, below], members=["Gi1/0/1", "Gi1/0/2"])],
                  downlinks=[link("Port-channel2", [below], switch="sw-annex", members=["Gi1/0/7", "Gi1/0/8"])])
    config = ktc_ios.switch_config(SITE, switch, "10.40.255.1", 4, 1800, 5)
    assert config["lag_interfaces"] == [
        {"name": "Port-channel1", "members": [{"member": "Gi1/0/1", "mode": "active"},
                                               {"member": "Gi1/0/2", "mode": "active"}]},
        {"name": "Port-channel2", "members": [{"member": "Gi1/0/7", "mode": "active"},
                                               {"member": "Gi1/0/8", "mode": "active"}]}]
    l2 = {entry["name"]: entry for entry in config["l2_interfaces"]}
    for name in ("Port-channel1", "Gi1/0/1", "Gi1/0/2"):
        assert l2[name]["mode"] == "trunk" and l2[name]["trunk"]["allowed_vlans"] == ["10", "101", "102", "104"]
    for name in ("Port-channel2", "Gi1/0/7", "Gi1/0/8"):
        assert l2[name]["trunk"]["allowed_vlans"] == ["10", "104"]
    # Members are neither parked nor guarded as access ports; the trust goes on the port-channel.
    assert [p for p, entry in l2.items() if entry.get("access", {}).get("vlan") == 999] == [
        "GigabitEthernet1/0/5", "GigabitEthernet1/0/6"]
    assert config["guard_interfaces"]["Port-channel1"] == ["ip dhcp snooping trust", "ip arp inspection trust"]
    assert config["guard_interfaces"]["Port-channel2"] == ["ip arp inspection trust"]
    assert "Gi1/0/1" not in config["guard_interfaces"] and "Gi1/0/7" not in config["guard_interfaces"]


def test_below_a_pair_of_core_servers_both_uplinks_are_trusted_trunks():
    """The backbone switch of a pair of core servers: a link to each, the second labelled as the standby's; DHCP
    replies and ARP are trusted on both, as on one uplink."""
    switch = dict(SWITCH, ports=["GigabitEthernet1/0/1-4"],
                  uplinks=[link("GigabitEthernet1/0/1", [STAFF, WIFI]), link("GigabitEthernet1/0/4", [STAFF, WIFI])])
    config = ktc_ios.switch_config(SITE, switch, "10.40.255.1", 4, 1800, 5)
    descriptions = {entry["name"]: entry["description"] for entry in config["interfaces"]}
    assert descriptions["GigabitEthernet1/0/1"] == "trunk to core"
    assert descriptions["GigabitEthernet1/0/4"] == "trunk to core (standby)"
    l2 = {entry["name"]: entry for entry in config["l2_interfaces"]}
    assert l2["GigabitEthernet1/0/4"]["trunk"]["allowed_vlans"] == ["10", "101", "102"]
    for port in ("GigabitEthernet1/0/1", "GigabitEthernet1/0/4"):
        assert config["guard_interfaces"][port] == ["ip dhcp snooping trust", "ip arp inspection trust"]
    # Neither is parked: the switch has no unused port.
    assert [vlan["vlan_id"] for vlan in config["vlans"]] == [10, 101, 102]
