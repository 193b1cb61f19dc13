"""An office onboarded, then an event network opened and closed in the same room, by the AWX jobs "KTC onboard an
office" (playbooks/onboard.yml) and "KTC event" (playbooks/event.yml): the office's segment, then the event's
segment, port and shaping class the offices cannot borrow, and at the end every file on core and on the switch, the
ledger and the events file exactly as before. One scenario, because each job converges core and the switch: the
event's open job, run from the project without the new office, is also the converge that takes the office away
(the lab has no spare switch), and the close job's return to the first state proves both ways back."""

import ipaddress
import os
import subprocess

import yaml

from conftest import CORE_NAME, MODEL, SITE, SWITCHES, awx_job, classes, fingerprint, lease, scm_file

SWITCH = "sw-bkpsdm"
PORT = SWITCHES[SWITCH]["ktc_switch_access_ports"]["staff"][0]
LEDGER_PATH, EVENTS_PATH = "inventories/lab/ipam.yml", "inventories/lab/events.yml"
EVENT = {"event_name": "cat-asn-1", "event_office": SWITCHES[SWITCH]["ktc_office"], "event_switch": SWITCH,
         "event_ports": PORT, "event_clients": 40, "event_reserved_mbit": 3,
         "event_starts": "2026-12-01 07:00", "event_ends": "2026-12-03 17:00"}


def event_job(scm, action):
    """Launch the AWX job template "KTC event" with the survey's answers (conftest.awx_job)."""
    status, output = awx_job(scm, "KTC event", dict(EVENT, event_action=action))
    assert status == "successful", output[-4000:]
    return output


def scm_revision(scm):
    return subprocess.run(["git", "--git-dir", scm, "rev-parse", "main"], capture_output=True, text=True,
                          check=True).stdout.strip()


def commit_to_project(scm, tmp_path, edit, message):
    """What an operator does before onboarding: change the repository, review, push to main."""
    checkout = str(tmp_path / "operator")
    subprocess.run(["git", "clone", "-q", scm, checkout], check=True)
    edit(checkout)
    git = ["git", "-C", checkout, "-c", "user.name=operator", "-c", "user.email=noc@localhost"]
    subprocess.run(git + ["commit", "-qam", message], check=True)
    subprocess.run(git + ["push", "-q", "origin", "HEAD:main"], check=True)


def add_bapenda(checkout):
    """A new office, bapenda, takes over the room of sw-bkpsdm."""
    site_path = os.path.join(checkout, "inventories", "lab", "group_vars", "all", "site.yml")
    site = open(site_path).read().rstrip("\n")
    open(site_path, "w").write(site + "\n    - id: bapenda\n      name: Badan Pendapatan Daerah\n"
                               "      bandwidth: {guaranteed_mbit: 1, ceiling_mbit: 10}\n"
                               "      segments:\n        - {name: staff, hosts: 30}\n")
    hosts_path = os.path.join(checkout, "inventories", "lab", "hosts.yml")
    hosts = open(hosts_path).read().replace("ktc_office: bkpsdm", "ktc_office: bapenda")
    open(hosts_path, "w").write(hosts)


