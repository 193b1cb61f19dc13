"""dhcp_dns in the lab: leases from Kea in every segment, reservations, names from Unbound, safe reloads."""

import ipaddress

import pytest

from conftest import CORE_NAME, SITE, converge, isp

RESERVED = next((o["id"], r) for o in SITE["offices"] for r in o.get("reservations", []))
DOMAIN = SITE["domain"]


def lease(client, mac=None):
    """Run a real DHCP exchange (dhclient) in the client's namespace; return its new address.

    dhclient runs in its own UTS namespace: a network namespace shares the switch VM's hostname, which
    dhclient-script would otherwise set to the host name of a reservation.
    """
    if mac:
        # Changed while up: a link flap would put the switch port through spanning tree's delay.
        assert client.run("ip link set eth0 address %s" % mac).rc == 0
    result = client.run("ip addr flush dev eth0; dhclient -r -pf /run/dhclient-%s.pid -lf /var/lib/dhcp/%s.leases eth0;"
                        " timeout 30 unshare --uts dhclient -1 -pf /run/dhclient-%s.pid -lf /var/lib/dhcp/%s.leases eth0 && "
                        "ip -4 -o addr show dev eth0" % ((client.namespace,) * 4))
    assert result.rc == 0, result.stderr
    client.address = result.stdout.split("inet ")[1].split("/")[0]
    return client.address


def one_per_segment(clients):
    return list({(c.office, c.segment): c for c in clients}.values())


@pytest.fixture(scope="module")
def leased_clients(addressed_clients):
    for client in one_per_segment(addressed_clients):
        lease(client)
    return one_per_segment(addressed_clients)


def test_every_segment_gets_a_lease_with_its_router_and_dns(leased_clients):
    for client in leased_clients:
        facts = client.facts
        assert ipaddress.ip_address(client.address) in ipaddress.ip_network(facts["prefix"]), client
        assert client.address not in (facts["gateway"],) + tuple(r["address"] for r in facts["reservations"])
        assert "default via %s " % facts["gateway"] in client.run("ip route").stdout, client
        assert "nameserver %s" % facts["gateway"] in client.run("cat /etc/resolv.conf").stdout, client


def test_reserved_mac_gets_its_reserved_address(addressed_clients):
    office, reservation = RESERVED
    spare = [c for c in addressed_clients if c.office == office and c.segment == reservation["segment"]][-1]
    original = spare.run("cat /sys/class/net/eth0/address").stdout.strip()
    expected = next(r["address"] for r in spare.facts["reservations"] if r["name"] == reservation["name"])
    try:
        assert lease(spare, reservation["mac"]) == expected
    finally:
        lease(spare, original)


def test_clients_resolve_internal_reverse_and_internet_names(leased_clients):
    for client in leased_clients:
        facts = client.facts
        assert client.run("dig +short %s" % facts["gateway_fqdn"]).stdout.strip() == facts["gateway"], client
        assert client.run("dig +short -x %s" % facts["gateway"]).stdout.strip() == facts["gateway_fqdn"] + "."
        assert client.run("dig +short www.isp.example").stdout.strip() == "192.0.2.80", client
        assert client.run("curl -s -m 5 http://www.isp.example/").stdout.startswith("ktc-lab isp"), client
    simpeg = next(s for s in SITE["services"] if s["name"] == "simpeg")
    assert leased_clients[0].run("dig +short simpeg.%s" % DOMAIN).stdout.strip() == simpeg["address"]


def test_resolver_is_not_open_on_the_uplink():
    answer = isp("dig +time=2 +tries=1 @198.51.100.2 www.isp.example")
    assert "status: NOERROR" not in answer.stdout


def test_leases_survive_a_kea_reload(core, leased_clients):
    client = leased_clients[0]
    before = client.address
    reply = core.check_output("echo '{\"command\": \"config-reload\"}' | socat -t 10 UNIX-CONNECT:/run/kea/kea4-ctrl-socket -")
    assert '"result": 0' in reply
    assert before in core.check_output("cat /var/lib/kea/kea-leases4.csv")
    assert lease(client) == before


def test_malformed_change_is_refused_and_nothing_changes(core, leased_clients):
    before = core.check_output("sha256sum /etc/kea/kea-dhcp4.conf")
    pid = core.check_output("systemctl show -p MainPID --value kea-dhcp4-server")
    returncode, output = converge(CORE_NAME, '{"dhcp_dns_lease_time": {"office": "-1", "guest": "x", "event": 0}}')
    assert returncode != 0
    assert "/etc/kea/kea-dhcp4.conf was refused by `kea-dhcp4 -t" in output and "nothing was installed" in output
    assert core.check_output("sha256sum /etc/kea/kea-dhcp4.conf") == before
    assert core.check_output("systemctl show -p MainPID --value kea-dhcp4-server") == pid
    assert lease(leased_clients[0]) == leased_clients[0].address
