"""ktc_apply on this machine, in a temporary directory: install, validate, purge, check mode, failed activation.

The commit-confirmed timer needs systemd on the target; it is proved in the lab (tests/integration/test_safe_apply.py).
"""

import json
import os
import subprocess
import sys
import time

MODULE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "plugins", "modules", "ktc_apply.py")


def apply(tmp_path, check=False, diff=False, **args):
    args = dict({"name": "test", "state_dir": str(tmp_path / "state"), "_ansible_check_mode": check,
                 "_ansible_diff": diff}, **args)
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    completed = subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True)
    return json.loads(completed.stdout)


def test_installs_once_then_changes_nothing(tmp_path):
    target = tmp_path / "etc" / "a.conf"
    files = [{"path": str(target), "content": "a = 1\n"}]
    marker = tmp_path / "activated"
    activate = [{"command": "echo x >> %s" % marker}]
    first = apply(tmp_path, files=files, activate=activate)
    assert first["changed"] is True and target.read_text() == "a = 1\n"
    assert marker.read_text() == "x\n"
    second = apply(tmp_path, files=files, activate=activate)
    assert second["changed"] is False and second["activated"] == []
    assert marker.read_text() == "x\n"


def test_check_mode_reports_a_diff_and_touches_nothing(tmp_path):
    target = tmp_path / "a.conf"
    target.write_text("old\n")
    target.chmod(0o644)
    result = apply(tmp_path, check=True, diff=True, files=[{"path": str(target), "content": "new\n"}])
    assert result["changed"] is True
    assert result["diff"][0]["before"] == "old\n" and result["diff"][0]["after"] == "new\n"
    assert target.read_text() == "old\n"


def test_refused_file_installs_nothing(tmp_path):
    good, bad = tmp_path / "good.conf", tmp_path / "bad.conf"
    result = apply(tmp_path, files=[{"path": str(good), "content": "fine\n"},
                                    {"path": str(bad), "content": "broken\n", "validate": "grep -q fine %s"}])
    assert result.get("failed") and "was refused by `grep -q fine %s`" % bad in result["msg"]
    assert not good.exists() and not bad.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ktc-")] == []


def test_purge_removes_files_no_longer_rendered(tmp_path):
    keep, stale = tmp_path / "30-ktc-vlan100.network", tmp_path / "30-ktc-vlan999.network"
    stale.write_text("old segment\n")
    result = apply(tmp_path, files=[{"path": str(keep), "content": "x\n"}], purge=[str(tmp_path / "*-ktc-*")])
    assert result["changed"] is True and str(stale) in result["changed_files"]
    assert keep.exists() and not stale.exists()


def test_failed_activation_restores_the_previous_files(tmp_path):
    target = tmp_path / "a.conf"
    target.write_text("working\n")
    target.chmod(0o644)
    result = apply(tmp_path, files=[{"path": str(target), "content": "new\n"}],
                   activate=[{"command": "grep -q working %s" % target}])
    assert result.get("failed") and "the previous files were restored" in result["msg"]
    assert target.read_text() == "working\n"
    assert "activation failed" in (tmp_path / "state" / "test" / "rolled-back").read_text()


def test_activation_only_for_matching_changes(tmp_path):
    a, b = tmp_path / "a.conf", tmp_path / "b.conf"
    result = apply(tmp_path, files=[{"path": str(a), "content": "1\n"}, {"path": str(b), "content": "2\n"}],
                   activate=[{"command": "true a", "when_changed": [str(a)]},
                             {"command": "true c", "when_changed": [str(tmp_path / "c*")]}])
    assert result["activated"] == ["true a"]


def pending_change(tmp_path):
    """A change installed over a working file, as if its rollback timer were armed (pending) and not confirmed.
    The rollback's activation (run by the script, not at the apply) sleeps, so that a confirm can arrive meanwhile."""
    target = tmp_path / "a.conf"
    target.write_text("working\n")
    target.chmod(0o644)
    activated = tmp_path / "activated"
    result = apply(tmp_path, files=[{"path": str(target), "content": "new\n"}],
                   activate=[{"command": "sleep 2; echo x >> %s" % activated, "when_changed": ["/nothing"]}])
    assert result["changed"] is True and target.read_text() == "new\n"
    state = tmp_path / "state" / "test"
    (state / "pending").write_text("armed\n")
    return target, activated, state


