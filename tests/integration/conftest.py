"""Fixtures for the lab tests: testinfra hosts for the lab VMs, and the clients inside the switch VMs.

Everything is read from inventories/lab (the same inventory the plays use); the VMs are reached through
the SSH config that scripts/lab/lab.py writes (.lab/ssh/config).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import testinfra
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SSH_CONFIG = os.path.join(REPO, ".lab", "ssh", "config")
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import ktc_ipam  # noqa: E402  pylint: disable=wrong-import-position
import ktc_site  # noqa: E402  pylint: disable=wrong-import-position
import ktc_topology  # noqa: E402  pylint: disable=wrong-import-position


def _load(*parts):
    with open(os.path.join(REPO, *parts)) as handle:
        return yaml.safe_load(handle)


# The lab's inventory: inventories/lab, or the one `lab.py --inventory` started (KTC_LAB_INVENTORY, such as
# inventories/lab-pair: the lab with a pair of core servers, whose site model is the lab's with ktc_site.cores).
LAB_INVENTORY = os.environ.get("KTC_LAB_INVENTORY", os.path.join("inventories", "lab"))
INVENTORY = _load(LAB_INVENTORY, "hosts.yml")["all"]["children"]["lab_vms"]["children"]
HOSTVARS, GROUPS = ktc_topology.read_static_inventory(os.path.join(REPO, LAB_INVENTORY, "hosts.yml"))
CORES = GROUPS["core_routers"]
SITE = _load("inventories", "lab", "group_vars", "all", "site.yml")["ktc_site"]
if len(CORES) == 2:
    SITE["cores"] = {"preferred": CORES[0], "standby": CORES[1]}
LEDGER = _load(LAB_INVENTORY, "ipam.yml")
SEGMENTS = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(ktc_site.validate_site(SITE), LEDGER)}
# The shared services at their ledger addresses in the services segment: {name: {name, address, fqdn, ports, mac}}.
SERVICES = {service["name"]: service for facts in SEGMENTS.values() for service in facts["services"]}
ISP_WEB, ISP_NS = "192.0.2.80", "ktc-isp"
CORE_NAME, CORE_VARS = CORES[0], HOSTVARS[CORES[0]]
SWITCHES = {name: dict(INVENTORY["access_switches"].get("vars", {}), **host_vars)
            for name, host_vars in INVENTORY["access_switches"]["hosts"].items()}
# The wiring model of the lab, as the roles get it (plugins/module_utils/ktc_topology.py): what every trunk carries.
WIRING = ktc_topology.wiring_from_inventory(HOSTVARS, GROUPS)
MODEL = ktc_topology.build(ktc_site.validate_site(SITE), list(SEGMENTS.values()), WIRING["core"],
                           sorted(WIRING["switches"], key=lambda switch: switch["name"]), (),
                           ktc_ipam.management_facts(ktc_site.validate_site(SITE), LEDGER))
# Every link of the tree: (parent, parent's interface, switch, switch's interface), core's first.
LINKS = [(CORE_NAME, trunk["interface"], trunk["switch"], MODEL["switches"][trunk["switch"]]["uplink"]["interface"])
         for trunk in MODEL["core"]["trunks"]] + [
    (name, link["interface"], link["switch"], MODEL["switches"][link["switch"]]["uplink"]["interface"])
    for name in MODEL["order"] for link in MODEL["switches"][name]["downlinks"]]
# Every client of the lab: (switch, port, office, segment), from the switches' port maps.
CLIENTS = [(switch, port["name"], port["office"], port["segment"])
           for switch in sorted(MODEL["switches"]) for port in MODEL["switches"][switch]["access"]]


class Client:
    """A client machine: network namespace c-PORT inside a switch VM, its eth0 on access port PORT."""

    def __init__(self, switch_host, switch, port, office, segment):
        self.switch_host, self.switch, self.port = switch_host, switch, port
        self.office, self.segment, self.namespace = office, segment, "c-" + port
        self.facts = SEGMENTS[(office, segment)]
        self.address = None

    def run(self, command):
        return self.switch_host.run("ip netns exec %s sh -c %s" % (self.namespace, _quote(command)))

    @staticmethod
    def probe(address, port=None, timeout=2):
        """The command that succeeds when a ping (or a TCP connection to ``port``) to ``address`` does."""
        if port is None:
            return "ping -n -c 1 -W %d %s" % (timeout, address)
        return "timeout %d bash -c '</dev/tcp/%s/%d'" % (timeout, address, port)

    def reaches(self, address, port=None, timeout=2):
        """Whether a ping (or a TCP connection to ``port``) to ``address`` succeeds."""
        return self.run(self.probe(address, port, timeout)).rc == 0

    def succeeding(self, commands):
        """The indexes of ``commands`` that exit 0, all run at once: probes that are dropped cost their timeout
        once, not once each."""
        script = " ".join("(%s) >/dev/null 2>&1 && echo %d &" % (command, index) for index, command in enumerate(commands))
        return {int(line) for line in self.run(script + " wait").stdout.split()}

    def __repr__(self):
        return "%s/%s (%s %s)" % (self.office, self.segment, self.switch, self.port)


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


_hosts = {}

def pytest_collection_modifyitems(config, items):
    """The pair's own tests (test_core_pair.py) need the lab with a pair of core servers (lab.py --inventory
    inventories/lab-pair up): on any other lab they are deselected (reported so, never run or counted as passed)."""
    if len(CORES) == 2:
        return
    deselected = [item for item in items if item.path.name == "test_core_pair.py"]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.path.name != "test_core_pair.py"]


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
        client.run("ip -4 addr flush dev eth0 && ip addr add %s/%d dev eth0 && ip route replace default via %s"
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
    result = client.run("ip -4 addr flush dev eth0; %s %s eth0; timeout 30 unshare --uts dhclient -1 %s eth0 && "
                        "ip -4 -o addr show dev eth0" % (stop, files, files))
    assert result.rc == 0, result.stderr
    client.address = result.stdout.split("inet ")[1].split("/")[0]
    return client.address


def forget_clients(switch_host, *ports):
    """The switch forgets the MACs and DHCP clients its access ``ports`` learned (as their timeout would over the day):
    each port learns its client again from its next frame. For tests that bring more than the port's limit (4) of
    devices or MACs to one port, one after another."""
    switch_host.run("; ".join("nft flush set bridge ktc_switch %s_%s" % (kind, port)
                              for port in ports for kind in ("macs", "dhcp_clients")))


def check_isolation(core, segments, address):
    """Every ordered pair of ``segments`` (one client each) over the address ``address(client)`` gives: no segment
    reaches another, but NOC segments administer the shared servers. Each client probes every other at once (one
    command per client, the probes in parallel), so that a dropped probe costs its timeout once, not once per pair."""
    for target in segments:
        # Control: the target answers (core may reach it), so a failure below is the firewall's doing.
        assert core.run("ping -n -c 1 -W 2 %s", address(target)).rc == 0, target
    for source in segments:
        targets = [target for target in segments if target is not source]
        probes = " ".join("(ping -n -c 1 -W 2 %s >/dev/null 2>&1 && echo icmp %s) & "
                          "(timeout 2 bash -c '</dev/tcp/%s/22' 2>/dev/null && echo ssh %s) &"
                          % (address(t), address(t), address(t), address(t)) for t in targets)
        reached = set(tuple(line.split()) for line in source.run(probes + " wait").stdout.splitlines())
        for target in targets:
            administers = source.facts["noc"] and target.facts["kind"] == "services"
            assert (("icmp", address(target)) in reached) == administers, "%s -> %s (%s)" % (
                source, target, address(target))
            if not administers:
                assert ("ssh", address(target)) not in reached, "%s reached %s:22" % (source, target)


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


def converge(limit, extra_vars, env=None):
    """Run the main job (playbooks/site.yml) on ``limit`` with ``extra_vars``; return (returncode, output).

    The controller (localhost) is always in the limit, so validation and allocation run first as in production.
    """
    start = time.time()
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(REPO, LAB_INVENTORY), os.path.join(REPO, "playbooks", "site.yml"),
         "--limit", "localhost," + limit, "-e", extra_vars],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_FORCE_COLOR="0", **(env or {})),  # molecule forces colour on; the tests read it
        capture_output=True, text=True, timeout=600)
    # Printed with the test's output (pytest -rA): the converges are where the lab tests spend their time.
    print("converge --limit localhost,%s: rc %d in %.0f s" % (limit, completed.returncode, time.time() - start))
    return completed.returncode, completed.stdout + completed.stderr


def ad_hoc(host, module, arguments):
    """Run one module (``arguments`` as JSON) on ``host`` with the lab's inventory; return (returncode, output)."""
    completed = subprocess.run(
        ["ansible", "-i", os.path.join(REPO, LAB_INVENTORY), "--playbook-dir", os.path.join(REPO, "playbooks"),
         host, "-m", module, "-a", json.dumps(arguments)],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_FORCE_COLOR="0"), capture_output=True, text=True, timeout=300)
    return completed.returncode, completed.stdout + completed.stderr


