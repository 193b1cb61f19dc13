"""A pair of core servers in the inventory and the wiring model (issue "A core that survives its own failure"): both
hosts in core_routers, each with its own management address, wired alike (the same uplinks, the same ports to the
switch below, which has a link to each); the model gives each server its own addresses and priority, and the VRRP
instances both run. What cannot work is refused naming the host or switch, the field and the fix.

The pair is inventories/lab-pair (also rendered into the golden files of tests/render/lab-pair)."""

import copy
import os

import pytest
import yaml
from netaddr import IPAddress, IPNetwork

import ktc_inventory
import ktc_ipam
import ktc_site
import ktc_topology
from ktc_site import SiteError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PAIR = {"preferred": "core", "standby": "core2"}


def lab_pair():
    """(site, core, switches by name) of the lab wired with a pair, as playbooks/group_vars/all.yml reads them."""
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")) as handle:
        site = dict(yaml.safe_load(handle)["ktc_site"], cores=dict(PAIR))
    wiring = ktc_topology.wiring_from_inventory(*ktc_topology.read_static_inventory(
        os.path.join(REPO, "inventories", "lab-pair", "hosts.yml")))
    return site, wiring["core"], dict((switch["name"], switch) for switch in wiring["switches"])


def check(site, core, switches):
    ktc_inventory.validate_switches(ktc_site.validate_site(ktc_site.with_events(site, [])), list(switches.values()),
                                    [], core)


def refusal(change):
    site, core, switches = lab_pair()
    change(site, core, switches)
    with pytest.raises(SiteError) as caught:
        check(site, core, switches)
    return "\n".join(caught.value.errors)


def model(site=None, core=None, switches=None):
    """The wiring model of the pair, with the lab's ledger as the allocator completes it for the pair."""
    if site is None:
        site, core, switches = lab_pair()
    site = ktc_site.validate_site(site)
    with open(os.path.join(REPO, "inventories", "lab", "ipam.yml")) as handle:
        _site, ledger, _report = ktc_ipam.plan(site, ktc_ipam.load_ledger(handle.read()))
    return ktc_topology.build(site, ktc_ipam.segment_facts(site, ledger), core, list(switches.values()), (),
                              ktc_ipam.management_facts(site, ledger))


def test_the_lab_pair_is_accepted_and_the_lab_stays_one_core():
    site, core, switches = lab_pair()
    check(site, core, switches)
    assert [server["name"] for server in core["servers"]] == ["core", "core2"]
    assert ktc_topology.core_server_names(core) == ["core", "core2"]


def second(core):
    return core["servers"][1]


