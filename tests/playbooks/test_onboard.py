"""playbooks/onboard.yml's preview on the controller: a new office in the site model, run with --check --diff, shows
its allocation in the ledger's diff and says PREVIEW; the ledger is not written. The devices' diffs in check mode are
those of the drift check, proved in the lab (tests/integration/test_drift.py); the applied onboarding is proved there
too (tests/integration/test_events.py). Runs limited to localhost, made an inventory host by a second inventory."""

import os
import shutil

import yaml

from conftest import REPO


def test_the_preview_shows_the_offices_allocation_and_writes_nothing(playbook, tmp_path, ledger):
    inventory = tmp_path / "lab"
    shutil.copytree(os.path.join(REPO, "inventories", "lab"), inventory)
    site_path = inventory / "group_vars" / "all" / "site.yml"
    site = yaml.safe_load(site_path.read_text())
    site["ktc_site"]["offices"].append({"id": "bapenda", "name": "Badan Pendapatan Daerah",
                                        "bandwidth": {"guaranteed_mbit": 1, "ceiling_mbit": 10},
                                        "segments": [{"name": "staff", "hosts": 30}]})
    site_path.write_text(yaml.safe_dump(site))
    (inventory / "hosts.yml").write_text((inventory / "hosts.yml").read_text().replace(
        "ktc_office: bkpsdm", "ktc_office: bapenda"))
    controller = tmp_path / "controller.yml"
    controller.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}))
    before = ledger.read_bytes()
    run = playbook("onboard.yml", {"onboard_office": "bapenda", "ktc_ledger_path": str(ledger)},
                   inventory=[inventory, controller], check=True, limit="localhost")
    assert run.returncode == 0, run.stderr
    allocation = run.task("Allocate new segments and reservations into the ledger")
    assert allocation["changed"] and "bapenda:\n    staff:\n" in allocation["diff"]["after"]
    summary = run.task("Show the office's segments")["msg"]
    assert summary.startswith("PREVIEW, nothing changed: bapenda") and "staff VLAN" in summary, summary
    assert ledger.read_bytes() == before


def test_an_office_missing_from_the_site_model_is_refused_naming_the_fix(playbook, tmp_path, ledger):
    controller = tmp_path / "controller.yml"
    controller.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}}}))
    run = playbook("onboard.yml", {"onboard_office": "bapenda", "ktc_ledger_path": str(ledger)},
                   inventory=[os.path.join(REPO, "inventories", "lab"), controller], check=True, limit="localhost")
    assert run.returncode != 0
    message = run.task("Check that the office is in the site model")["msg"]
    assert "onboard_office 'bapenda' is not an office of ktc_site in inventories/lab" in message
    assert "Fix: add it to ktc_site.offices" in message
