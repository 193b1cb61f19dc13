"""dhcp_dns in the lab: leases from Kea in every segment, reservations, names from Unbound, safe reloads."""

import ipaddress
import json
from shlex import quote

import pytest

from conftest import CORE_NAME, SITE, converge, isp, lease, wait_until

RESERVED = next((o["id"], r) for o in SITE["offices"] for r in o.get("reservations", []))
DOMAIN = SITE["domain"]


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


def kea(core, command, **arguments):
    request = json.dumps({"command": command, "arguments": arguments} if arguments else {"command": command})
    reply = json.loads(core.check_output("echo %s | socat -t 10 UNIX-CONNECT:/run/kea/kea4-ctrl-socket -" % quote(request)))
    assert reply["result"] == 0, reply
    return reply.get("arguments", {})


def assigned(core, client):
    name = "subnet[%d].assigned-addresses" % client.facts["vlan"]
    return kea(core, "statistic-get", name=name)[name][0][0]


def answers(host, command):
    """The command's output, or "" while the host cannot be reached (rebooting)."""
    try:
        return host.run(command).stdout.strip()
    except RuntimeError:
        return ""


def test_leases_survive_a_reboot_of_core(core, leased_clients):
    """Kea reloads its lease file at boot: each client keeps its address even when it asks for none."""
    before = {client.port + "@" + client.switch: (client.address, assigned(core, client)) for client in leased_clients}
    boot_id = core.check_output("cat /proc/sys/kernel/random/boot_id")
    core.run("systemd-run --on-active=1 systemctl reboot")
    assert wait_until(lambda: answers(core, "cat /proc/sys/kernel/random/boot_id") not in ("", boot_id), 600, 10)
    assert wait_until(lambda: answers(core, "systemctl is-active kea-dhcp4-server unbound >/dev/null && echo up") == "up",
                      300, 5)
    for client in leased_clients:
        address, count = before[client.port + "@" + client.switch]
        assert count >= 1 and assigned(core, client) == count, client
        # No hint: without its own lease file dhclient asks for no address, so the answer is Kea's memory.
        client.run("rm -f /var/lib/dhcp/%s.leases" % client.namespace)
        assert lease(client, release=False) == address, client
