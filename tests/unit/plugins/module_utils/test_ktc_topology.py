"""Unit tests of the wiring model: which segments every trunk carries, on the lab, production and generated trees."""

import copy
import os
import random

import pytest
import yaml

import ktc_ipam
import ktc_site
import ktc_topology
from ktc_site import SiteError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def inventory(env):
    """(site, segment facts, core, switches) of a committed inventory, read the way wiring_from_inventory reads it."""
    base = os.path.join(REPO, "inventories", env)
    hostvars, groups = ktc_topology.read_static_inventory(os.path.join(base, "hosts.yml"))
    with open(os.path.join(base, "group_vars", "all", "site.yml")) as handle:
        site = ktc_site.validate_site(yaml.safe_load(handle)["ktc_site"])
    with open(os.path.join(base, "ipam.yml")) as handle:
        facts = ktc_ipam.segment_facts(site, yaml.safe_load(handle))
    wiring = ktc_topology.wiring_from_inventory(hostvars, groups)
    return site, facts, wiring["core"], wiring["switches"]


def subtree_vlans(model, name):
    switch = model["switches"][name]
    vlans = {a["vlan"] for a in switch["access"]}
    for link in switch["downlinks"]:
        vlans |= subtree_vlans(model, link["switch"])
    return vlans


def assert_trunks_carry_exactly_their_subtree(model):
    for trunk in model["core"]["trunks"]:
        assert set(trunk["vlans"]) == subtree_vlans(model, trunk["switch"]), trunk["switch"]
    for name, switch in model["switches"].items():
        assert set(switch["vlans"]) == subtree_vlans(model, name) == set(switch["uplink"]["vlans"]), name
        for link in switch["downlinks"]:
            assert set(link["vlans"]) == subtree_vlans(model, link["switch"]), (name, link["switch"])


@pytest.mark.parametrize("env", ["lab", "production"])
def test_the_committed_inventories_each_trunk_carrying_its_subtree(env):
    site, facts, core, switches = inventory(env)
    model = ktc_topology.build(site, facts, core, switches)
    assert sorted(model["switches"]) == sorted(s["name"] for s in switches)
    assert_trunks_carry_exactly_their_subtree(model)
    # Every port of the inventory's port maps is an access port of the model, in the VLAN of its segment.
    vlan = {(f["office"], f["segment"]): f["vlan"] for f in facts}
    for switch in switches:
        expected = sorted((port, vlan[(key.rpartition("/")[0] or switch["office"], key.rpartition("/")[2])])
                          for key, ports in (switch["access_ports"] or {}).items() for port in ports)
        assert sorted((a["name"], a["vlan"]) for a in model["switches"][switch["name"]]["access"]) == expected


def lab_tree():
    """The lab as committed: core bonded to sw-diskominfo (the NOC's backbone), sw-dukcapil behind it, sw-bkpsdm
    daisy-chained behind sw-dukcapil and also serving a Dukcapil port."""
    return inventory("lab")


def test_a_tree_with_a_bond_and_a_daisy_chain():
    site, facts, core, switches = lab_tree()
    model = ktc_topology.build(site, facts, core, switches)
    (trunk,) = model["core"]["trunks"]
    assert trunk["interface"] == "bond0" and trunk["members"] == ["eth3", "eth4"] and trunk["bond"]
    assert set(trunk["vlans"]) == {f["vlan"] for f in facts}
    # Core serves every segment, in site order (the order Kea and the templates print).
    assert [f["segment"] for f in trunk["segments"]] == [f["segment"] for f in facts]
    assert model["order"] == ["sw-diskominfo", "sw-dukcapil", "sw-bkpsdm"]
    assert model["switches"]["sw-bkpsdm"]["depth"] == 3
    vlan = {(f["office"], f["segment"]): f["vlan"] for f in facts}
    assert model["switches"]["sw-bkpsdm"]["vlans"] == sorted([vlan[("bkpsdm", "staff")], vlan[("dukcapil", "staff")]])
    (down,) = model["switches"]["sw-diskominfo"]["downlinks"]
    assert down["switch"] == "sw-dukcapil" and down["interface"] == "eth3"
    assert set(down["vlans"]) == {vlan[("dukcapil", "staff")], vlan[("dukcapil", "wifi")], vlan[("bkpsdm", "staff")]}
    assert model["switches"]["sw-diskominfo"]["uplink"]["interface"] == "bond0"
    assert_trunks_carry_exactly_their_subtree(model)