def monitor(name, command):
    """Send one command to the qemu monitor of VM ``name``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(os.path.join(REPO, ".lab", "run", name + ".monitor"))
        connection.sendall(command.encode() + b"\n")
        time.sleep(1)


def set_link(name, interface, up):
    """Plug (``up``) or pull the cable of NIC ethN of VM ``name``: qemu's netdev nN (scripts/lab/lab.py)."""
    monitor(name, "set_link n%s %s" % (interface[3:], "on" if up else "off"))


def power_cut(name):
    """Reset the VM ``name`` at once, as a power cut would (qemu's monitor, system_reset): nothing is shut down."""
    monitor(name, "system_reset")


# Every file the roles manage on a device.
MANAGED = ("/etc/systemd/network/*ktc* /etc/systemd/networkd.conf.d/*ktc* /etc/sysctl.d/*ktc* /etc/nftables.conf "
           "/etc/nftables.d/* /etc/kea/kea-dhcp4.conf /etc/unbound/unbound.conf /etc/ktc/* /usr/local/sbin/ktc-* "
           "/etc/systemd/system/ktc-*")


def fingerprint(host):
    return host.check_output("sha256sum $(ls -d %s 2>/dev/null | sort)" % MANAGED)


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


# --- AWX's way of running a job, without AWX: the job templates of playbooks/awx/ktc_awx.yml run by ansible-runner in
# the private data directory layout AWX gives each job (project/ a fresh checkout of the project's repository,
# inventory/hosts a script printing the inventory as AWX imported it from the project, env/ the extra variables,
# survey answers, command line and machine credential). The project's repository is a bare git repository seeded from
# this working tree, so that what a job pushes back (ledger, events) is what the next job checks out.
AWX = _load("playbooks", "awx", "ktc_awx.yml")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="session")
def awx_scm(tmp_path_factory):
    """The project's repository (bare), holding this working tree as one commit on main."""
    seed = tmp_path_factory.mktemp("awx-seed")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if os.path.isfile(os.path.join(REPO, name)):
            os.makedirs(os.path.dirname(os.path.join(seed, name)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), os.path.join(seed, name))
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@localhost"]
    subprocess.run(git + ["init", "-q", "-b", "main"], cwd=seed, check=True)
    subprocess.run(git + ["add", "-A"], cwd=seed, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "seed"], cwd=seed, check=True)
    bare = str(tmp_path_factory.mktemp("awx-scm") / "ktc.git")
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), bare], check=True)
    return bare


