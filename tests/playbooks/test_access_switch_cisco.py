"""access_switch on a cisco_ios switch, rendered on the controller (state rendered): no device, no SSH library.

The expected commands are derived from the inventory, the site model and the ledger the playbook is given, never
copied from the output: a role that ignored the ledger, or a ledger other than the one rendered, fails them.
"""

import ipaddress
import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO

PRODUCTION = os.path.join(REPO, "inventories", "production")
SWITCH = "sw-setda"


def load_yaml(*path):
    with open(os.path.join(*path)) as handle:
        return yaml.safe_load(handle)


def switch_vars(name):
    """The switch's variables from the production inventory (its group's vars, then its own)."""
    group = load_yaml(PRODUCTION, "hosts.yml")["all"]["children"]["access_switches"]["children"]["cisco_access_switches"]
    return dict(group["vars"], **group["hosts"][name])


def core_management_address():
    core = load_yaml(PRODUCTION, "hosts.yml")["all"]["children"]["core_routers"]["hosts"]["core-ktc"]
    return core["ktc_management_address"]


def render(tmp_path, ledger_path, inventory=PRODUCTION):
    """Run tests/playbooks/cisco_rendered.yml for the switch; return its access_switch_ios_commands."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1",
               # network_cli's per-host sockets, away from ~/.ansible and from a run next to this one.
               ANSIBLE_PERSISTENT_CONTROL_PATH_DIR=str(tmp_path / "pc"))
    completed = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), "--limit", SWITCH, "-e", "ktc_ledger_path=%s" % ledger_path,
         os.path.join(REPO, "tests", "playbooks", "cisco_rendered.yml")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    data = json.loads(completed.stdout[completed.stdout.index("{"):])
    found = [task["hosts"][SWITCH] for play in data["plays"] for task in play["tasks"]
             if task["task"]["name"] == "access_switch : Show the commands" and SWITCH in task["hosts"]]
    assert found, "the role printed no commands for %s" % SWITCH
    return found[-1]["access_switch_ios_commands"]


def blocks(commands):
    """{interface: [its commands]} from a rendered list of `interface X` followed by its commands."""
    result = {}
    current = None
    for line in commands:
        if line.startswith("interface "):
            current = line.split(" ", 1)[1]
            assert current not in result, "interface %s rendered twice" % current
            result[current] = []
        else:
            assert current is not None, "command %r outside an interface" % line
            result[current].append(line)
    return result


def vlan_list(text):
    """IOS VLAN list (10,101-103) to a list of ints."""
    vlans = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        vlans.extend(range(int(first), int(last or first) + 1))
    return vlans


def expected(ledger):
    """What the switch's configuration must be, from the inventory, the site model and ``ledger``."""
    switch = switch_vars(SWITCH)
    office = switch["ktc_office"]
    site = load_yaml(PRODUCTION, "group_vars", "all", "site.yml")["ktc_site"]
    management = ipaddress.ip_network(site["management"]["prefix"])
    segments = [segment["name"] for o in site["offices"] if o["id"] == office for segment in o["segments"]]
    vlan_of = dict((segment, ledger["offices"][office][segment]["vlan"]) for segment in segments)
    all_ports = []
    for spec in switch["ktc_switch_ports"]:
        stem, _, numbers = spec.rpartition("/")
        first, _, last = numbers.partition("-")
        all_ports += ["%s/%d" % (stem, number) for number in range(int(first), int(last or first) + 1)]
    # The switches hanging off this one (production: a planned annex, which serves nothing yet): trunks, not parked.
    hosts = load_yaml(PRODUCTION, "hosts.yml")["all"]["children"]
    children = {}
    for group in (hosts["planned_switches"], hosts["access_switches"]["children"]["cisco_access_switches"],
                  hosts["access_switches"]["children"]["linux_access_switches"]):
        for name, values in group["hosts"].items():
            if values.get("ktc_parent") == SWITCH:
                children[values["ktc_parent_port"]] = (name, name in hosts["planned_switches"]["hosts"])
    named = set(port for ports in switch["ktc_switch_access_ports"].values() for port in ports) | {switch["ktc_switch_uplink"]} \
        | set(children)
    role_defaults = load_yaml(REPO, "roles", "access_switch", "defaults", "main.yml")
    return {
        "office": office,
        "unused": [port for port in all_ports if port not in named],
        "parking_vlan": site.get("parking_vlan", 999),
        "max_macs": role_defaults["access_switch_port_max_macs"],
        "aging_min": -(-role_defaults["access_switch_port_mac_timeout_s"] // 60),
        "dhcp_rate": role_defaults["access_switch_port_dhcp_per_s"],
        "uplink": switch["ktc_switch_uplink"],
        "parent": switch["ktc_parent"],
        "downlinks": children,
        "ports": dict((port, segment) for segment, ports in switch["ktc_switch_access_ports"].items() for port in ports),
        "vlan_of": vlan_of,
        "segments": segments,
        "management_vlan": site["management"]["vlan"],
        "svi": "Vlan%d" % site["management"]["vlan"],
        "address": "ip address %s %s" % (switch["ktc_management_address"], management.netmask),
        "gateway": str(management.network_address + 1),
    }


def check(commands, want):
    """Assert the rendered commands are exactly what ``want`` (from expected()) says."""
    # VLANs: management and each of the office's segments, named, active and not shut down, in that order.
    vlan_commands = []
    for vlan, name in [(want["management_vlan"], "management")] + \
            [(want["vlan_of"][segment], "%s-%s" % (want["office"], segment)) for segment in want["segments"]]:
        vlan_commands += ["vlan %d" % vlan, "name %s" % name, "state active", "no shutdown"]
    # And the parking VLAN of the unused ports, suspended (it forwards nothing).
    vlan_commands += ["vlan %d" % want["parking_vlan"], "name parking", "state suspend", "no shutdown"]
    assert commands["vlans"] == vlan_commands

    # Access ports: mode access in their segment's VLAN, nothing else; the trunk: exactly management and the office's VLANs.
    # Every port: no DTP. Unused ports: access ports of the parking VLAN.
    l2 = blocks(commands["l2_interfaces"])
    assert set(l2) == set(want["ports"]) | {want["uplink"]} | set(want["unused"]) | set(want["downlinks"])
    assert want["downlinks"], "the sample switch has a switch hanging off it"
    for port, (child, planned) in want["downlinks"].items():
        # A planned switch has no ports yet: its trunk carries management only.
        assert planned and sorted(l2[port]) == ["switchport mode trunk", "switchport nonegotiate",
                                                "switchport trunk allowed vlan %d" % want["management_vlan"]], port
    assert len(want["unused"]) >= 20, "the sample switch leaves most of its ports unused"
    for port, segment in want["ports"].items():
        assert sorted(l2[port]) == sorted(["switchport mode access", "switchport nonegotiate",
                                           "switchport access vlan %d" % want["vlan_of"][segment]]), port
    for port in want["unused"]:
        assert sorted(l2[port]) == sorted(["switchport mode access", "switchport nonegotiate",
                                           "switchport access vlan %d" % want["parking_vlan"]]), port
    trunk = l2[want["uplink"]]
    allowed = [line for line in trunk if line.startswith("switchport trunk allowed vlan ")]
    assert len(allowed) == 1, trunk
    allowed_vlans = vlan_list(allowed[0][len("switchport trunk allowed vlan "):])
    assert sorted(allowed_vlans) == sorted([want["management_vlan"]] + list(want["vlan_of"].values()))
    assert sorted(set(trunk) - set(allowed)) == ["switchport mode trunk", "switchport nonegotiate"]

    # Descriptions and no shutdown: the ports, the trunk and the management interface.
    interfaces = blocks(commands["interfaces"])
    assert interfaces == dict([(port, ["description %s" % segment, "no shutdown"]) for port, segment in want["ports"].items()]
                              + [(port, ["description unused", "shutdown"]) for port in want["unused"]]
                              + [(port, ["description trunk to %s" % child, "no shutdown"])
                                 for port, (child, _) in want["downlinks"].items()]
                              + [(want["uplink"], ["description trunk to %s" % want["parent"], "no shutdown"]),
                                 (want["svi"], ["description management", "no shutdown"])])

    # Management: the switch's address on the management VLAN's interface, the default route through core.
    assert blocks(commands["l3_interfaces"]) == {want["svi"]: [want["address"]]}
    assert commands["static_routes"] == ["ip route 0.0.0.0 0.0.0.0 %s" % want["gateway"]]

    # First-hop security: DHCP snooping and ARP inspection on exactly the office's VLANs (not management, whose
    # devices have fixed addresses), option 82 off (Kea serves the segment directly), the bindings kept across a
    # reload; the uplink trusted; every access port guarded; an unused port gets nothing (it is shut down).
    office_vlans = sorted(want["vlan_of"].values())
    first_hop = commands["first_hop_security"]
    global_lines = first_hop[:next(i for i, line in enumerate(first_hop) if line.startswith("interface "))]
    snooped = [vlan_list(line.split()[-1]) for line in global_lines if line.startswith("ip dhcp snooping vlan ")]
    inspected = [vlan_list(line.split()[-1]) for line in global_lines if line.startswith("ip arp inspection vlan ")]
    assert snooped == [office_vlans] and inspected == [office_vlans]
    for line in ["ip dhcp snooping", "no ip dhcp snooping information option",
                 "ip dhcp snooping database flash:ktc-dhcp-snooping.db"]:
        assert line in global_lines
    ra_policies = [line.split()[-1] for line in global_lines if line.startswith("ipv6 nd raguard policy ")]
    dhcpv6_policies = [line.split()[-1] for line in global_lines if line.startswith("ipv6 dhcp guard policy ")]
    assert len(ra_policies) == 1 and len(dhcpv6_policies) == 1
    guarded = blocks(first_hop[len(global_lines):])
    assert set(guarded) == set(want["ports"]) | {want["uplink"]} | set(want["downlinks"])
    for port in want["downlinks"]:
        assert guarded[port] == ["ip arp inspection trust"], port
    assert sorted(guarded[want["uplink"]]) == ["ip arp inspection trust", "ip dhcp snooping trust"]
    for port in want["ports"]:
        assert sorted(guarded[port]) == sorted([
            "switchport port-security", "switchport port-security maximum %d" % want["max_macs"],
            "switchport port-security violation restrict",
            "switchport port-security aging time %d" % want["aging_min"],
            "switchport port-security aging type inactivity",
            "ip dhcp snooping limit rate %d" % want["dhcp_rate"],
            "ipv6 nd raguard attach-policy %s" % ra_policies[0],
            "ipv6 dhcp guard attach-policy %s" % dhcpv6_policies[0]]), port
        assert not any("trust" in line for line in guarded[port]), port

    # The access ports' ACL drops VRRP (a client's adverts would take a pair's gateways) and lets the rest through;
    # every access port has it inbound, no trunk has it.
    assert commands["acls"] == ["ip access-list extended KTC-ACCESS-IN", "10 deny 112 any any",
                                "20 permit ip any any"]
    assert blocks(commands["acl_interfaces"]) == dict(
        (port, ["ip access-group KTC-ACCESS-IN in"]) for port in want["ports"])


@pytest.fixture(scope="module")
def production_render(tmp_path_factory):
    ledger_path = os.path.join(PRODUCTION, "ipam.yml")
    return render(tmp_path_factory.mktemp("render"), ledger_path), load_yaml(ledger_path)


def test_rendered_commands_follow_the_production_ledger(production_render):
    commands, ledger = production_render
    want = expected(ledger)
    # The sample switch has ports in every segment of its office (else the test would prove less).
    assert set(want["ports"].values()) == set(want["segments"]) and len(want["segments"]) >= 2
    assert want["gateway"] == core_management_address()
    check(commands, want)


def test_a_changed_ledger_changes_the_commands(tmp_path):
    """Render with a ledger whose VLANs for the office moved: the commands follow it, and the production numbers fail."""
    production = load_yaml(PRODUCTION, "ipam.yml")
    moved = load_yaml(PRODUCTION, "ipam.yml")
    office = switch_vars(SWITCH)["ktc_office"]
    pool = load_yaml(PRODUCTION, "group_vars", "all", "site.yml")["ktc_site"]["vlan_pool"]
    used = set(entry["vlan"] for segments in production["offices"].values() for entry in segments.values())
    free = iter(sorted(set(range(pool["first"], pool["last"] + 1)) - used, reverse=True))
    for entry in moved["offices"][office].values():
        entry["vlan"] = next(free)
    ledger_path = tmp_path / "ipam.yml"
    ledger_path.write_text(yaml.safe_dump(moved, default_flow_style=False))

    commands = render(tmp_path, str(ledger_path))
    check(commands, expected(moved))
    with pytest.raises(AssertionError):
        check(commands, expected(production))


def test_a_bonded_uplink_is_an_lacp_port_channel_whose_members_carry_its_trunk(tmp_path):
    """production with sw-setda's uplink made a two-port LACP bond (Port-channel1) to the backbone, rendered by
    cisco.ios: the members join the channel group in active mode and carry the same trunk, neither parked nor
    guarded as access ports; the port-channel is the trusted trunk."""
    inventory = tmp_path / "inventory"
    shutil.copytree(PRODUCTION, inventory)
    hosts = load_yaml(inventory, "hosts.yml")
    switch = hosts["all"]["children"]["access_switches"]["children"]["cisco_access_switches"]["hosts"][SWITCH]
    switch.update(ktc_parent_port=["sfp1", "sfp10"], ktc_parent_bond="bond1",
                  ktc_switch_uplink=["GigabitEthernet1/0/1", "GigabitEthernet1/0/25"], ktc_switch_uplink_bond="Port-channel1")
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts, default_flow_style=False))
    commands = render(tmp_path, os.path.join(PRODUCTION, "ipam.yml"), inventory)

    assert commands["lag_interfaces"] == ["interface GigabitEthernet1/0/1", "channel-group 1 mode active",
                                          "interface GigabitEthernet1/0/25", "channel-group 1 mode active"]
    l2 = blocks(commands["l2_interfaces"])
    trunk = sorted(l2["Port-channel1"])
    assert "switchport mode trunk" in trunk and "switchport nonegotiate" in trunk
    assert sorted(l2["GigabitEthernet1/0/1"]) == trunk and sorted(l2["GigabitEthernet1/0/25"]) == trunk
    interfaces = blocks(commands["interfaces"])
    assert interfaces["Port-channel1"] == ["description trunk to sw-diskominfo", "no shutdown"]
    assert interfaces["GigabitEthernet1/0/25"] == ["description trunk to sw-diskominfo, in Port-channel1", "no shutdown"]
    guarded = blocks(commands["first_hop_security"][next(i for i, line in enumerate(commands["first_hop_security"])
                                                         if line.startswith("interface ")):])
    assert sorted(guarded["Port-channel1"]) == ["ip arp inspection trust", "ip dhcp snooping trust"]
    assert "GigabitEthernet1/0/1" not in guarded and "GigabitEthernet1/0/25" not in guarded


