"""The operator's playbooks on the controller: refusals change nothing; allocation is check/diff aware."""

import copy


def file_state(path):
    return path.read_bytes(), path.stat().st_mtime_ns


def new_office():
    return {"id": "bapenda", "name": "Badan Pendapatan Daerah", "bandwidth": {"guaranteed_mbit": 2, "ceiling_mbit": 10},
            "segments": [{"name": "staff", "hosts": 25}]}


def test_bad_site_is_refused_by_site_yml_before_anything_changes(playbook, lab_site, ledger):
    lab_site["offices"][1]["segments"][0]["hosts"] = -3
    lab_site["offices"].append(new_office())
    before = file_state(ledger)
    run = playbook("site.yml", {"ktc_site": lab_site, "ktc_ledger_path": str(ledger)})
    assert run.returncode != 0
    result = run.task("Validate ktc_site, the access switches and the ledger")
    assert "ktc_site.offices[bkpsdm].segments[staff].hosts: must be a whole number above 0 (got -3)" in result["msg"]
    assert "nothing was changed" in result["msg"]
    assert file_state(ledger) == before
    assert not any(t["task"]["name"].startswith("Allocate") for p in run.data["plays"] for t in p["tasks"])


def test_switch_naming_an_unknown_office_is_refused(playbook, lab_site, ledger, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    access_switches:\n      hosts:\n"
        "        sw-dispar: {ktc_office: dispar, ktc_switch_platform: linux_bridge, ktc_switch_uplink: eth1}\n")
    run = playbook("validate.yml", {"ktc_site": lab_site, "ktc_ledger_path": str(ledger)}, inventory=str(inventory))
    assert run.returncode != 0
    assert "switch sw-dispar: ktc_office 'dispar' is not an office of ktc_site" in \
        run.task("Validate ktc_site, the access switches and the ledger")["msg"]


def test_check_mode_shows_the_allocation_and_writes_nothing(playbook, lab_site, ledger):
    lab_site["offices"].append(new_office())
    before = file_state(ledger)
    run = playbook("allocate.yml", {"ktc_site": lab_site, "ktc_ledger_path": str(ledger)}, check=True)
    assert run.returncode == 0, run.stderr
    result = run.task("Allocate new segments and reservations into the ledger")
    assert result["changed"] is True
    assert result["allocated"] == ["bapenda/staff vlan 105 10.40.2.128/26", "bapenda/staff ipv6 2001:db8:40:105::/64"]
    assert ("bapenda:\n    staff:\n      prefix: 10.40.2.128/26\n      prefix6: 2001:db8:40:105::/64\n      vlan: 105\n"
            in result["diff"]["after"])
    assert result["diff"]["before"] == before[0].decode()
    assert file_state(ledger) == before


def test_allocation_writes_once_then_changes_nothing(playbook, lab_site, ledger):
    lab_site["offices"].append(new_office())
    extra = {"ktc_site": lab_site, "ktc_ledger_path": str(ledger)}
    first = playbook("allocate.yml", extra)
    assert first.returncode == 0, first.stderr
    assert first.stats["changed"] == 1
    written = file_state(ledger)
    assert b"bapenda:" in written[0]
    plan = first.task("Print the network plan")["msg"]
    assert any(line.startswith("bapenda/staff") and "10.40.2.128/26" in line for line in plan)

    second = playbook("allocate.yml", extra)
    assert second.returncode == 0
    assert second.stats["changed"] == 0
    assert file_state(ledger) == written


def test_removed_office_keeps_its_space_until_released(playbook, lab_site, ledger):
    without_bkpsdm = copy.deepcopy(lab_site)
    without_bkpsdm["offices"] = [o for o in lab_site["offices"] if o["id"] != "bkpsdm"]
    without_bkpsdm["offices"].append(dict(new_office(), segments=[{"name": "staff", "hosts": 40}]))
    extra = {"ktc_site": without_bkpsdm, "ktc_ledger_path": str(ledger)}
    kept = playbook("allocate.yml", extra, check=True).task("Allocate new segments and reservations into the ledger")
    assert kept["ledger"]["offices"]["bkpsdm"]["staff"]["prefix"] == "10.40.2.0/26"
    assert kept["allocated"] == ["bapenda/staff vlan 105 10.40.2.128/26", "bapenda/staff ipv6 2001:db8:40:105::/64"]

    released = playbook("release.yml", dict(extra, ktc_release=["bkpsdm"]), check=True)
    assert released.returncode == 0, released.stderr
    result = released.task("Allocate new segments and reservations into the ledger")
    assert result["released"] == ["bkpsdm/staff"]
    assert "bkpsdm" not in result["ledger"]["offices"]
    # The freed /26 is the lowest free block again: the new office of the same size gets it.
    # So are its VLAN and its /64 (released with it).
    assert result["allocated"] == ["bapenda/staff vlan 103 10.40.2.0/26", "bapenda/staff ipv6 2001:db8:40:103::/64"]


def test_release_of_an_office_still_in_the_site_is_refused(playbook, lab_site, ledger):
    before = file_state(ledger)
    run = playbook("release.yml", {"ktc_site": lab_site, "ktc_ledger_path": str(ledger), "ktc_release": ["bkpsdm"]})
    assert run.returncode != 0
    assert "release bkpsdm: bkpsdm/staff is still in site.yml" in \
        run.task("Allocate new segments and reservations into the ledger")["msg"]
    assert file_state(ledger) == before
