"""playbooks/drift_check.yml in the lab: green when every device matches the repository; a file changed by hand on
core fails it with a summary naming the device, the role and the file, and the diff shows the change."""

import os
import subprocess

from conftest import CORE_NAME, REPO, awx_job

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