def test_a_confirm_arriving_during_a_rollback_waits_for_it_and_fails_loudly(tmp_path):
    target, activated, state = pending_change(tmp_path)
    rollback = subprocess.Popen(["/bin/sh", str(state / "rollback.sh")])
    try:
        for _ in range(50):                       # the rollback has begun: it holds the lock, its files are back
            if target.read_text() == "working\n":
                break
            time.sleep(0.1)
        result = apply(tmp_path, confirm=True)
    finally:
        rollback.wait(timeout=30)
    assert result.get("failed") and result["msg"].startswith("ROLLBACK of bundle test"), result
    assert activated.read_text() == "x\n"        # the rollback ran to its end before the confirm answered
    assert not (state / "pending").exists()


def test_a_rollback_after_the_confirm_does_nothing(tmp_path):
    target, activated, state = pending_change(tmp_path)
    result = apply(tmp_path, confirm=True)
    assert result.get("confirmed") is True and not (state / "pending").exists()
    assert subprocess.run(["/bin/sh", str(state / "rollback.sh")]).returncode == 0
    assert target.read_text() == "new\n" and not activated.exists() and not (state / "rolled-back").exists()


def test_the_boot_rollback_restores_files_without_activating(tmp_path):
    target, activated, state = pending_change(tmp_path)
    assert subprocess.run(["/bin/sh", str(state / "rollback.sh"), "--boot", "restarted"]).returncode == 0
    assert target.read_text() == "working\n" and not activated.exists()
    assert "restarted" in (state / "rolled-back").read_text() and not (state / "pending").exists()
    result = apply(tmp_path, confirm=True)
    assert result.get("failed") and "ROLLBACK" in result["msg"] and "restarted" in result["msg"]


def test_units_are_reloaded_only_when_changed_and_enabled_only_when_not(tmp_path):
    """activate[].units, against a stand-in systemctl that records its calls (the lab's converges use the real one): a
    loaded unit whose file changed gets one daemon-reload, only a unit not yet enabled is enabled, and then the
    command runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "systemctl").write_text(
        "#!/bin/sh\necho \"$*\" >> %s\n"
        "case \"$*\" in\n"
        "  'show -p LoadState -p NeedDaemonReload -- changed.service') echo LoadState=loaded; echo NeedDaemonReload=yes ;;\n"
        "  'show -p LoadState -p NeedDaemonReload -- '*) echo NeedDaemonReload=no; echo LoadState=loaded ;;\n"
        "  'is-enabled -q -- new.service') exit 1 ;;\n"
        "esac\n" % calls)
    (bin_dir / "systemctl").chmod(0o755)
    os.environ["PATH"] = "%s:%s" % (bin_dir, os.environ["PATH"])
    try:
        result = apply(tmp_path, files=[{"path": str(tmp_path / "a.conf"), "content": "1\n"}],
                       activate=[{"command": "echo ran >> %s" % calls, "units": ["old.service", "changed.service",
                                                                           "new.service"]},
                                 {"command": "echo untouched >> %s" % calls, "units": ["old.service"]}])
    finally:
        os.environ["PATH"] = os.environ["PATH"].split(":", 1)[1]
    assert result["changed"] is True, result
    lines = calls.read_text().splitlines()
    assert lines.count("daemon-reload") == 1 and lines.index("daemon-reload") < lines.index("ran")
    assert [line for line in lines if line.startswith("enable")] == ["enable -q --no-reload -- new.service"]
    assert lines[-1] == "untouched" and lines.count("ran") == 1


def test_a_unit_name_that_is_not_one_is_refused_before_anything_changes(tmp_path):
    target = tmp_path / "a.conf"
    result = apply(tmp_path, files=[{"path": str(target), "content": "1\n"}],
                   activate=[{"command": "true", "units": ["radvd; touch /tmp/x"]}])
    assert result.get("failed") and "is not a systemd unit name" in result["msg"]
    result = apply(tmp_path, files=[{"path": str(target), "content": "1\n"}],
                   activate=[{"command": "true", "units": ["radvd\n"]}])
    assert result.get("failed") and "is not a systemd unit name" in result["msg"]
    assert not target.exists()


def test_a_bundle_name_that_is_not_a_plain_word_is_refused(tmp_path):
    for name in ("fire wall", "x;reboot", "../etc", "Firewall"):
        result = apply(tmp_path, name=name, files=[{"path": str(tmp_path / "a.conf"), "content": "a\n"}])
        assert result.get("failed") and "is not a bundle name" in result["msg"], name
        assert not (tmp_path / "a.conf").exists()