def lab_with_event():
    """The lab tree with an open event (3 Mbit/s reserved) on sw-bkpsdm's swp2: (site, facts, core, switches, event)."""
    site, facts, core, switches = lab_tree()
    event = {"name": "cat-asn-1", "office": "dukcapil", "clients": 40, "reserved_mbit": 3, "switch": "sw-bkpsdm",
             "ports": ["swp2"], "starts": "", "ends": ""}
    site = ktc_site.validate_site(ktc_site.with_events(site, [event]))
    ledger, _ = ktc_ipam.allocate(site, yaml.safe_load(open(os.path.join(REPO, "inventories", "lab", "ipam.yml"))))
    return site, ktc_ipam.segment_facts(site, ledger), core, switches, event


def test_an_open_event_moves_its_ports_and_is_carried_up_to_core():
    site, facts, core, switches, event = lab_with_event()
    model = ktc_topology.build(site, facts, core, switches, [event])
    event_vlan = next(f["vlan"] for f in facts if f["kind"] == "event")
    assert {"name": "swp2", "office": "dukcapil", "segment": "cat-asn-1", "vlan": event_vlan} \
        in model["switches"]["sw-bkpsdm"]["access"]
    assert event_vlan in model["core"]["trunks"][0]["vlans"]
    assert event_vlan in model["switches"]["sw-diskominfo"]["downlinks"][0]["vlans"]
    assert_trunks_carry_exactly_their_subtree(model)


def test_a_segment_below_two_of_cores_trunks_is_refused():
    site, facts, core, switches = inventory("lab")
    by_name = {s["name"]: s for s in switches}
    by_name["sw-dukcapil"].update(parent="core", parent_port="eth5")
    by_name["sw-bkpsdm"].update(parent="core", parent_port="eth6")
    with pytest.raises(SiteError) as caught:
        ktc_topology.build(site, facts, core, switches)
    assert "segment dukcapil/staff: it has access ports below sw-bkpsdm and below sw-dukcapil, two of core's trunks" \
        in "\n".join(caught.value.errors)


def test_planned_switches_are_in_the_model_and_carry_nothing():
    site, facts, core, switches = inventory("production")
    model = ktc_topology.build(site, facts, core, switches)
    assert model["planned"] and all(model["switches"][name]["planned"] for name in model["planned"])
    served = {office for switch in model["switches"].values() for office in switch["offices"]}
    assert served == {office["id"] for office in site["offices"]}, "every office of production is reached"
    for name in model["planned"]:
        assert model["switches"][name]["access"] == [] and model["switches"][name]["vlans"] == []
    annex = model["switches"]["sw-setda-annex"]
    assert annex["parent"] == "sw-setda" and annex["depth"] == 3


