"""playbooks/drift_check.yml in the lab: green when every device matches the repository; a file changed by hand on
core fails it with a summary naming the device, the role and the file, and the diff shows the change. A change made
by hand to the running state (the files untouched) is reported the same way and undone by the next converge."""

import os
import re
import subprocess

from conftest import CORE_NAME, CORE_VARS, REPO, SEGMENTS, SITE, awx_job, converge, vm, wait_until

SWITCH = "sw-bkpsdm"
DOMAIN = SITE["domain"]
UPLINK = CORE_VARS["ktc_uplinks"][0]["interface"]

HAND_EDIT = "// changed by hand on core, not through the repository"


def drift_check(scm):
    """The AWX job template "KTC drift check" (job type check, with diff), as the nightly schedule launches it."""
    status, output = awx_job(scm, "KTC drift check")
    return 0 if status == "successful" else 1, output


def test_drift_check_is_green_then_names_a_hand_edit_and_its_diff(awx_scm, core):
    returncode, output = drift_check(awx_scm)
    assert returncode == 0 and "No drift" in output, output[-3000:]
    before = core.check_output("sha256sum /etc/kea/kea-dhcp4.conf")
    core.check_output("echo '%s' >> /etc/kea/kea-dhcp4.conf" % HAND_EDIT)
    try:
        returncode, output = drift_check(awx_scm)
        assert returncode != 0
        assert "DRIFT: %s: dhcp_dns: /etc/kea/kea-dhcp4.conf." % CORE_NAME in " ".join(output.split()), output[-3000:]
        assert "-" + HAND_EDIT in output          # the diff: the repository's file lacks the line
        assert core.check_output("tail -1 /etc/kea/kea-dhcp4.conf") == HAND_EDIT   # check mode changed nothing
    finally:
        status, output = awx_job(awx_scm, "KTC converge", limit="localhost," + CORE_NAME)
    assert status == "successful", output[-3000:]
    assert core.check_output("sha256sum /etc/kea/kea-dhcp4.conf") == before


def test_drift_check_refuses_to_run_for_real():
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(REPO, "inventories", "lab"), os.path.join(REPO, "playbooks", "drift_check.yml")],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                     ANSIBLE_FORCE_COLOR="0"),
        capture_output=True, text=True, timeout=300)
    assert completed.returncode != 0 and "run it with --check --diff" in completed.stdout
    assert "PLAY [Core router" not in completed.stdout    # stopped before any device


KEA_SOCKET = "/run/kea/kea4-ctrl-socket"
KEA_GET = "echo '{\"command\": \"config-get\"}' | socat -t 10 UNIX-CONNECT:%s -" % KEA_SOCKET
# Run on core: Kea's running configuration without one subnet, set through the control socket (config-set), as an
# operator would to take a segment's DHCP away by hand; the file is left alone.
KEA_DROP_SUBNET = """python3 - %s <<'EOF'
import json, socket, sys
def command(text):
    client = socket.socket(socket.AF_UNIX)
    client.connect("{socket}")
    client.sendall(json.dumps(text).encode())
    data = b""
    while True:
        data += client.recv(65536)
        try:
            return json.loads(data)
        except ValueError:
            pass
config = command({{"command": "config-get"}})["arguments"]
config.pop("hash", None)
config["Dhcp4"]["subnet4"] = [s for s in config["Dhcp4"]["subnet4"] if s["subnet"] != sys.argv[1]]
assert command({{"command": "config-set", "arguments": config}})["result"] == 0
EOF""".format(socket=KEA_SOCKET)


def drift_check_of(limit):
    """playbooks/drift_check.yml run directly (as the AWX template does) on ``limit`` and the controller."""
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(REPO, "inventories", "lab"), os.path.join(REPO, "playbooks", "drift_check.yml"),
         "--check", "--diff", "--limit", "localhost," + limit],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_FORCE_COLOR="0"),
        capture_output=True, text=True, timeout=600)
    return completed.returncode, completed.stdout + completed.stderr


def changed_count(output, host):
    return int(re.search(r"^%s\s+: ok=\d+\s+changed=(\d+)" % re.escape(host), output, re.M).group(1))


