"""The lab itself: every VM answers, trunks carry tagged frames end to end, clients sit on their ports."""

import pytest

from conftest import CLIENTS, CORE_NAME, LINKS, SWITCHES, vm

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


def probe_on(host, interface, address):
    """A VLAN PROBE_VLAN device with ``address`` on ``interface``, riding the bridge when the interface is one of its
    ports (the roles make every trunk of a switch a bridge port); returns whether it did."""
    bridged = host.run("test -e /sys/class/net/%s/brport" % interface).rc == 0
    if bridged:
        host.check_output("bridge vlan add dev %s vid %s && bridge vlan add dev br0 vid %s self", interface,
                          PROBE_VLAN, PROBE_VLAN)
    host.check_output("ip link set %s up && ip link add link %s name probe type vlan id %s && "
                      "ip addr add %s/30 dev probe && ip link set probe up", interface,
                      "br0" if bridged else interface, PROBE_VLAN, address)
    return bridged


def probe_off(host, interface, bridged):
    host.run("ip link del probe")
    if bridged:
        host.run("bridge vlan del dev %s vid %s; bridge vlan del dev br0 vid %s self", interface, PROBE_VLAN,
                 PROBE_VLAN)


@pytest.mark.parametrize("parent, parent_interface, switch, uplink", LINKS, ids=["%s-%s" % (l[0], l[2]) for l in LINKS])
def test_every_link_carries_tagged_frames_end_to_end(parent, parent_interface, switch, uplink):
    """Core to the backbone (a bond), and each switch to the one below it (a daisy chain)."""
    above, below = vm(parent), vm(switch)
    index = LINKS.index((parent, parent_interface, switch, uplink))
    above_ip, below_ip = "169.254.%d.1" % (200 + index), "169.254.%d.2" % (200 + index)
    bridged = {}
    try:
        bridged[parent] = probe_on(above, parent_interface, above_ip)
        bridged[switch] = probe_on(below, uplink, below_ip)
        ping = below.run("ping -c 3 -i 0.3 -W 3 %s", above_ip)
        assert ping.rc == 0, ping.stdout
        # The frames really were tagged on the wire: untagged, the probe's address is not reachable.
        tagged = above.run("timeout 5 tcpdump -c 1 -nn -e -i %s vlan %s and icmp 2>/dev/null & sleep 1; "
                           "ping -c 2 -W 2 %s > /dev/null; wait", parent_interface, PROBE_VLAN, below_ip)
        assert "vlan %s" % PROBE_VLAN in tagged.stdout
    finally:
        for name, host, interface in ((parent, above, parent_interface), (switch, below, uplink)):
            probe_off(host, interface, bridged.get(name, True))


@pytest.mark.parametrize("switch, port, office, segment", CLIENTS, ids=["%s-%s" % c[:2] for c in CLIENTS])
def test_client_sits_on_its_access_port(switch, port, office, segment):
    sw = vm(switch)
    namespace = "c-" + port
    assert namespace in sw.check_output("ip netns list")
    # The veth pair: the switch's port and the client's eth0 name each other's interface index.
    port_index = sw.check_output("cat /sys/class/net/%s/ifindex", port)
    client_peer = sw.check_output("ip netns exec %s cat /sys/class/net/eth0/iflink", namespace)
    assert client_peer == port_index