def generated(offices=300, switches=100, seed=7):
    """A site of ``offices`` offices and a three-level tree of ``switches`` switches: core bonded to one backbone,
    buildings below it, floors below the buildings; offices spread over the switches, some on two."""
    rng = random.Random(seed)
    site = {"name": "generated", "domain": "ktc.example.go.id", "address_pool": "10.0.0.0/8",
            "vlan_pool": {"first": 100, "last": 3999}, "management": {"vlan": 10, "prefix": "10.255.255.0/24"},
            "uplinks": [{"name": "primary", "bandwidth_mbit": 100000}], "services": [], "offices": []}
    for index in range(offices):
        site["offices"].append({"id": "o%03d" % index, "name": "Office %d" % index,
                                "bandwidth": {"guaranteed_mbit": 1, "ceiling_mbit": 100},
                                "segments": [{"name": "staff", "hosts": rng.randint(5, 120)},
                                             {"name": "wifi", "hosts": 60, "kind": "guest"}]})
    site = ktc_site.validate_site(site)
    ledger, _ = ktc_ipam.allocate(site, ktc_ipam.empty_ledger())
    facts = ktc_ipam.segment_facts(site, ledger)
    names = ["sw-%03d" % index for index in range(switches)]
    tree = [{"name": names[0], "platform": "linux_bridge", "parent": "core", "parent_port": ["eth2", "eth3"],
             "parent_bond": "bond0", "uplink": ["eth0", "eth1"], "uplink_bond": "bond0", "access_ports": {}}]
    buildings = names[1:21]
    for index, name in enumerate(buildings):
        tree.append({"name": name, "platform": "linux_bridge", "parent": names[0], "parent_port": "swp%d" % (index + 1),
                     "uplink": "eth0", "access_ports": {}})
    for index, name in enumerate(names[21:]):
        tree.append({"name": name, "platform": "linux_bridge", "parent": buildings[index % 20],
                     "parent_port": "swp%d" % (100 + index // 20), "uplink": "eth0", "access_ports": {}})
    for index, office in enumerate(site["offices"]):
        homes = [tree[1 + index % (switches - 1)]] + ([tree[1 + (index * 7) % (switches - 1)]] if index % 5 == 0 else [])
        for number, switch in enumerate(homes):
            switch["access_ports"]["%s/staff" % office["id"]] = ["p%d-%d" % (index, number)]
            switch["access_ports"]["%s/wifi" % office["id"]] = ["w%d-%d" % (index, number)]
    return site, facts, {"name": "core", "uplinks": [{"name": "primary", "interface": "eth0"}]}, tree


def test_a_generated_three_level_tree_of_300_offices():
    site, facts, core, switches = generated()
    model = ktc_topology.build(site, facts, core, switches)
    assert max(s["depth"] for s in model["switches"].values()) == 3
    assert len(model["core"]["segments"]) == 600
    assert_trunks_carry_exactly_their_subtree(model)
    # An office on two switches: one segment, one VLAN, on both.
    office = site["offices"][5]["id"]
    homes = [s for s in model["switches"].values() if any(a["office"] == office for a in s["access"])]
    assert len(homes) == 2 and len({a["vlan"] for s in homes for a in s["access"]
                                    if (a["office"], a["segment"]) == (office, "staff")}) == 1


def test_the_model_is_the_same_whatever_the_inventory_order():
    site, facts, core, switches = generated(60, 30)
    first = ktc_topology.build(site, facts, core, switches)
    shuffled = copy.deepcopy(switches)
    random.Random(1).shuffle(shuffled)
    assert ktc_topology.build(site, facts, core, shuffled) == first


def test_a_change_below_a_switch_converges_its_way_to_core():
    """Onboarding an office or opening an event converges its switches and every switch on their way to core: each
    trunk there carries the new VLANs."""
    base = os.path.join(REPO, "inventories", "lab", "hosts.yml")
    wiring = ktc_topology.wiring_from_inventory(*ktc_topology.read_static_inventory(base))
    assert wiring["paths"]["sw-bkpsdm"] == ["sw-bkpsdm", "sw-dukcapil", "sw-diskominfo"]
    assert wiring["office_switches"]["dukcapil"] == ["sw-bkpsdm", "sw-diskominfo", "sw-dukcapil"]
    assert wiring["office_switches"]["diskominfo"] == ["sw-diskominfo"]
    production = ktc_topology.wiring_from_inventory(*ktc_topology.read_static_inventory(
        os.path.join(REPO, "inventories", "production", "hosts.yml")))
    # A planned switch is never converged: its offices have no switch to converge yet.
    assert "setwan" not in production["office_switches"]
    assert production["paths"]["sw-setda-annex"] == ["sw-setda-annex", "sw-setda", "sw-diskominfo"]


def test_the_shaper_gives_each_office_and_event_its_class_scaled_to_each_uplink():
    site, facts, core, switches, event = lab_with_event()
    model = ktc_topology.build(site, facts, core, switches, [event])["core"]
    primary, backup = model["shaping"]
    assert model["shaping_marks"][-1]["kind"] == "event" and len(model["shaping_marks"]) == len(facts)
    # The lab's ISP on the primary routes the site's IPv6 prefix; the backup's would drop it untranslated.
    assert model["translated6"] == [uplink["interface"] for uplink in core["uplinks"] if uplink["name"] == "backup"]
    assert (primary["total_kbit"], backup["total_kbit"], backup["scale"]) == (10000, 5000, 0.5)
    # The event's 3 Mbit/s are reserved: the offices share the rest of each uplink.
    assert (primary["offices_kbit"], backup["offices_kbit"]) == (7000, 3500)
    classes = dict((item["name"], item) for item in backup["classes"])
    assert (classes["diskominfo"]["rate_kbit"], classes["diskominfo"]["ceil_kbit"]) == (1500, 3500)
    assert (classes["dukcapil/cat-asn-1"]["rate_kbit"], classes["dukcapil/cat-asn-1"]["ceil_kbit"]) == (1500, 5000)
    # The event's class hangs off the root, the offices' off 1:3; the shaper keeps each class at its parent.
    assert (classes["dukcapil/cat-asn-1"]["parent"], classes["diskominfo"]["parent"]) == ("1:1", "1:3")
    assert backup["placements"][:3] == ["1:1@root", "1:3@1:1", "1:2@1:3"]
    assert "1:%s@1:1" % classes["dukcapil/cat-asn-1"]["minor"] in backup["placements"]
    assert "1:%s@1:3" % classes["diskominfo"]["minor"] in backup["placements"]
    assert sorted(item["minor"] for item in primary["classes"]) == sorted(set(f["shaping_class"] for f in facts))
