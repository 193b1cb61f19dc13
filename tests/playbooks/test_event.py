"""playbooks/event.yml on the controller: open and close an event in the ledger and the events file, refusals before
anything is written, and a close that restores both files byte for byte. No device is touched: the runs are limited
to localhost, made an inventory host by a second inventory (--limit cannot name the implicit localhost alone)."""

import json
import os
import shutil

import pytest
import yaml

from conftest import REPO

OPEN = {"event_action": "open", "event_name": "cat-asn-1", "event_office": "bkpsdm", "event_switch": "sw-bkpsdm",
        "event_ports": "swp1", "event_clients": 40, "event_reserved_mbit": 3,
        "event_starts": "2026-12-01 07:00", "event_ends": "2026-12-03 17:00"}
CLOSE = {"event_action": "close", "event_name": "cat-asn-1", "event_office": "bkpsdm"}


@pytest.fixture
def files(tmp_path, ledger):
    """Copies of the lab's ledger and events file for the playbook to write; the extra vars pointing at them."""
    events = tmp_path / "events.yml"
    shutil.copy(os.path.join(REPO, "inventories", "lab", "events.yml"), events)
    return {"ktc_ledger_path": str(ledger), "ktc_events_path": str(events)}


@pytest.fixture
def event(playbook, tmp_path):
    controller = tmp_path / "controller.yml"
    controller.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}))

    def run(extra_vars, check=False):
        return playbook("event.yml", extra_vars, inventory=[os.path.join(REPO, "inventories", "lab"), controller],
                        check=check, limit="localhost")
    return run


def snapshot(paths):
    return {name: open(path, "rb").read() for name, path in paths.items()}


def test_open_allocates_the_event_and_a_rerun_changes_nothing(event, files):
    run = event(dict(files, **OPEN))
    assert run.returncode == 0, run.stderr
    events = yaml.safe_load(open(files["ktc_events_path"]))["ktc_events"]
    assert events == [{"name": "cat-asn-1", "office": "bkpsdm", "clients": 40, "reserved_mbit": 3, "switch": "sw-bkpsdm",
                       "ports": ["swp1"], "starts": "2026-12-01 07:00", "ends": "2026-12-03 17:00"}]
    entry = yaml.safe_load(open(files["ktc_ledger_path"]))["offices"]["bkpsdm"]["cat-asn-1"]
    assert entry["vlan"] and entry["prefix"]
    again = event(dict(files, **OPEN))
    assert again.returncode == 0 and again.stats["changed"] == 0, again.stderr


def test_close_returns_both_files_to_their_bytes_before_the_event(event, files):
    before = snapshot(files)
    assert event(dict(files, **OPEN)).returncode == 0
    assert snapshot(files) != before
    run = event(dict(files, **CLOSE))
    assert run.returncode == 0, run.stderr
    assert snapshot(files) == before


@pytest.mark.parametrize("change, message", [
    ({"event_reserved_mbit": 10}, "events: they reserve 10 Mbit/s while the offices' guarantees take 7"),
    ({"event_switch": "sw-dukcapil"}, "event cat-asn-1.switch: sw-dukcapil serves office dukcapil, not bkpsdm"),
    ({"event_name": "staff"}, "office bkpsdm already has a segment or event named staff"),
    ({"event_office": "nowhere"}, "event cat-asn-1.office: 'nowhere' is not an office of ktc_site"),
    # Every survey field with a hostile value (AWX passes survey answers as data; so does the -e file here).
    ({"event_ports": "swp3$(touch${IFS}pwned)"}, "event cat-asn-1.ports: 'swp3$(touch${IFS}pwned)' is not a Linux"),
    ({"event_ports": "swp7"}, "event cat-asn-1.ports: 'swp7' is not an access port of sw-bkpsdm (it has: swp1, swp2)"),
    ({"event_name": "cat;id"}, "event cat;id.name: 'cat;id' must be 1..12 of [a-z0-9-]"),
    ({"event_office": "bkpsdm\nnoc: true"}, "is not an office of ktc_site"),
    ({"event_switch": "sw-bkpsdm$(id)"}, "event cat-asn-1.switch: 'sw-bkpsdm$(id)' is not a host name"),
    ({"event_ends": "2026-12-31 25:00"}, "event cat-asn-1.ends: '2026-12-31 25:00' is not a real date and time"),
])
def test_an_event_the_site_cannot_take_is_refused_before_anything_is_written(event, files, change, message):
    before = snapshot(files)
    run = event(dict(files, **dict(OPEN, **change)))
    assert run.returncode != 0
    assert message in run.task("Refuse an event the site cannot take, before anything is written")["msg"]
    assert snapshot(files) == before