def test_an_office_is_onboarded_then_an_event_opens_and_closes_in_its_room(awx_scm, core, switch_hosts, clients,
                                                                           tmp_path):
    """Onboarding: the apply job allocates, converges core and the switch, verifies, and pushes the ledger back; the
    switch's client gets an address of bapenda's and reaches the internet. The preview (check mode) is proved where
    it costs no device run: its ledger diff on the controller (tests/playbooks/test_onboard.py), the devices' diffs
    in check mode by the drift check (test_drift.py). Then bapenda leaves (main as before) and an event opens on
    the switch's first port; closing it leaves every file as it was before bapenda came."""
    switch = switch_hosts[SWITCH]
    client = next(c for c in clients if (c.switch, c.port) == (SWITCH, PORT))
    path = [SWITCH]           # the switch and those on its way to core: their trunks carry the new VLANs too
    while MODEL["switches"][path[-1]]["depth"] > 1:
        path.append(MODEL["switches"][path[-1]]["parent"])
    before = {"core": fingerprint(core), SWITCH: fingerprint(switch),
              "files": {path: scm_file(awx_scm, path) for path in (LEDGER_PATH, EVENTS_PATH)}}
    seed = scm_revision(awx_scm)

    commit_to_project(awx_scm, tmp_path, add_bapenda, "bapenda moves into the room of sw-bkpsdm")
    try:
        status, output = awx_job(awx_scm, "KTC onboard an office", {"onboard_office": "bapenda"})
        assert status == "successful", output[-4000:]
        bapenda = yaml.safe_load(scm_file(awx_scm, LEDGER_PATH))["offices"]["bapenda"]["staff"]
        log = subprocess.run(["git", "--git-dir", awx_scm, "log", "-1", "--format=%s", "main"], capture_output=True,
                             text=True, check=True).stdout.strip()
        assert log == "onboard: bapenda"                      # recorded by the job, for the next job's checkout
        assert ipaddress.ip_address(lease(client)) in ipaddress.ip_network(bapenda["prefix"])
        assert client.reaches("192.0.2.80")
    except BaseException:
        # Put the lab back for the tests that follow: main as before, then the main job.
        subprocess.run(["git", "--git-dir", awx_scm, "update-ref", "refs/heads/main", seed], check=True)
        awx_job(awx_scm, "KTC converge", limit="localhost,%s,%s" % (CORE_NAME, ",".join(path)))
        raise

    # bapenda leaves again (main as before; its ledger entry was only on the branch dropped here), the event opens.
    subprocess.run(["git", "--git-dir", awx_scm, "update-ref", "refs/heads/main", seed], check=True)
    uplink = SITE["uplinks"][0]["bandwidth_mbit"]
    event_job(awx_scm, "open")
    # The job pushed the events file and the ledger to the project: the close job's fresh checkout starts from them.
    assert yaml.safe_load(scm_file(awx_scm, EVENTS_PATH))["ktc_events"][0]["name"] == EVENT["event_name"]
    ledger = yaml.safe_load(scm_file(awx_scm, LEDGER_PATH))
    assert "bapenda" not in ledger["offices"]
    entry = ledger["offices"][EVENT["event_office"]][EVENT["event_name"]]
    # The scenario's point: the event takes the VLAN bapenda left, so its shaping class number too, which must move
    # from the offices' parent to the root (tc cannot move a class: test_shaping.py).
    assert entry["vlan"] == bapenda["vlan"], (entry, bapenda)
    minor = "1:%x" % entry["vlan"]
    for device in ("eth1", "ifb-primary"):
        found = classes(core, device)
        # The event's class hangs off the root: the offices' parent (1:3) shrinks by the reservation.
        assert found[minor]["parent"] == "1:1" and found[minor]["rate"] == EVENT["event_reserved_mbit"] * 1000 ** 2
        assert found["1:3"]["ceil"] == (uplink - EVENT["event_reserved_mbit"]) * 1000 ** 2
    address = lease(client)
    assert ipaddress.ip_address(address) in ipaddress.ip_network(entry["prefix"]), address
    # Isolated like a guest segment: internet only.
    assert entry["prefix"] in core.check_output("nft list set inet ktc_filter guest_nets")
    assert client.reaches("192.0.2.80")

    event_job(awx_scm, "close")
    assert minor not in classes(core, "eth1") and minor not in classes(core, "ifb-primary")
    assert {"core": fingerprint(core), SWITCH: fingerprint(switch),
            "files": {path: scm_file(awx_scm, path) for path in (LEDGER_PATH, EVENTS_PATH)}} == before
    lease(client)  # back in its office's segment for the tests that follow


def test_an_event_job_with_shell_code_in_a_port_is_refused_and_touches_no_device(awx_scm, core, switch_hosts):
    """The survey's port field once reached a shell on the switch (ktc-bridge-ports): now the job stops on the
    controller, naming the field, before any device, and nothing is pushed to the project."""
    switch = switch_hosts[SWITCH]
    before = {"core": fingerprint(core), SWITCH: fingerprint(switch), "events": scm_file(awx_scm, EVENTS_PATH)}
    status, output = awx_job(awx_scm, "KTC event", dict(EVENT, event_action="open",
                                                         event_ports="swp3$(touch${IFS}/root/pwned)"))
    assert status == "failed"
    assert "event cat-asn-1.ports: 'swp3$(touch${IFS}/root/pwned)' is not a Linux interface name" in output, output[-3000:]
    assert switch.run("test -e /root/pwned").rc != 0 and switch.run("test -e /pwned").rc != 0
    assert {"core": fingerprint(core), SWITCH: fingerprint(switch), "events": scm_file(awx_scm, EVENTS_PATH)} == before
