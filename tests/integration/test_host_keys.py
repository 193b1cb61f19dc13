"""Host keys and privilege: Ansible logs in as an unprivileged account, becomes root through sudo, and refuses a
device whose host key is not the one in the inventory's known_hosts."""

import os

import yaml

from conftest import REPO, converge, fingerprint, vm

SWITCH = "sw-bkpsdm"


def test_ansible_logs_in_unprivileged_and_every_root_command_is_in_the_sudo_trail():
    with open(os.path.join(REPO, "inventories", "lab", "hosts.yml")) as handle:
        lab_vms = yaml.safe_load(handle)["all"]["children"]["lab_vms"]["vars"]
    assert lab_vms["ansible_user"] == "ktc" and lab_vms["ansible_become"] is True
    switch = vm(SWITCH)
    assert switch.run("getent group sudo; id -u ktc").rc == 0
    # The converges before this test ran through sudo, and left their trail in the journal.
    trail = switch.check_output("journalctl -q _COMM=sudo | grep -c 'ktc : .*USER=root' || true")
    assert int(trail) > 0


def test_a_switch_whose_host_key_changed_fails_the_job_naming_it_and_is_left_alone(tmp_path):
    switch = vm(SWITCH)
    before = fingerprint(switch)
    switch.check_output("mkdir -p /root/hostkeys && cp -a /etc/ssh/ssh_host_* /root/hostkeys/ && "
                        "rm /etc/ssh/ssh_host_* && ssh-keygen -q -A && systemctl restart ssh")
    try:
        # A fresh control path: a connection kept open from an earlier run would skip the key exchange.
        returncode, output = converge(SWITCH, '{"access_switch_confirm_timeout": 60}',
                                      env={"ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp")})
        assert returncode != 0
        assert "fatal: [%s]: UNREACHABLE!" % SWITCH in output, output[-3000:]
        assert "Host key verification failed" in output or "REMOTE HOST IDENTIFICATION HAS CHANGED" in output
        assert fingerprint(switch) == before
    finally:
        switch.check_output("cp -a /root/hostkeys/ssh_host_* /etc/ssh/ && rm -rf /root/hostkeys && "
                            "systemctl restart ssh")
