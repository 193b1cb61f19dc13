"""An event network in the lab, opened and closed with playbooks/event.yml: its segment, its port, its shaping class
the offices cannot borrow, and after closing, every file on core and on the switch exactly as before."""

import ipaddress
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import CORE_NAME, REPO, SITE, SWITCHES, classes, lease

SWITCH = "sw-bkpsdm"
PORT = SWITCHES[SWITCH]["ktc_switch_access_ports"]["staff"][0]
EVENT = {"event_name": "cat-asn-1", "event_office": SWITCHES[SWITCH]["ktc_office"], "event_switch": SWITCH,
         "event_ports": PORT, "event_clients": 40, "event_reserved_mbit": 3,
         "event_starts": "2026-12-01 07:00", "event_ends": "2026-12-03 17:00"}
# Every file the roles manage on a device.
MANAGED = ("/etc/systemd/network/*ktc* /etc/systemd/networkd.conf.d/*ktc* /etc/sysctl.d/*ktc* /etc/nftables.conf "
           "/etc/nftables.d/* /etc/kea/kea-dhcp4.conf /etc/unbound/unbound.conf /etc/ktc/* /usr/local/sbin/ktc-* "
           "/etc/systemd/system/ktc-*")


def event_job(action, paths):
    """Run playbooks/event.yml (the AWX job) on core and the event's switch; the ledger and events file are copies."""
    extra = dict(EVENT, event_action=action, **paths)
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(REPO, "inventories", "lab"), os.path.join(REPO, "playbooks", "event.yml"),
         "--limit", "localhost,%s,%s" % (CORE_NAME, SWITCH), "-e", yaml.safe_dump(extra, default_flow_style=True)],
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_FORCE_COLOR="0"),
        capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]


def fingerprint(host):
    return host.check_output("sha256sum $(ls -d %s 2>/dev/null | sort)" % MANAGED)


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("event")
    shutil.copy(os.path.join(REPO, "inventories", "lab", "ipam.yml"), tmp / "ipam.yml")
    shutil.copy(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "events.yml"), tmp / "events.yml")
    return {"ktc_ledger_path": str(tmp / "ipam.yml"), "ktc_events_path": str(tmp / "events.yml")}


def test_an_event_opens_and_closes_leaving_every_file_as_it_was(core, switch_hosts, clients, paths):
    switch = switch_hosts[SWITCH]
    client = next(c for c in clients if (c.switch, c.port) == (SWITCH, PORT))
    before = {"core": fingerprint(core), SWITCH: fingerprint(switch),
              "files": {name: open(path, "rb").read() for name, path in paths.items()}}
    uplink = SITE["uplinks"][0]["bandwidth_mbit"]

    event_job("open", paths)
    entry = yaml.safe_load(open(paths["ktc_ledger_path"]))["offices"][EVENT["event_office"]][EVENT["event_name"]]
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

    event_job("close", paths)
    assert minor not in classes(core, "eth1") and minor not in classes(core, "ifb-primary")
    assert {"core": fingerprint(core), SWITCH: fingerprint(switch),
            "files": {name: open(path, "rb").read() for name, path in paths.items()}} == before
    lease(client)  # back in its office's segment for the tests that follow