def test_on_an_ipv6_site_access_ports_get_ipv6_snooping_and_the_uplink_is_trusted(tmp_path):
    """production given an IPv6 prefix (ledger allocated here), rendered by cisco.ios: besides RA guard and DHCPv6 guard,
    every access port gets IPv6 snooping in guard mode (a client cannot claim an address bound to another port, core's
    fe80::1 and gateways included), and the uplink, where core's addresses are learned, is a trusted switch port."""
    import ktc_ipam
    inventory = tmp_path / "inventory"
    shutil.copytree(PRODUCTION, inventory)
    site_path = inventory / "group_vars" / "all" / "site.yml"
    site = load_yaml(site_path)
    site["ktc_site"]["ipv6"] = {"prefix": "2001:db8:77::/48", "routed_by": "primary"}
    site_path.write_text(yaml.safe_dump(site, default_flow_style=False))
    _, ledger = ktc_ipam.read_ledger(os.path.join(PRODUCTION, "ipam.yml"))
    _, ledger, _ = ktc_ipam.plan(site["ktc_site"], ledger)
    ledger_path = tmp_path / "ipam.yml"
    ledger_path.write_text(ktc_ipam.dump_ledger(ledger))
    commands = render(tmp_path, str(ledger_path), inventory)

    first_hop = commands["first_hop_security"]
    start = next(i for i, line in enumerate(first_hop) if line.startswith("interface "))
    assert "ipv6 snooping policy KTC-ACCESS-NODES" in first_hop[:start]
    policy = first_hop.index("ipv6 snooping policy KTC-UPLINK-TRUSTED")
    assert first_hop[policy + 1:policy + 3] == [" device-role switch", " trusted-port"]
    guarded = blocks(first_hop[start:])
    want = expected(ledger)
    assert "ipv6 snooping attach-policy KTC-UPLINK-TRUSTED" in guarded[want["uplink"]]
    for port in want["ports"]:
        assert "ipv6 snooping attach-policy KTC-ACCESS-NODES" in guarded[port], port
        assert "ipv6 nd raguard attach-policy KTC-ACCESS-HOSTS" in guarded[port], port
        assert "ipv6 dhcp guard attach-policy KTC-ACCESS-CLIENTS" in guarded[port], port
