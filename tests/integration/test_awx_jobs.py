"""The operators' AWX jobs in the lab, each launched from its job template in playbooks/awx/ktc_awx.yml and run by
ansible-runner in the directory layout AWX gives a job (conftest.awx_job): backup, verify, restore after core was
broken by hand, the network plan. Onboarding and the event jobs: test_events.py."""

import ipaddress
import os
import re
import subprocess
import tarfile

import yaml

from conftest import CORE_NAME, SWITCHES, awx_job, fingerprint, lease, scm_file, wait_until

STAMP = re.compile(r"^\d{8}T\d{6}Z-lab-test\.tar\.gz$")


def test_backup_then_restore_core_after_breaking_it(awx_scm, core, clients, tmp_path):
    backups = tmp_path / "backups"
    where = {"backup_dir": str(backups)}
    before = fingerprint(core)
    leases = core.check_output("sha256sum < /var/lib/kea/kea-leases4.csv")

    status, output = awx_job(awx_scm, "KTC backup", {"backup_label": "lab-test", "backup_keep": 2}, extra_vars=where)
    assert status == "successful", output[-3000:]
    archives = {host: os.listdir(backups / "lab" / host) for host in [CORE_NAME] + sorted(SWITCHES)}
    assert all(len(names) == 1 and STAMP.match(names[0]) for names in archives.values()), archives
    with tarfile.open(backups / "lab" / CORE_NAME / archives[CORE_NAME][0]) as archive:
        members = archive.getnames()
        lease_file = archive.extractfile("var/lib/kea/kea-leases4.csv").read()
    assert {"etc/kea/kea-dhcp4.conf", "etc/unbound/unbound.conf", "etc/nftables.conf",
            "usr/local/sbin/ktc-shaping"} <= set(members)
    assert subprocess.run(["sha256sum"], input=lease_file, capture_output=True).stdout.decode() == leases + "\n"

    # Broken by hand: DHCP, DNS and the firewall of core.
    core.check_output("echo garbage > /etc/kea/kea-dhcp4.conf && rm /etc/unbound/unbound.conf && "
                      "nft delete table inet ktc_filter && (systemctl restart kea-dhcp4-server unbound || true)")
    status, output = awx_job(awx_scm, "KTC verify")
    flat = " ".join(output.split())
    assert status == "failed" and "-kea-dhcp4-server: failed" in flat, output[-3000:]
    assert "kea: /etc/kea/kea-dhcp4.conf cannot be checked" in flat and "unbound: /etc/unbound/unbound.conf is missing" in flat
    assert "live ruleset differs from /etc/nftables.conf (- live, + repository): +table inet ktc_filter {" in flat

    status, output = awx_job(awx_scm, "KTC restore", {"backup_restore_stamp": "20000101T000000Z"}, limit=CORE_NAME,
                             extra_vars=where)
    assert status == "failed" and "core has no backup 20000101T000000Z" in " ".join(output.split()), output[-3000:]
    assert core.check_output("cat /etc/kea/kea-dhcp4.conf") == "garbage"     # refused before touching anything

    stamp = archives[CORE_NAME][0].split("-")[0]
    status, output = awx_job(awx_scm, "KTC restore", {"backup_restore_stamp": stamp}, limit=CORE_NAME, extra_vars=where)
    assert status == "successful", output[-3000:]
    assert fingerprint(core) == before
    assert core.run("systemctl is-active kea-dhcp4-server unbound").rc == 0
    assert core.run("systemctl is-active ktc-restore-rollback.timer").rc != 0     # confirmed
    # What the failed verify found is back (a second verify job would cost minutes for the same three checks).
    assert core.run("nft list table inet ktc_filter").rc == 0
    assert core.run("kea-dhcp4 -t /etc/kea/kea-dhcp4.conf && unbound-checkconf").rc == 0
    client = clients[0]
    assert ipaddress.ip_address(lease(client)) in ipaddress.ip_network(client.facts["prefix"])