REFUSALS = [
    ("two hosts without ktc_site.cores", lambda s, c, w: s.pop("cores"),
     ["group core_routers: core and core2 are two hosts, and ktc_site.cores does not name them",
      "set ktc_site.cores to {preferred: core, standby: core2}"]),
    ("three hosts", lambda s, c, w: c["servers"].append(dict(second(c), name="core3", management_address="10.40.255.4")),
     ["group core_routers: core, core2, core3 are 3 hosts; core is one server or a pair"]),
    ("a host the pair does not name", lambda s, c, w: s.update(cores={"preferred": "core", "standby": "core-b"}),
     ["group core_routers: core2 is not of the pair ktc_site.cores names (core, core-b)"]),
    ("the preferred one alone", lambda s, c, w: c.update(servers=c["servers"][:1]),
     ["group core_routers: ktc_site.cores names the pair core and core2, and core2 is not a host of it",
      "Fix: add core2 to core_routers (cabled like core)"]),
    ("the preferred one alone, not of the pair",
     lambda s, c, w: (s.update(cores={"preferred": "core-a", "standby": "core-b"}), c.update(servers=c["servers"][:1])),
     ["group core_routers: core is not of the pair ktc_site.cores names (core-a, core-b)"]),
    ("a server on the management gateway", lambda s, c, w: c.update(management_address="10.40.255.1"),
     ["host core: ktc_management_address 10.40.255.1 is taken by the pair's management gateway",
      "give each core server an address of its own in 10.40.255.0/24, such as 10.40.255.2 and 10.40.255.3"]),
    ("both servers on one address", lambda s, c, w: second(c).update(management_address="10.40.255.2"),
     ["host core2: ktc_management_address 10.40.255.2 is taken by core"]),
    ("a switch on the management gateway", lambda s, c, w: w["sw-bkpsdm"].update(management_address="10.40.255.1"),
     ["switch sw-bkpsdm: ktc_management_address 10.40.255.1 is taken by the pair's management gateway"]),
    ("uplinks that differ", lambda s, c, w: second(c).update(uplinks=[dict(u, interface="eth9") if u["name"] == "backup"
                                                                      else u for u in c["uplinks"]]),
     ["host core2: ktc_uplinks differ from core's", "give both the same ktc_uplinks"]),
    ("a bad uplink on the second", lambda s, c, w: second(c).update(uplinks=[dict(c["uplinks"][0], address="x")]),
     ["host core2: ktc_uplinks names ['primary']", "host core2: ktc_uplinks[primary].address 'x'"]),
    ("no link to the standby", lambda s, c, w: w["sw-diskominfo"].update(uplink_standby=None, uplink_standby_bond=None),
     ["switch sw-diskominfo: it hangs off core, and core is a pair (core and core2)",
      "the standby server would have no trunk to it", "cable the same port(s) of core2 (eth3, eth4)"]),
    ("a standby link of one port for a bond of two", lambda s, c, w: w["sw-diskominfo"].update(uplink_standby=["eth4"]),
     ["switch sw-diskominfo: ktc_switch_uplink_standby names 1 port(s) and ktc_parent_port 2"]),
    ("both bonds one name", lambda s, c, w: w["sw-diskominfo"].update(uplink_standby_bond="bond0"),
     ["switch sw-diskominfo: ktc_switch_uplink_standby_bond and ktc_switch_uplink_bond are both bond0"]),
    ("a standby bond without a name", lambda s, c, w: w["sw-diskominfo"].update(uplink_standby_bond=None),
     ["switch sw-diskominfo: ktc_switch_uplink_standby_bond None"]),
    ("the standby link on an access port", lambda s, c, w: w["sw-diskominfo"].update(uplink_standby=["swp3", "eth5"]),
     ["switch sw-diskominfo port swp3: given to the uplink to the standby core and to services"]),
    ("the standby link on the uplink", lambda s, c, w: w["sw-diskominfo"].update(uplink_standby=["eth2", "eth5"]),
     ["switch sw-diskominfo: ktc_switch_uplink_standby names eth2, which is already the uplink"]),
    ("a standby link below another switch", lambda s, c, w: w["sw-bkpsdm"].update(uplink_standby="eth5"),
     ["switch sw-bkpsdm: ktc_switch_uplink_standby is the link to the standby core server, and only a switch whose "
      "parent is a pair of core servers"]),
]