def test_the_running_state_changed_by_hand_is_reported_and_put_back(core, addressed_clients):
    """Changes made by hand to core's running state, the files untouched: first an accept rule inserted at the top of
    the forward chain (every office opened to every other), an address nobody declared on a segment interface, a
    segment's VLAN interface deleted, Unbound stopped, reverse-path filtering turned off and another segment's subnet
    taken out of Kea's running configuration (config-set), an office's shaping class deleted, and on a switch another
    office's VLAN added to an access port; then the whole filter table deleted and a WPAD record (a client's address)
    added to Unbound. Each time the drift check names core, the
    function and the difference, and one converge puts the repository's state back; a second converge changes
    nothing, and isolation holds again."""
    offices = [c for c in addressed_clients if c.facts["kind"] == "office" and not c.facts["noc"]]
    source = offices[0]
    target = next(c for c in addressed_clients if (c.office, c.segment) != (source.office, source.segment)
                  and c.facts["kind"] == "office")
    victim = next(c for c in addressed_clients if c.facts["interface"] not in (source.facts["interface"],
                                                                              target.facts["interface"]))
    assert not source.reaches(target.address), "control: isolated before"
    assert victim.reaches(victim.facts["gateway"]), "control: the victim's gateway answers"
    files = core.check_output("sha256sum /etc/nftables.conf /etc/systemd/network/*")
    rounds = [
        # Kea first: config-set refuses a configuration naming an interface that no longer exists (the deleted one).
        ([KEA_DROP_SUBNET % target.facts["prefix"],
          "nft insert rule inet ktc_filter forward accept",
          "ip addr add 10.40.255.77/24 dev %s" % source.facts["interface"],
          "ip link delete %s" % victim.facts["interface"],
          "systemctl stop unbound",
          "sysctl -q -w net.ipv4.conf.all.rp_filter=0",
          "tc filter del dev {0} parent 1: protocol all prio 1 handle 0x{1} fw && tc class del dev {0} classid 1:{1}"
          .format(UPLINK, source.facts["shaping_class"])],
         [(CORE_NAME, "firewall", "live ruleset differs from /etc/nftables.conf"),
          (CORE_NAME, "core_router", "interface state differs from /etc/systemd/network"),
          (CORE_NAME, "core_router", "kernel state differs from /etc/sysctl.d/60-ktc-router.conf"),
          (CORE_NAME, "dhcp_dns", "service state differs from /etc/unbound/unbound.conf"),
          (CORE_NAME, "dhcp_dns", "Kea's running configuration differs from /etc/kea/kea-dhcp4.conf"),
          (CORE_NAME, "core_router", "shaper state differs from /usr/local/sbin/ktc-shaping")],
         ["-accept", "10.40.255.77/24", "-%s: absent" % victim.facts["interface"], "-unbound: inactive",
          "-net.ipv4.conf.all.rp_filter = 0", "+subnet %s id=" % target.facts["prefix"]]),
        (["nft delete table inet ktc_filter",
          "unbound-control local_data wpad.%s. A %s" % (DOMAIN, source.address)],
         [(CORE_NAME, "firewall", "live ruleset differs from /etc/nftables.conf"),
          (CORE_NAME, "dhcp_dns", "Unbound's local data differs from /etc/unbound/unbound.conf")],
         ["+table inet ktc_filter {", "-wpad.%s. A %s" % (DOMAIN, source.address)]),
    ]
    # A VLAN added by hand to an access port of a switch: its clients' frames reach another office's segment.
    port = next(c for c in addressed_clients if c.switch == SWITCH)
    other_vlan = next(f["vlan"] for f in SEGMENTS.values() if f["vlan"] != port.facts["vlan"])
    rounds[0][0].append((SWITCH, "bridge vlan add dev %s vid %d" % (port.port, other_vlan)))
    rounds[0][1].append((SWITCH, "access_switch", "bridge state differs from /etc/systemd/network"))
    for commands, named, shown in rounds:
        for command in commands:
            host, command = command if isinstance(command, tuple) else (CORE_NAME, command)
            vm(host).check_output(command)
        if any("insert" in command for command in commands if isinstance(command, str)):
            assert source.reaches(target.address), "the hole is real"
            assert not victim.reaches(victim.facts["gateway"]), "the segment is cut"
        returncode, output = drift_check_of(CORE_NAME + "," + SWITCH)
        flat = " ".join(output.split())
        assert returncode != 0, output[-3000:]
        for host, role, what in named:
            # The summary lists each role's findings after "<device>: <role>: ", separated by commas.
            assert "%s: %s: " % (host, role) in flat and what in flat, (host, role, what, output[-3000:])
        for text in shown:
            assert text in output, output[-3000:]
        assert core.check_output("sha256sum /etc/nftables.conf /etc/systemd/network/*") == files
        returncode, output = converge(CORE_NAME + "," + SWITCH, "{}")
        assert returncode == 0 and changed_count(output, CORE_NAME) > 0, output[-3000:]
        assert not source.reaches(target.address), "isolated again after the converge"
        assert "10.40.255.77" not in core.check_output("ip -o addr show")
        assert "wpad." not in core.check_output("unbound-control -c /etc/unbound/unbound.conf list_local_data")
        assert wait_until(lambda: victim.reaches(victim.facts["gateway"]), 30), "the segment is back"
        assert core.check_output("systemctl is-active unbound") == "active"
        assert core.sysctl("net.ipv4.conf.all.rp_filter") == 1
        assert '"subnet": "%s"' % target.facts["prefix"] in core.check_output(KEA_GET)
        assert str(other_vlan) not in vm(SWITCH).check_output("bridge vlan show dev %s" % port.port).split()
        assert "class htb 1:%s " % source.facts["shaping_class"] in core.check_output("tc class show dev %s" % UPLINK)
    returncode, output = converge(CORE_NAME + "," + SWITCH, "{}")
    assert returncode == 0 and changed_count(output, CORE_NAME) == changed_count(output, SWITCH) == 0, output[-3000:]
