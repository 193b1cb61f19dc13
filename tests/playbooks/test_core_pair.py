"""A pair of core servers rendered on the controller (tests/render/lab-pair, the lab inventory with core and core2 in
ktc_site.cores): each server's own addresses and the shared ones where they belong, and the checks core runs before
installing keepalived's and conntrackd's files (with a broken copy to show each check can fail). The files themselves
are golden (test_render.py); the failover itself is tested in the lab (tests/integration/test_core_pair.py)."""

import os
import re
import subprocess

import pytest

from conftest import REPO

PAIR = os.path.join(REPO, "tests", "render", "lab-pair")
ONE = os.path.join(REPO, "tests", "render", "lab")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
# The role's validate command for conntrackd.conf (roles/core_failover/tasks/main.yml), which has no check mode.
CONNTRACKD_CHECK = ("! conntrackd -C %s -s 2>&1 | grep -e 'parsing config file' -e 'open config file' -e 'is not a valid' "
                    "-e 'cannot find protocol'")


def read(scenario, host, path):
    with open(os.path.join(scenario, host, path.lstrip("/"))) as handle:
        return handle.read()


def ledger_core_addresses():
    """{segment interface: {server: own address}} from what the render's allocation gives the pair."""
    networks = {}
    for name in os.listdir(os.path.join(PAIR, "core", "etc", "systemd", "network")):
        if name.startswith("30-ktc-vlan") and name.endswith(".network"):
            interface = name[len("30-ktc-"):-len(".network")]
            networks[interface] = dict((host, re.findall(r"^Address=(.*)$", read(PAIR, host, "etc/systemd/network/" + name),
                                                          re.M)) for host in ("core", "core2"))
    return networks


