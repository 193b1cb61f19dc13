"""dhcp_dns in the lab: leases from Kea in every segment, reservations, names from Unbound, safe reloads."""

import ipaddress
import json
import re
from shlex import quote

import pytest

from conftest import CORE_NAME, ISP_WEB, SERVICES, SITE, ad_hoc, isp, lease, power_cut, wait_until

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


def test_clients_resolve_internal_reverse_and_internet_names_and_guests_only_internet_ones(leased_clients):
    simpeg = SERVICES["simpeg"]
    for client in leased_clients:
        facts = client.facts
        assert client.run("dig +short www.isp.example").stdout.strip() == "192.0.2.80", client
        assert client.run("curl -s -m 5 http://www.isp.example/").stdout.startswith("ktc-lab isp"), client
        internal = [client.run("dig %s" % name).stdout for name in
                    (facts["gateway_fqdn"], "-x %s" % facts["gateway"], "simpeg.%s" % DOMAIN, "-x %s" % simpeg["address"])]
        if facts["kind"] in ("office", "services"):
            assert client.run("dig +short %s" % facts["gateway_fqdn"]).stdout.strip() == facts["gateway"], client
            assert client.run("dig +short -x %s" % facts["gateway"]).stdout.strip() == facts["gateway_fqdn"] + "."
            assert client.run("dig +short simpeg.%s" % DOMAIN).stdout.strip() == simpeg["address"], client
        else:   # guests and events: the internal zone and its reverse zones are refused
            assert all("status: REFUSED" in answer for answer in internal), (client, internal)
    assert {c.facts["kind"] for c in leased_clients} >= {"office", "guest"}


def test_answers_from_outside_pointing_inside_are_dropped(core, leased_clients):
    """DNS rebinding: rebind.isp.example (the lab's internet) points at 10.40.1.10; no client, nor core, gets it."""
    # Core's own resolv.conf is not Unbound's: ask Unbound on loopback there.
    for host, server in ((leased_clients[0], ""), (core, "@127.0.0.1")):
        assert host.run("dig +short %s www.isp.example" % server).stdout.strip() == "192.0.2.80"   # the control
        assert "10.40.1.10" not in host.run("dig %s rebind.isp.example" % server).stdout


def test_one_client_is_rate_limited_and_a_normal_one_is_not(core, leased_clients):
    """A client sending 1000 queries/s is held to dhcp_dns_client_qps (Unbound counts the queries it refused); one
    sending 20/s gets every answer."""
    client = next(c for c in leased_clients if c.facts["kind"] == "office")
    gateway = client.facts["gateway"]
    client.run("echo 'www.isp.example A' > /tmp/ktc-queries")

    def limited():
        stats = core.check_output("unbound-control -c /etc/unbound/unbound.conf stats_noreset")
        return int(re.search(r"^total\.num\.queries_ip_ratelimited=(\d+)$", stats, re.M).group(1))

    before = limited()
    calm = client.run("dnsperf -s %s -d /tmp/ktc-queries -Q 20 -l 3 -t 2" % gateway).stdout
    assert re.search(r"Queries lost:\s+0 ", calm), calm
    assert limited() == before
    client.run("dnsperf -s %s -d /tmp/ktc-queries -Q 1000 -l 3 -t 1" % gateway)
    assert limited() > before + 100
    assert core.check_output("unbound-control -c /etc/unbound/unbound.conf get_option num-threads") == \
        core.check_output("nproc")


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


PENDING = "/etc/ktc/lab-pending.conf"


def test_core_after_a_power_cut_fails_closed_rolls_back_what_was_unconfirmed_and_keeps_leases(core, leased_clients):
    """One power cut of core (qemu's system_reset; a restart costs minutes on the emulated core), three checks.
    Commit confirmed survives it: a change applied but not confirmed is rolled back at boot, and its confirm then
    says ROLLBACK. Fail closed: with a ruleset that does not load, core forwards nothing at boot and stays reachable
    from the controller; once the ruleset loads, forwarding is back. Kea reloads its lease file at boot: each client
    keeps its address even when it asks for none."""
    before = {client.port + "@" + client.switch: (client.address, assigned(core, client)) for client in leased_clients}
    client = leased_clients[0]
    assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).rc == 0                # the control: it does, before
    conntrack_max = core.sysctl("net.netfilter.nf_conntrack_max")
    bundle = {"name": "lab-pending", "activate": [{"command": "true"}]}
    assert ad_hoc(CORE_NAME, "ktc_apply", dict(bundle, files=[{"path": PENDING, "content": "confirmed\n"}]))[0] == 0
    returncode, output = ad_hoc(CORE_NAME, "ktc_apply", dict(bundle, files=[{"path": PENDING, "content": "pending\n"}],
                                                             confirm_timeout=900))
    assert returncode == 0 and "rollback_armed: true" in output, output
    core.check_output("cp /etc/nftables.conf /root/nftables.conf && "
                      "echo 'this is not nftables' >> /etc/nftables.conf && sync")
    boot_id = core.check_output("cat /proc/sys/kernel/random/boot_id")
    power_cut(CORE_NAME)
    try:
        assert wait_until(lambda: answers(core, "cat /proc/sys/kernel/random/boot_id") not in ("", boot_id), 600, 10)
        assert core.check_output("cat %s" % PENDING) == "confirmed"
        returncode, output = ad_hoc(CORE_NAME, "ktc_apply", {"name": "lab-pending", "confirm": True})
        assert returncode != 0 and "ROLLBACK of bundle lab-pending" in output and "restarted before" in output, output
        assert wait_until(lambda: answers(core, "systemctl is-active ktc-firewall-failsafe") == "active"
                          or answers(core, "systemctl show -p Result --value ktc-firewall-failsafe") == "success",
                          120, 2)
        assert answers(core, "systemctl is-failed nftables") == "failed"
        assert core.sysctl("net.ipv4.ip_forward") == 0
        assert core.check_output("nft list tables") == "table inet ktc_failsafe"
        assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).rc != 0
        # Set at boot (nf_conntrack is loaded before systemd-sysctl runs), not only by a converge.
        assert core.sysctl("net.netfilter.nf_conntrack_max") == conntrack_max
    finally:
        core.run("cp /root/nftables.conf /etc/nftables.conf && rm /root/nftables.conf && "
                 "systemctl restart nftables; rm -rf %s /var/lib/ktc-apply/lab-pending" % PENDING)
    assert core.sysctl("net.ipv4.ip_forward") == 1
    assert "table inet ktc_failsafe" not in core.check_output("nft list tables")
    assert client.run("curl -s -m 5 http://%s/" % ISP_WEB).rc == 0
    assert wait_until(lambda: answers(core, "systemctl is-active kea-dhcp4-server unbound >/dev/null && echo up") == "up",
                      300, 5)
    for client in leased_clients:
        address, count = before[client.port + "@" + client.switch]
        assert count >= 1 and assigned(core, client) == count, client
        # No hint: without its own lease file dhclient asks for no address, so the answer is Kea's memory.
        client.run("rm -f /var/lib/dhcp/%s.leases" % client.namespace)
        assert lease(client, release=False) == address, client