@pytest.mark.parametrize("change, expected", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_a_pair_that_cannot_work_is_refused_naming_the_field_and_the_fix(change, expected):
    message = refusal(change)
    for words in expected:
        assert words in message, message


def test_a_standby_link_without_a_pair_is_refused():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")) as handle:
        site = yaml.safe_load(handle)["ktc_site"]
    wiring = ktc_topology.wiring_from_inventory(*ktc_topology.read_static_inventory(
        os.path.join(REPO, "inventories", "lab", "hosts.yml")))
    by_name = dict((switch["name"], switch) for switch in wiring["switches"])
    by_name["sw-diskominfo"].update(uplink_standby=["eth4", "eth5"], uplink_standby_bond="bond1")
    with pytest.raises(SiteError) as caught:
        check(site, wiring["core"], by_name)
    assert "only a switch whose parent is a pair of core servers (ktc_site.cores) has one. Fix: remove it, or name " \
           "the pair in ktc_site.cores" in "\n".join(caught.value.errors)


def test_each_server_has_its_own_addresses_and_both_share_the_gateways():
    built = model()
    core, pair = built["core"], built["core"]["pair"]
    assert (pair["preferred"], pair["standby"], pair["management_gateway"]) == ("core", "core2", "10.40.255.1")
    first, other = pair["servers"]["core"], pair["servers"]["core2"]
    assert (first["ready_priority"], other["ready_priority"]) == \
        (ktc_topology.PRIORITY_PREFERRED, ktc_topology.PRIORITY_STANDBY)
    assert first["priority"] > other["priority"] and first["preferred"] and not other["preferred"]
    assert (first["peer"], first["peer_management_address"], other["peer_management_address"]) == \
        ("core2", "10.40.255.3", "10.40.255.2")
    # Each accepts VRRP adverts from the other's own addresses: management's first, then one per segment.
    assert first["peer_own_addresses"] == other["own_addresses"] and other["peer_own_addresses"] == first["own_addresses"]
    assert other["own_addresses"] == ["10.40.255.3"] + [segment["core_addresses"]["core2"] for segment in core["segments"]]
    for segment in core["segments"]:
        own = [IPNetwork(server["addresses"][segment["interface"]]) for server in (first, other)]
        # Each server's own address is the ledger's, in the segment, with its prefix length; never the gateway.
        assert [str(net.ip) for net in own] == [segment["core_addresses"]["core"], segment["core_addresses"]["core2"]]
        assert all(net.cidr == IPNetwork(segment["prefix"]) and str(net.ip) != segment["gateway"] for net in own)
    assert sorted(first["addresses"]) == sorted(segment["interface"] for segment in core["segments"])


def test_every_gateway_and_the_uplinks_move_together_in_one_instance_per_segment_and_one_for_management():
    built = model()
    core, instances = built["core"], built["core"]["pair"]["instances"]
    management = instances[0]
    assert management["name"] == "management" and management["interface"] == "br-mgmt" and management["vrid"] == 10
    assert management["addresses"] == [{"address": "10.40.255.1/24", "interface": "br-mgmt"}]
    # The public addresses (both families) move with management's instance; IPv6 management too.
    assert {"address": "198.51.100.2/30", "interface": "eth1"} in management["excluded"]
    assert {"address": "2001:db8:ffff:2::2/64", "interface": "eth2"} in management["excluded"]
    assert {"address": core["management"]["gateway6_cidr"], "interface": "br-mgmt"} in management["excluded"]
    by_interface = dict((instance["interface"], instance) for instance in instances[1:])
    assert sorted(by_interface) == sorted(segment["interface"] for segment in core["segments"])
    for segment in core["segments"]:
        instance = by_interface[segment["interface"]]
        assert instance["vrid"] == ktc_topology.vrid(segment["vlan"])
        assert instance["addresses"] == [{"address": segment["gateway_cidr"], "interface": segment["interface"]}]
        assert [item["address"] for item in instance["excluded"]] == [segment["gateway6_cidr"], "fe80::1/64"]
    # Names keepalived reads, one instance per name.
    assert len(set(instance["name"] for instance in instances)) == len(instances)
    # What keepalived moves, in one list (networkd's live check leaves these alone): every address of every instance.
    moving = built["core"]["moving"]
    assert len(moving) == sum(len(i["addresses"]) + len(i["excluded"]) for i in instances)
    assert {"address": "10.40.255.1/24", "interface": "br-mgmt"} in moving
    assert {"address": "198.51.100.6/30", "interface": "eth2"} in moving


@pytest.mark.parametrize("vlan, expected", [(1, 1), (10, 10), (255, 255), (256, 1), (899, 134), (4094, 14)])
def test_vrids_are_the_vlan_ids_folded_into_the_vrrp_range(vlan, expected):
    assert ktc_topology.vrid(vlan) == expected


def test_the_backbone_switch_trunks_to_both_servers_and_trusts_both_links():
    built = model()
    switch = built["switches"]["sw-diskominfo"]
    assert switch["upward"] == ["bond0", "bond1"]
    uplinks = [link for link in switch["trunks"] if link["kind"] == "uplink"]
    assert [(link["interface"], link["members"]) for link in uplinks] == [("bond0", ["eth1", "eth2"]),
                                                                         ("bond1", ["eth4", "eth5"])]
    assert uplinks[0]["vlans"] == uplinks[1]["vlans"] == switch["vlans"]
    assert [bond["interface"] for bond in switch["bonds"]] == ["bond0", "bond1"]
    # Core's side is one trunk (the same ports on both servers); switches further down have one uplink.
    assert [trunk["interface"] for trunk in built["core"]["trunks"]] == ["bond0"]
    assert built["switches"]["sw-dukcapil"]["upward"] == ["eth1"]


def test_a_parent_naming_either_server_is_the_pair():
    site, core, switches = lab_pair()
    switches["sw-diskominfo"]["parent"] = "core2"
    check(site, core, switches)
    assert model(site, core, switches) == model()


def test_one_core_has_no_pair_and_its_model_is_unchanged():
    site, core, switches = lab_pair()
    site.pop("cores")
    core = dict(core, servers=core["servers"][:1])
    for switch in switches.values():
        switch.update(uplink_standby=None, uplink_standby_bond=None)
    built = model(site, core, switches)
    assert built["core"]["pair"] is None and built["core"]["moving"] == []
    assert built["switches"]["sw-diskominfo"]["upward"] == ["bond0"]


def test_the_pair_model_is_the_same_whatever_the_order_of_core_routers():
    site, core, switches = lab_pair()
    swapped = dict(second(core), servers=[second(core), core["servers"][0]])
    first, other = model(), model(site, swapped, copy.deepcopy(switches))
    assert first["core"]["pair"]["servers"] == other["core"]["pair"]["servers"]
    assert first["core"]["pair"]["instances"] == other["core"]["pair"]["instances"]
    assert IPAddress(first["core"]["pair"]["management_gateway"]) == IPNetwork("10.40.255.0/24").network + 1


def _effective(server, ready, uplinks_down=0, uplink_weight=30):
    """keepalived's effective priority: configured priority + readiness file value x its weight - lost uplinks,
    limited to 1-254."""
    weight = model()["core"]["pair"]["ready_weight"]
    return max(1, min(254, server["priority"] + ready * weight - uplinks_down * uplink_weight))


@pytest.mark.parametrize("preferred, standby, holder", [
    # (readiness file value, uplink ports down) of each server, and who holds the gateways.
    ((1, 0), (1, 0), "core"),        # both converged: the preferred one
    ((0, 0), (1, 0), "core2"),       # the preferred one came back and has not been converged: it waits
    ((0, 0), (0, 0), "core"),        # both came back (a power cut of the building): the preferred one serves at once
    ((-1, 0), (1, 0), "core2"),      # the preferred one freed for maintenance
    ((-1, 0), (0, 0), "core2"),      # ... also while the other waits for its converge
    ((1, 2), (1, 0), "core2"),       # the preferred one lost both uplinks
    ((1, 1), (1, 0), "core"),        # one uplink lost: the monitor moves the route on the same server
    ((1, 0), (-1, 0), "core"),       # the standby freed for maintenance changes nothing
])
def test_readiness_and_uplinks_decide_which_server_holds_the_gateways(preferred, standby, holder):
    servers = model()["core"]["pair"]["servers"]
    first = _effective(servers["core"], *preferred)
    other = _effective(servers["core2"], *standby)
    # A tie would leave it to the addresses (VRRP); the model never makes one.
    assert first != other
    assert ("core" if first > other else "core2") == holder

