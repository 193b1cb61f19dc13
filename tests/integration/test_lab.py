"""The lab itself: every VM answers, trunks carry tagged frames end to end, clients sit on their ports."""

import pytest

from conftest import CLIENTS, CORE_NAME, SWITCHES, vm

ALL_VMS = [CORE_NAME] + sorted(SWITCHES)
# A VLAN no office gets (vlan_pool stops at 899) and link-local addresses: the probe cannot clash with
# what the roles configure.
PROBE_VLAN = "4001"


@pytest.mark.parametrize("name", ALL_VMS)
def test_vm_answers_and_runs_debian_kernel(name):
    host = vm(name)
    assert host.check_output("hostname") == name
    assert host.system_info.distribution == "debian"
    assert host.check_output("uname -r").endswith("-amd64")
    # 802.1Q lives in the guest kernel (the host's kernel has none).
    assert host.run("modprobe 8021q").rc == 0


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_trunk_carries_tagged_frames_end_to_end(switch):
    core, sw = vm(CORE_NAME), vm(switch)
    core_port, uplink = SWITCHES[switch]["ktc_core_port"], SWITCHES[switch]["ktc_switch_uplink"]
    index = sorted(SWITCHES).index(switch)
    core_ip, switch_ip = "169.254.%d.1" % (200 + index), "169.254.%d.2" % (200 + index)
    # On a switch whose uplink is already a bridge port, the probe rides the bridge's own VLAN.
    bridged = sw.run("test -e /sys/class/net/%s/brport" % uplink).rc == 0
    probe_parent = "br0" if bridged else uplink
    try:
        core.check_output("ip link set %s up && ip link add link %s name probe type vlan id %s && "
                          "ip addr add %s/30 dev probe && ip link set probe up", core_port, core_port, PROBE_VLAN,
                          core_ip)
        if bridged:
            sw.check_output("bridge vlan add dev %s vid %s && bridge vlan add dev br0 vid %s self", uplink,
                            PROBE_VLAN, PROBE_VLAN)
        sw.check_output("ip link set %s up && ip link add link %s name probe type vlan id %s && "
                        "ip addr add %s/30 dev probe && ip link set probe up", uplink, probe_parent, PROBE_VLAN,
                        switch_ip)
        ping = sw.run("ping -c 3 -i 0.3 -W 3 %s", core_ip)
        assert ping.rc == 0, ping.stdout
        # The frames really were tagged on the wire: untagged, the probe's address is not reachable.
        tagged = core.run("timeout 5 tcpdump -c 1 -nn -e -i %s vlan %s and icmp 2>/dev/null & sleep 1; "
                          "ping -c 2 -W 2 %s > /dev/null; wait", core_port, PROBE_VLAN, switch_ip)
        assert "vlan %s" % PROBE_VLAN in tagged.stdout
    finally:
        core.run("ip link del probe")
        sw.run("ip link del probe")
        if bridged:
            sw.run("bridge vlan del dev %s vid %s; bridge vlan del dev br0 vid %s self", uplink, PROBE_VLAN,
                   PROBE_VLAN)


@pytest.mark.parametrize("switch, port, office, segment", CLIENTS, ids=["%s-%s" % c[:2] for c in CLIENTS])
def test_client_sits_on_its_access_port(switch, port, office, segment):
    sw = vm(switch)
    namespace = "c-" + port
    assert namespace in sw.check_output("ip netns list")
    # The veth pair: the switch's port and the client's eth0 name each other's interface index.
    port_index = sw.check_output("cat /sys/class/net/%s/ifindex", port)
    client_peer = sw.check_output("ip netns exec %s cat /sys/class/net/eth0/iflink", namespace)
    assert client_peer == port_index
