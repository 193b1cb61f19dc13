"""Fixtures for the lab tests: testinfra hosts for the lab VMs, and the clients inside the switch VMs.

Everything is read from inventories/lab (the same inventory the plays use); the VMs are reached through
the SSH config that scripts/lab/lab.py writes (.lab/ssh/config).
"""

import os
import re
import subprocess
import sys
import time

import pytest
import testinfra
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSH_CONFIG = os.path.join(REPO, ".lab", "ssh", "config")
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import ktc_ipam  # noqa: E402  pylint: disable=wrong-import-position


def _load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


INVENTORY = _load("inventories", "lab", "hosts.yml")["all"]["children"]["lab_vms"]["children"]
SITE = _load("inventories", "lab", "group_vars", "all", "site.yml")["ktc_site"]
LEDGER = _load("inventories", "lab", "ipam.yml")
SEGMENTS = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(ktc_ipam.validate_site(SITE), LEDGER)}
ISP_WEB, ISP_NS = "192.0.2.80", "ktc-isp"
CORE_NAME, CORE_VARS = next(iter(INVENTORY["core_routers"]["hosts"].items()))
SWITCHES = {name: dict(INVENTORY["access_switches"].get("vars", {}), **host_vars)
            for name, host_vars in INVENTORY["access_switches"]["hosts"].items()}
# Every client of the lab: (switch, port, office, segment), from the switches' port maps.
CLIENTS = [(switch, port, host_vars["ktc_office"], segment)
           for switch, host_vars in sorted(SWITCHES.items())
           for segment, ports in sorted(host_vars["ktc_switch_access_ports"].items()) for port in ports]


class Client:
    """A client machine: network namespace c-PORT inside a switch VM, its eth0 on access port PORT."""

    def __init__(self, switch_host, switch, port, office, segment):
        self.switch_host, self.switch, self.port = switch_host, switch, port
        self.office, self.segment, self.namespace = office, segment, "c-" + port
        self.facts = SEGMENTS[(office, segment)]
        self.address = None

    def run(self, command):
        return self.switch_host.run("ip netns exec %s sh -c %s" % (self.namespace, _quote(command)))

    def reaches(self, address, port=None, timeout=2):
        """Whether a ping (or a TCP connection to ``port``) to ``address`` succeeds."""
        if port is None:
            return self.run("ping -n -c 1 -W %d %s" % (timeout, address)).rc == 0
        return self.run("timeout %d bash -c '</dev/tcp/%s/%d'" % (timeout, address, port)).rc == 0

    def __repr__(self):
        return "%s/%s (%s %s)" % (self.office, self.segment, self.switch, self.port)


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


_hosts = {}


def vm(name):
    if name not in _hosts:
        _hosts[name] = testinfra.get_host("ssh://" + name, ssh_config=SSH_CONFIG, controlpersist=300)
    return _hosts[name]


@pytest.fixture(scope="session")
def core():
    return vm(CORE_NAME)


@pytest.fixture(scope="session")
def switch_hosts():
    return {name: vm(name) for name in SWITCHES}


@pytest.fixture(scope="session")
def clients():
    return [Client(vm(switch), switch, port, office, segment) for switch, port, office, segment in CLIENTS]


@pytest.fixture(scope="session")
def addressed_clients(clients):
    """Every client with an address in its segment (the last addresses of the segment's DHCP pools)."""
    used = {}
    for client in clients:
        index = used.setdefault(client.facts["prefix"], 0)
        used[client.facts["prefix"]] += 1
        last = client.facts["dhcp_pools"][-1]["end"].rsplit(".", 1)
        client.address = "%s.%d" % (last[0], int(last[1]) - index)
        client.run("ip addr flush dev eth0 && ip addr add %s/%d dev eth0 && ip route replace default via %s"
                   % (client.address, client.facts["prefixlen"], client.facts["gateway"]))
    return clients


def lease(client, mac=None, release=True):
    """Run a real DHCP exchange (dhclient) in the client's namespace; return its new address.

    dhclient runs in its own UTS namespace: a network namespace shares the switch VM's hostname, which
    dhclient-script would otherwise set to the host name of a reservation.
    """
    if mac:
        # Changed while up: a link flap would put the switch port through spanning tree's delay.
        assert client.run("ip link set eth0 address %s" % mac).rc == 0
    files = "-pf /run/dhclient-%s.pid -lf /var/lib/dhcp/%s.leases" % (client.namespace, client.namespace)
    stop = "dhclient -r" if release else "dhclient -x"
    result = client.run("ip addr flush dev eth0; %s %s eth0; timeout 30 unshare --uts dhclient -1 %s eth0 && "
                        "ip -4 -o addr show dev eth0" % (stop, files, files))
    assert result.rc == 0, result.stderr
    client.address = result.stdout.split("inet ")[1].split("/")[0]
    return client.address


def isp(command):
    """Run a command in the lab's isp namespace on this host."""
    return subprocess.run(["ip", "netns", "exec", ISP_NS, "sh", "-c", command], capture_output=True, text=True)


def wait_until(predicate, timeout, interval=1.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def converge(limit, extra_vars):
    """Run the main job (playbooks/site.yml) on ``limit`` with ``extra_vars``; return (returncode, output).

    The controller (localhost) is always in the limit, so validation and allocation run first as in production.
    """
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(REPO, "inventories", "lab"), os.path.join(REPO, "playbooks", "site.yml"),
         "--limit", "localhost," + limit, "-e", extra_vars],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_FORCE_COLOR="0"),  # molecule forces colour on; the tests read the output
        capture_output=True, text=True, timeout=600)
    return completed.returncode, completed.stdout + completed.stderr


UNITS = {"bit": 1, "Kbit": 1000, "Mbit": 1000 ** 2, "Gbit": 1000 ** 3}


def bits(text):
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return round(float(number) * UNITS[unit])


def classes(core, device):
    """The HTB classes of a device: {handle: {parent, rate, ceil (bit/s), packets}} (tc has no JSON for them)."""
    found = {}
    for block in core.check_output("tc -s class show dev %s", device).split("\nclass ")[0:]:
        match = re.search(r"htb (\S+) (?:parent (\S+)|root).* rate (\S+) ceil (\S+).*?Sent \d+ bytes (\d+) pkt", block, re.S)
        if match:
            handle, parent, rate, ceil, packets = match.groups()
            found[handle] = {"parent": parent, "rate": bits(rate), "ceil": bits(ceil), "packets": int(packets)}
    return found
