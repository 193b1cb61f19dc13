"""ktc_probe on this machine: the live checks against installed files, and one list of problems."""

import json
import os
import subprocess
import sys

MODULE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "plugins", "modules", "ktc_probe.py")


def probe(tmp_path, **args):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    completed = subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True)
    return json.loads(completed.stdout)


def test_a_kernel_setting_as_its_file_says_is_no_problem_and_another_is(tmp_path):
    with open("/proc/sys/net/ipv4/ip_forward") as handle:
        value = int(handle.read())
    (tmp_path / "same.conf").write_text("net.ipv4.ip_forward = %d\n" % value)
    (tmp_path / "other.conf").write_text("net.ipv4.ip_forward = %d\n" % (1 - value))
    result = probe(tmp_path, checks=[{"check": "sysctl", "path": str(tmp_path / "same.conf")}])
    assert result["problems"] == [] and result["checks"][0]["differs"] is False and result["changed"] is False
    result = probe(tmp_path, checks=[{"check": "sysctl", "path": str(tmp_path / "other.conf")}])
    assert result["problems"] == ["kernel state differs from %s (- live, + repository): -net.ipv4.ip_forward = %d; "
                                  "+net.ipv4.ip_forward = %d" % (tmp_path / "other.conf", value, 1 - value)]


def test_a_missing_or_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "kea.conf").write_text("garbage\n")
    result = probe(tmp_path, checks=[{"check": "unbound", "path": str(tmp_path / "absent.conf")},
                                     {"check": "kea", "path": str(tmp_path / "kea.conf")}])
    assert result["problems"][0] == "unbound: %s is missing" % (tmp_path / "absent.conf")
    assert result["problems"][1].startswith("kea: %s cannot be checked" % (tmp_path / "kea.conf"))