@pytest.mark.parametrize("change", [{"event_clients": "40; reboot"}, {"event_reserved_mbit": "3`id`"},
                                    {"event_starts": "2026-12-01 07:00; id"}, {"event_action": "open;id"}])
def test_a_request_with_a_malformed_field_is_refused_before_anything_is_written(event, files, change):
    before = snapshot(files)
    run = event(dict(files, **dict(OPEN, **change)))
    assert run.returncode != 0
    assert "Give event_action (open or close" in run.task("Check the request")["msg"]
    assert snapshot(files) == before


def test_an_events_file_holding_a_template_is_read_as_data_and_refused(playbook, files, tmp_path):
    """A value written into the events file (by a survey, or by hand in git) is never templated when read back: the
    pipe lookup does not run, and the validator refuses the value, naming the event and the field."""
    marker = tmp_path / "pwned"
    hostile = dict(OPEN, name="x{{ lookup('pipe', 'touch %s') }}" % marker)
    hostile = {k.replace("event_", ""): v for k, v in hostile.items() if k != "event_action"}
    hostile.update(clients=40, reserved_mbit=3, ports=["swp1"])
    with open(files["ktc_events_path"], "w") as handle:
        yaml.safe_dump({"ktc_events": [hostile]}, handle)
    run = playbook("validate.yml", files)
    assert run.returncode != 0
    message = run.task("Validate ktc_site, the access switches and the ledger")["msg"]
    assert "name: \"x{{ lookup('pipe'" in message or "name: 'x{{ lookup('pipe'" in message, message
    assert not marker.exists()


def test_check_mode_previews_the_event_and_writes_nothing(event, files):
    before = snapshot(files)
    run = event(dict(files, **OPEN), check=True)
    assert run.returncode == 0, run.stderr
    assert run.task("Write the open events")["changed"]
    assert "bkpsdm/cat-asn-1" in " ".join(run.task("Allocate new segments and reservations into the ledger")["allocated"])
    assert snapshot(files) == before


def test_close_ended_closes_only_the_events_whose_end_has_passed(playbook, tmp_path, files):
    """event_action=close-ended (the hourly AWX schedule): an event that ended is closed and released, one still
    running stays; when nothing has ended, nothing is written."""
    ended = dict(OPEN, event_name="cat-asn-0", event_starts="2026-01-01 07:00", event_ends="2026-01-01 17:00", event_ports="swp1", event_reserved_mbit=2)
    running = dict(OPEN, event_name="cat-asn-9", event_ends="2999-01-01 17:00", event_clients=20, event_reserved_mbit=1)
    inventory = tmp_path / "lab"
    shutil.copytree(os.path.join(REPO, "inventories", "lab"), inventory)
    # A second staff port on sw-bkpsdm, for the second event.
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    hosts["all"]["children"]["lab_vms"]["children"]["access_switches"]["hosts"]["sw-bkpsdm"][
        "ktc_switch_access_ports"]["staff"].append("swp9")
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    controller = tmp_path / "controller.yml"
    controller.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}))
    # The events file the inventory holds is the one the job writes, as in the repository.
    paths = dict(files, ktc_events_path=str(inventory / "events.yml"))

    def run(extra_vars):
        return playbook("event.yml", dict(paths, **extra_vars), inventory=[inventory, controller], limit="localhost")

    assert run(ended).returncode == 0
    after_ended = snapshot(paths)
    opened = run(dict(running, event_ports="swp9"))
    assert opened.returncode == 0, json.dumps(opened.data)[-3000:]
    closing = run({"event_action": "close-ended"})
    assert closing.returncode == 0, closing.stderr
    events = yaml.safe_load(open(paths["ktc_events_path"]))["ktc_events"]
    assert [e["name"] for e in events] == ["cat-asn-9"]
    offices = yaml.safe_load(open(paths["ktc_ledger_path"]))["offices"]["bkpsdm"]
    assert "cat-asn-0" not in offices and "cat-asn-9" in offices
    assert snapshot(paths) != after_ended
    idle = run({"event_action": "close-ended"})
    assert idle.returncode == 0 and idle.stats["changed"] == 0, idle.stderr
