"""The filter plugins through Ansible: what the roles' templates will read."""

import json
import os
import subprocess

import yaml

from conftest import REPO


def test_filters_through_ansible(tmp_path):
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path))
    completed = subprocess.run(["ansible-playbook", "-i", os.path.join(REPO, "inventories", "lab"),
                                "-e", "ktc_ledger_path=%s" % os.path.join(REPO, "inventories", "lab", "ipam.yml"),
                                os.path.join(REPO, "tests", "playbooks", "filters.yml")],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    msg = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]["msg"]
    with open(os.path.join(REPO, "inventories", "lab", "ipam.yml")) as handle:
        ledger = yaml.safe_load(handle)
    segments = {(s["office"], s["segment"]): s for s in msg["segments"]}
    assert set(segments) == {(o, s) for o, segs in ledger["offices"].items() for s in segs}
    wifi = segments[("dukcapil", "wifi")]
    assert wifi["prefix"] == ledger["offices"]["dukcapil"]["wifi"]["prefix"]
    assert wifi["kind"] == "guest" and wifi["interface"] == "vlan%d" % wifi["vlan"]
    assert msg["management_zones"] == ["255.40.10.in-addr.arpa"]


def test_results_through_ansible_hostvars(tmp_path):
    """The drift check's and verify's results, gathered by the ktc_results filters from every device's hostvars."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path))
    completed = subprocess.run(["ansible-playbook", "-i", os.path.join(REPO, "inventories", "lab"),
                                os.path.join(REPO, "tests", "playbooks", "results.yml")],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    msg = json.loads(completed.stdout)["plays"][1]["tasks"][0]["hosts"]["localhost"]["msg"]
    assert msg["drift"] == ["core: firewall: live ruleset differs from /etc/nftables.conf"]
    assert "ktc_drift_findings 1\n" in msg["drift_textfile"]
    lines = msg["verify_textfile"].splitlines()
    assert 'ktc_verify_problems{device="core"} 1' in lines and 'ktc_verify_problems{device="sw-bkpsdm"} 0' in lines
    assert "ktc_verify_timestamp_seconds 1764806400" in lines