def scm_file(scm, path):
    """A file as the project's repository holds it on main."""
    return subprocess.run(["git", "--git-dir", scm, "show", "main:" + path], capture_output=True, check=True).stdout


def awx_job(scm, template, answers=None, limit=None, extra_vars=None, timeout=1500):
    """Launch job template ``template`` against the lab inventory as AWX would; return (status, stdout).

    ``answers`` are the survey's answers (unanswered questions take their defaults; a required one must be answered);
    ``extra_vars`` override the template's own, as a launch-time prompt would.
    """
    spec = next(t for t in AWX["ktc_awx_job_templates"] if t["name"] == template)
    job = tempfile.mkdtemp(prefix="awx_job_")
    project = os.path.join(job, "project")
    subprocess.run(["git", "clone", "-q", scm, project], check=True)          # AWX: make_local_copy of the revision
    subprocess.run(["git", "checkout", "-q", "--detach"], cwd=project, check=True)
    # The lab's host keys are written at lab up, not committed (production's are, in inventories/production).
    shutil.copy(os.path.join(REPO, "inventories", "lab", "known_hosts"), os.path.join(project, "inventories", "lab"))
    # AWX environment: none of this controller's or molecule's ANSIBLE_* settings; ansible.cfg from the project.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    exported = subprocess.run(["ansible-inventory", "-i", os.path.join(project, "inventories", "lab"), "--list",
                               "--export"], cwd=project, env=env, capture_output=True, text=True, check=True).stdout
    os.makedirs(os.path.join(job, "inventory"))
    with open(os.path.join(job, "inventory", "hosts"), "w") as script:
        script.write("#!/usr/bin/env python3\nprint(%r)\n" % exported)
    os.chmod(os.path.join(job, "inventory", "hosts"), 0o700)
    survey = {q["variable"]: q.get("default") for q in spec.get("survey", [])}
    missing = [q["variable"] for q in spec.get("survey", []) if q.get("required") and q["variable"] not in (answers or {})]
    assert not missing, "survey questions left unanswered: %s" % missing
    variables = dict(spec.get("extra_vars") or {}, **{k: v for k, v in survey.items() if v not in (None, "")})
    variables.update(answers or {})
    variables.update(awx_job_id=1, awx_job_template_name=template, awx_user_name="ci", ktc_record_remote=scm)
    variables.update(extra_vars or {})
    os.makedirs(os.path.join(job, "env"))
    shutil.copy(os.path.join(REPO, ".lab", "ssh", "id_ed25519"), os.path.join(job, "env", "ssh_key"))
    with open(os.path.join(job, "env", "extravars"), "w") as handle:
        yaml.safe_dump(variables, handle)
    with open(os.path.join(job, "env", "envvars"), "w") as handle:
        yaml.safe_dump({"ANSIBLE_FORCE_COLOR": "True", "ANSIBLE_HOST_KEY_CHECKING": "False",
                        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "ANSIBLE_RETRY_FILES_ENABLED": "False",
                        "ANSIBLE_SSH_CONTROL_PATH_DIR": os.path.join(job, "cp"), "AWX_PRIVATE_DATA_DIR": job}, handle)
    cmdline = (["--check"] if spec.get("job_type") == "check" else []) + (["--diff"] if spec.get("diff_mode") else [])
    if cmdline:
        with open(os.path.join(job, "env", "cmdline"), "w") as handle:
            handle.write(" ".join(cmdline))
    command = ["ansible-runner", "run", job, "-p", spec["playbook"], "--ident", "1",
               "--inventory", os.path.join(job, "inventory", "hosts")]
    if limit:
        command += ["--limit", limit]
    start = time.time()
    subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    artifacts = os.path.join(job, "artifacts", "1")
    status = open(os.path.join(artifacts, "status")).read().strip()
    stdout = ANSI.sub("", open(os.path.join(artifacts, "stdout")).read())
    shutil.rmtree(job, ignore_errors=True)
    print("AWX job %r (limit %s): %s in %.0f s" % (template, limit or "none", status, time.time() - start))
    return status, stdout
