"""playbooks/drift_check.yml in the lab, as AWX's nightly job runs it: changes made by hand on core and on a switch, to
a file and to the running state (the files untouched), fail it with a summary naming the device, the role and what
differs, and the diff shows each change; check mode changes nothing; one converge puts the repository's state back,
and the drift check is green again. One round of jobs for all of them: each job costs minutes on the emulated lab."""

import os
import re
import subprocess

from conftest import CORE_NAME, CORE_VARS, REPO, SEGMENTS, SITE, awx_job, vm, wait_until

SWITCH = "sw-bkpsdm"
LIMIT = "localhost,%s,%s" % (CORE_NAME, SWITCH)
DOMAIN = SITE["domain"]
UPLINK = CORE_VARS["ktc_uplinks"][0]["interface"]

HAND_EDIT = "// changed by hand on core, not through the repository"


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


def recap(output, host):
    """(ok, changed) of ``host`` in the play recap."""
    match = re.search(r"^%s\s+: ok=(\d+)\s+changed=(\d+)" % re.escape(host), output, re.M)
    return int(match.group(1)), int(match.group(2))


def test_changes_by_hand_are_reported_with_their_diff_then_put_back_by_one_converge(awx_scm, core, addressed_clients):
    """By hand, all at once: a line appended to core's Kea file; on core's running state (its files untouched) an
    accept rule inserted at the top of the forward chain (every office opened to every other), an address nobody
    declared on a segment interface, a segment's VLAN interface deleted, radvd stopped, reverse-path filtering
    turned off, another segment's subnet taken out of Kea's running configuration (config-set), an office's shaping
    class deleted and a WPAD record (a client's address) added to Unbound; on a switch, another office's VLAN added
    to an access port. The drift check names each, with its diff, and changes nothing; one converge puts all back and
    isolation holds again; the drift check is then green, with nothing to change on either device."""
    offices = [c for c in addressed_clients if c.facts["kind"] == "office" and not c.facts["noc"]]
    source = offices[0]
    target = next(c for c in addressed_clients if (c.office, c.segment) != (source.office, source.segment)
                  and c.facts["kind"] == "office")
    victim = next(c for c in addressed_clients if c.facts["interface"] not in (source.facts["interface"],
                                                                              target.facts["interface"]))
    port = next(c for c in addressed_clients if c.switch == SWITCH)
    other_vlan = next(f["vlan"] for f in SEGMENTS.values() if f["vlan"] != port.facts["vlan"])
    assert not source.reaches(target.address), "control: isolated before"
    assert victim.reaches(victim.facts["gateway"]), "control: the victim's gateway answers"
    files = core.check_output("sha256sum /etc/nftables.conf /etc/systemd/network/*")
    kea_file = core.check_output("sha256sum /etc/kea/kea-dhcp4.conf")
    commands = [
        # Kea first: config-set refuses a configuration naming an interface that no longer exists (the deleted one).
        KEA_DROP_SUBNET % target.facts["prefix"],
        "echo '%s' >> /etc/kea/kea-dhcp4.conf" % HAND_EDIT,
        "nft insert rule inet ktc_filter forward accept",
        "ip addr add 10.40.255.77/24 dev %s" % source.facts["interface"],
        "ip link delete %s" % victim.facts["interface"],
        "systemctl stop radvd",
        "unbound-control -c /etc/unbound/unbound.conf local_data wpad.%s. A %s" % (DOMAIN, source.address),
        "sysctl -q -w net.ipv4.conf.all.rp_filter=0",
        "tc filter del dev {0} parent 1: protocol all prio 1 handle 0x{1} fw && tc class del dev {0} classid 1:{1}"
        .format(UPLINK, source.facts["shaping_class"]),
    ]
    named = [("firewall", "live ruleset differs from /etc/nftables.conf"),
             ("core_router", "interface state differs from /etc/systemd/network"),
             ("core_router", "kernel state differs from /etc/sysctl.d/60-ktc-router.conf"),
             ("dhcp_dns", "/etc/kea/kea-dhcp4.conf"),
             ("core_router", "service state differs from /etc/radvd.conf"),
             ("dhcp_dns", "Unbound's local data differs from /etc/unbound/unbound.conf"),
             ("dhcp_dns", "Kea's running configuration differs from /etc/kea/kea-dhcp4.conf"),
             ("core_router", "shaper state differs from /usr/local/sbin/ktc-shaping")]
    shown = ["-" + HAND_EDIT, "-accept", "10.40.255.77/24", "-%s: absent" % victim.facts["interface"],
             "-radvd: inactive", "-wpad.%s. A %s" % (DOMAIN, source.address), "-net.ipv4.conf.all.rp_filter = 0", "+subnet %s id=" % target.facts["prefix"]]
    try:
        for command in commands:
            core.check_output(command)
        vm(SWITCH).check_output("bridge vlan add dev %s vid %d" % (port.port, other_vlan))
        assert source.reaches(target.address), "the hole is real"
        assert not victim.reaches(victim.facts["gateway"]), "the segment is cut"

        status, output = awx_job(awx_scm, "KTC drift check", limit=LIMIT)
        flat = " ".join(output.split())
        assert status == "failed", output[-3000:]
        assert "%s: dhcp_dns: /etc/kea/kea-dhcp4.conf," % CORE_NAME in flat, output[-3000:]   # the file, first
        for role, what in named:
            # The summary lists each role's findings after "<device>: <role>: ", separated by commas.
            assert "%s: %s: " % (CORE_NAME, role) in flat and what in flat, (role, what, output[-3000:])
        assert "%s: access_switch: " % SWITCH in flat and "bridge state differs from /etc/systemd/network" in flat
        for text in shown:
            assert text in output, (text, output[-3000:])
        # The result reaches the metrics (the page, the KtcDriftDetected alert): the node exporter serves it.
        findings = core.check_output("curl -sf http://127.0.0.1:9100/metrics | grep '^ktc_drift_findings '")
        assert int(findings.split()[1]) == len({role for role, _what in named}) + 1, findings   # core per role, the switch
        # Check mode changed nothing.
        assert core.check_output("tail -1 /etc/kea/kea-dhcp4.conf") == HAND_EDIT
        assert core.check_output("sha256sum /etc/nftables.conf /etc/systemd/network/*") == files
        assert source.reaches(target.address)
    finally:
        status, output = awx_job(awx_scm, "KTC converge", limit=LIMIT)
    assert status == "successful" and recap(output, CORE_NAME)[1] > 0, output[-3000:]
    assert core.check_output("sha256sum /etc/kea/kea-dhcp4.conf") == kea_file
    assert not source.reaches(target.address), "isolated again after the converge"
    assert "10.40.255.77" not in core.check_output("ip -o addr show")
    assert wait_until(lambda: victim.reaches(victim.facts["gateway"]), 30), "the segment is back"
    assert core.check_output("systemctl is-active radvd") == "active"
    assert "wpad." not in core.check_output("unbound-control -c /etc/unbound/unbound.conf list_local_data")
    assert core.sysctl("net.ipv4.conf.all.rp_filter") == 1
    assert '"subnet": "%s"' % target.facts["prefix"] in core.check_output(KEA_GET)
    assert str(other_vlan) not in vm(SWITCH).check_output("bridge vlan show dev %s" % port.port).split()
    assert "class htb 1:%s " % source.facts["shaping_class"] in core.check_output("tc class show dev %s" % UPLINK)

    status, output = awx_job(awx_scm, "KTC drift check", limit=LIMIT)
    assert status == "successful" and "No drift" in output, output[-3000:]
    assert recap(output, CORE_NAME)[1] == recap(output, SWITCH)[1] == 0, output[-3000:]
