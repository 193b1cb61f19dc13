"""An event network in the lab, opened and closed by the AWX job "KTC event" (playbooks/event.yml): its segment, its
port, its shaping class the offices cannot borrow, and after closing, every file on core and on the switch, the ledger
and the events file exactly as before."""

import ipaddress

import yaml

from conftest import SITE, SWITCHES, awx_job, classes, fingerprint, lease, scm_file

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


def test_an_event_opens_and_closes_leaving_every_file_as_it_was(awx_scm, core, switch_hosts, clients):
    switch = switch_hosts[SWITCH]
    client = next(c for c in clients if (c.switch, c.port) == (SWITCH, PORT))
    before = {"core": fingerprint(core), SWITCH: fingerprint(switch),
              "files": {path: scm_file(awx_scm, path) for path in (LEDGER_PATH, EVENTS_PATH)}}
    uplink = SITE["uplinks"][0]["bandwidth_mbit"]

    event_job(awx_scm, "open")
    # The job pushed the events file and the ledger to the project: the close job's fresh checkout starts from them.
    assert yaml.safe_load(scm_file(awx_scm, EVENTS_PATH))["ktc_events"][0]["name"] == EVENT["event_name"]
    entry = yaml.safe_load(scm_file(awx_scm, LEDGER_PATH))["offices"][EVENT["event_office"]][EVENT["event_name"]]
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