def test_a_restore_the_controller_never_confirms_is_undone_and_a_bad_backup_is_refused(core):
    """ktc-restore on its own: without the controller's confirmation the device puts back what it had; a backup whose
    configuration does not validate is never activated; a damaged archive, or one holding a path the backup role does
    not own, is refused before anything is stopped or written."""
    role = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "backup")
    script = open(os.path.join(role, "files", "ktc-restore")).read()
    with open(os.path.join(role, "defaults", "main.yml")) as handle:
        owned = " ".join("'%s'" % path for path in yaml.safe_load(handle)["backup_paths"])
    core.check_output("cat > /root/ktc-restore <<'EOF'\n%sEOF\nchmod 0755 /root/ktc-restore" % script)
    before = fingerprint(core)

    def untouched():
        assert fingerprint(core) == before
        assert core.run("systemctl is-active kea-dhcp4-server").rc == 0
        assert core.run("systemctl is-active -q ktc-restore-rollback.timer").rc != 0   # nothing was even armed

    # A damaged archive (a valid one cut in half), then one that slips root's authorized_keys in beside /etc/kea.
    core.check_output("tar -czf /tmp/d.tar.gz -C / etc/kea etc/sysctl.d && head -c $(($(stat -c %s /tmp/d.tar.gz) / 2)) "
                      "/tmp/d.tar.gz > /tmp/damaged.tar.gz")
    refused = core.run("/root/ktc-restore restore /tmp/damaged.tar.gz 60 %s" % owned)
    assert refused.rc == 1 and "is damaged" in refused.stderr, refused.stderr
    untouched()
    core.check_output("mkdir -p /tmp/x/root/.ssh /tmp/x/etc/kea && cp /etc/kea/kea-dhcp4.conf /tmp/x/etc/kea/ && "
                      "echo 'ssh-ed25519 AAAA attacker' > /tmp/x/root/.ssh/authorized_keys && "
                      "tar -czf /tmp/x.tar.gz -C /tmp/x etc/kea root/.ssh")
    keys = core.check_output("sha256sum /root/.ssh/authorized_keys")
    refused = core.run("/root/ktc-restore restore /tmp/x.tar.gz 60 %s" % owned)
    assert refused.rc == 1 and "does not own" in refused.stderr and "root/.ssh/authorized_keys" in refused.stderr, \
        refused.stderr
    assert "etc/kea/kea-dhcp4.conf" not in refused.stderr          # the owned member is not listed as foreign
    assert core.check_output("sha256sum /root/.ssh/authorized_keys") == keys
    untouched()

    # A "backup" holding a different (valid) sysctl file, never confirmed. The timer must outlast the activation
    # (services restart: about 10 s on the emulated core).
    core.check_output("mkdir -p /tmp/b/etc/sysctl.d && echo 'net.ipv4.conf.all.log_martians = 1' > "
                      "/tmp/b/etc/sysctl.d/60-ktc-router.conf && tar -czf /tmp/b.tar.gz -C /tmp/b etc/sysctl.d")
    core.check_output("/root/ktc-restore restore /tmp/b.tar.gz 40 %s" % owned)
    assert "log_martians" in core.check_output("cat /etc/sysctl.d/60-ktc-router.conf")
    assert wait_until(lambda: core.run("systemctl is-active -q ktc-restore-rollback.timer").rc != 0, timeout=90)
    assert wait_until(lambda: fingerprint(core) == before, timeout=30)    # rolled back by the device itself
    # A backup whose Kea configuration is invalid.
    core.check_output("mkdir -p /tmp/c/etc/kea && echo '{' > /tmp/c/etc/kea/kea-dhcp4.conf && "
                      "tar -czf /tmp/c.tar.gz -C /tmp/c etc/kea")
    refused = core.run("/root/ktc-restore restore /tmp/c.tar.gz 60 %s" % owned)
    assert refused.rc == 1 and "does not validate" in refused.stderr
    assert fingerprint(core) == before
    assert core.run("systemctl is-active kea-dhcp4-server").rc == 0
    core.check_output("rm -rf /tmp/b /tmp/c /tmp/x /tmp/*.tar.gz /root/ktc-restore")


def test_the_network_plan_job_records_the_plan_in_the_project(awx_scm):
    status, output = awx_job(awx_scm, "KTC network plan")
    assert status == "successful", output[-3000:]
    plan = scm_file(awx_scm, "docs/network-plan/lab/ip-plan.csv").decode()
    assert "diskominfo" in plan and "10.40." in plan
