"""Run the repository's playbooks for real (ansible-playbook on the controller) and read their JSON results."""

import json
import os
import shutil
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PlaybookRun:
    def __init__(self, completed):
        self.returncode = completed.returncode
        self.stderr = completed.stderr
        self.data = json.loads(completed.stdout[completed.stdout.index("{"):])

    def task(self, name):
        """The localhost result of the task named ``name`` (last play that ran it)."""
        found = [t["hosts"]["localhost"] for play in self.data["plays"] for t in play["tasks"]
                 if t["task"]["name"] == name and "localhost" in t["hosts"]]
        assert found, "task %r did not run" % name
        return found[-1]

    @property
    def stats(self):
        return self.data["stats"]["localhost"]


@pytest.fixture
def lab_site():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")) as handle:
        return yaml.safe_load(handle)["ktc_site"]


@pytest.fixture
def ledger(tmp_path):
    """A copy of the lab ledger that the playbooks may write."""
    path = tmp_path / "ipam.yml"
    shutil.copy(os.path.join(REPO, "inventories", "lab", "ipam.yml"), path)
    return path


@pytest.fixture
def playbook(tmp_path):
    def run(name, extra_vars=None, inventory=None, check=False, limit=None):
        env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"), ANSIBLE_NOCOLOR="1")
        inventories = inventory if isinstance(inventory, list) else [inventory or os.path.join(REPO, "inventories", "lab")]
        command = ["ansible-playbook"] + [arg for path in inventories for arg in ("-i", str(path))] + [
            os.path.join(REPO, "playbooks", name)]
        if extra_vars:
            vars_file = tmp_path / "extra-vars.yml"
            vars_file.write_text(yaml.safe_dump(extra_vars))
            command += ["-e", "@%s" % vars_file]
        if check:
            command += ["--check", "--diff"]
        if limit:
            command += ["--limit", limit]
        return PlaybookRun(subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300))
    return run