def run_check(command, path):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"])
    return subprocess.run(command % path, shell=True, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("host", ["core", "core2"])
def test_keepalived_and_conntrackd_accept_each_servers_files_and_refuse_broken_ones(host, tmp_path):
    keepalived = os.path.join(PAIR, host, "etc", "keepalived", "keepalived.conf")
    run = run_check("keepalived -t -f %s", keepalived)
    assert run.returncode == 0, run.stdout + run.stderr
    broken = tmp_path / "keepalived.conf"
    broken.write_text(read(PAIR, host, "etc/keepalived/keepalived.conf").replace("virtual_router_id", "virtual_router"))
    assert run_check("keepalived -t -f %s", broken).returncode != 0

    conntrackd = os.path.join(PAIR, host, "etc", "conntrackd", "conntrackd.conf")
    run = run_check(CONNTRACKD_CHECK, conntrackd)
    assert run.returncode == 0, run.stdout + run.stderr
    for old, new in (("Port ", "Prt "), ("IPv4_Destination_Address 10.40.255.", "IPv4_Destination_Address 10.40.256.")):
        broken = tmp_path / "conntrackd.conf"
        broken.write_text(read(PAIR, host, "etc/conntrackd/conntrackd.conf").replace(old, new, 1))
        run = run_check(CONNTRACKD_CHECK, broken)
        assert run.returncode != 0 and run.stdout, "conntrackd's check passed a file with %r" % new


def test_the_preferred_server_has_the_higher_priority_and_each_its_own_peer():
    keepalived = dict((host, read(PAIR, host, "etc/keepalived/keepalived.conf")) for host in ("core", "core2"))
    priorities = dict((host, set(re.findall(r"priority (\d+)", text))) for host, text in keepalived.items())
    # Configured below the standby's until the converge marks the server ready (+60 from its readiness file).
    assert priorities == {"core": {"90"}, "core2": {"40"}}
    for text in keepalived.values():
        assert "\tfile \"/run/ktc-core-ready\"\n\tweight 60\n\tinit_file 0\n" in text
        assert "\ttrack_file {\n\t\tktc_ready\n\t}\n\tnotify" in text
    assert "router_id core\n" in keepalived["core"] and "router_id core2\n" in keepalived["core2"]
    # Apart from those, both run the same instances with the same addresses.
    same = [re.sub(r"(priority \(?\d+(; \d+ when ready\))?|router_id \S+)", "", text) for text in keepalived.values()]
    assert same[0] == same[1]
    assert "vrrp_strict" not in same[0] and "use_vmac" not in same[0]
    conntrackd = dict((host, read(PAIR, host, "etc/conntrackd/conntrackd.conf")) for host in ("core", "core2"))
    assert "IPv4_address 10.40.255.2\n\t\tIPv4_Destination_Address 10.40.255.3" in conntrackd["core"]
    assert "IPv4_address 10.40.255.3\n\t\tIPv4_Destination_Address 10.40.255.2" in conntrackd["core2"]


def test_each_server_configures_its_own_addresses_and_keepalived_the_shared_ones():
    keepalived = read(PAIR, "core", "etc/keepalived/keepalived.conf")
    for interface, by_host in ledger_core_addresses().items():
        # One own address each, different, in the segment; the gateway is keepalived's, never networkd's.
        assert len(by_host["core"]) == len(by_host["core2"]) == 1 and by_host["core"] != by_host["core2"]
        gateway = re.findall(r"^Address=(.*)$", read(ONE, "core", "etc/systemd/network/30-ktc-%s.network" % interface),
                             re.M)
        assert gateway[0] not in by_host["core"] + by_host["core2"]
        assert "\t\t%s dev %s\n" % (gateway[0], interface) in keepalived
        for address6 in gateway[1:]:   # the IPv6 gateway and fe80::1: moved, not advertised
            assert "\t\t%s dev %s\n" % (address6, interface) in keepalived
    for host in ("core", "core2"):
        uplink = read(PAIR, host, "etc/systemd/network/10-ktc-uplink-primary.network")
        assert "Address=" not in uplink and "KeepConfiguration=yes" in uplink
        assert "\t\t198.51.100.2/30 dev eth1\n" in keepalived
    management = read(PAIR, "core2", "etc/systemd/network/25-ktc-br-mgmt.network")
    assert re.findall(r"^Address=(.*)$", management, re.M) == ["10.40.255.3/24"]
    assert "\t\t10.40.255.1/24 dev br-mgmt\n" in keepalived


def test_the_pair_nats_to_the_moving_address_and_opens_its_sync_to_the_peer_only():
    ruleset = read(PAIR, "core2", "etc/nftables.conf")
    assert "masquerade" not in ruleset
    assert 'oifname "eth1" ip saddr @office_prefixes snat to 198.51.100.2' in ruleset
    assert 'iifname "br-mgmt" ip saddr 10.40.255.2 ip daddr 10.40.255.3 udp dport 3780 accept' in ruleset
    assert 'iifname "br-mgmt" ip saddr 10.40.255.2 ip daddr 10.40.255.3 tcp dport 8001 accept' in ruleset
    vrrp = [line for line in ruleset.splitlines() if "ip protocol 112" in line]
    assert len(vrrp) == 1 and "10.40.255.2" in vrrp[0] and "10.40.255.3" not in vrrp[0]
    # One core keeps masquerade and opens nothing of the kind.
    one = read(ONE, "core", "etc/nftables.conf")
    assert "masquerade" in one and "protocol 112" not in one and "dport 3780" not in one


def test_kea_runs_the_ha_hook_in_hot_standby_on_both():
    for host in ("core", "core2"):
        kea = read(PAIR, host, "etc/kea/kea-dhcp4.conf")
        assert '"this-server-name": "%s"' % host in kea and '"mode": "hot-standby"' in kea
        assert '{"name": "core", "role": "primary"' in kea and '{"name": "core2", "role": "standby"' in kea
    assert "high-availability" not in read(ONE, "core", "etc/kea/kea-dhcp4.conf")


def test_the_backbone_switch_trusts_its_link_to_each_server():
    ruleset = read(PAIR, "sw-diskominfo", "etc/nftables.conf")
    assert '\t\tiifname "bond0" accept\n\t\tiifname "bond1" accept\n' in ruleset
    # Nobody below may claim either server's own addresses.
    assert "10.40.255.2, 10.40.255.3" in ruleset
    assert 'meta l4proto 112 counter drop comment "rogue VRRP router"' in ruleset


def refused(inventory, playbook, extra_var, message):
    """Run ``playbook`` with the lab inventory ``inventory`` and one survey answer; assert that it fails saying
    ``message``; return its output on one line."""
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ["PATH"],
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    run = subprocess.run(["ansible-playbook", "-i", os.path.join(REPO, "inventories", inventory),
                          os.path.join(REPO, "playbooks", playbook), "-e", extra_var],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    output = " ".join(run.stdout.split())
    assert run.returncode != 0 and message in output, run.stdout + run.stderr
    return output


@pytest.mark.parametrize("inventory, drain, message", [
    ("lab-pair", "evil;reboot", "ktc_core_drain must name one server of the pair of core servers (core or core2); "
                                "it was evil;reboot."),
    ("lab-pair", "sw-diskominfo", "(core or core2); it was sw-diskominfo."),
    ("lab", "core", "(this site has one core server: nothing to switch over to); it was core."),
])
def test_freeing_a_core_server_is_refused_before_anything_changes_unless_it_names_one_of_a_pair(
        inventory, drain, message):
    """The survey field reaches the playbook's first task, which refuses on the controller: no server is contacted
    (the lab is not running)."""
    output = refused(inventory, "core_switchover.yml", "ktc_core_drain=" + drain, message)
    assert "Read both servers' state" not in output and "UNREACHABLE" not in output


@pytest.mark.parametrize("inventory, release, message", [
    ("lab-pair", "core3", "ktc_core_release must name one server of the pair of core servers (core or core2); "
                          "it was core3. Nothing was changed."),
    # ktc_site.cores is {preferred: core, standby: core2}: its keys are not servers.
    ("lab-pair", "preferred", "(core or core2); it was preferred. Nothing was changed."),
    ("lab", "core", "(this site has one core server); it was core. Nothing was changed."),
])
def test_returning_a_core_server_is_refused_at_validation_unless_it_names_one_of_a_pair(inventory, release, message):
    """The main job's survey field (AWX: KTC return a core server) is checked in its first play, on the controller,
    before the ledger or any device is touched (the lab is not running)."""
    output = refused(inventory, "site.yml", "ktc_core_release=" + release, message)
    assert "PLAY [Allocate" not in output and "UNREACHABLE" not in output
