"""Golden renders: every file each role would install on every host of the lab, the lab with an open event, the lab with
a pair of core servers and production, rendered on the controller without any device (scripts/render.sh), equals the
committed copy in tests/render/<scenario>/<host>/<path>. Any change of output shows here as a diff; `make render` regenerates them."""

import difflib
import os
import subprocess

import pytest

from conftest import REPO

GOLDEN = os.path.join(REPO, "tests", "render")


def tree(root):
    """{relative path: bytes} of every file under ``root``."""
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = handle.read()
    return found


@pytest.mark.parametrize("scenario", ["lab", "lab-event", "lab-pair", "production"])
def test_every_rendered_file_equals_its_golden_copy(scenario, tmp_path):
    run = subprocess.run([os.path.join(REPO, "scripts", "render.sh"), scenario, str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    rendered, golden = tree(tmp_path / scenario), tree(os.path.join(GOLDEN, scenario))
    assert golden, "no golden files for %s: run make render" % scenario
    assert sorted(rendered) == sorted(golden), "files differ (make render, then review the git diff)"
    diffs = []
    for path in sorted(rendered):
        if rendered[path] != golden[path]:
            diffs.extend(difflib.unified_diff(golden[path].decode().splitlines(), rendered[path].decode().splitlines(),
                                              "golden/" + path, "rendered/" + path, lineterm="", n=1))
    assert not diffs, "\n".join(diffs[:80] + ["(make render regenerates tests/render; review the git diff)"])


def test_the_scenarios_cover_both_platforms_and_an_open_event():
    production = tree(os.path.join(GOLDEN, "production"))
    assert any(path.endswith("ios-commands.yml") for path in production)
    assert any(path.endswith("etc/nftables.conf") and "sw-" in path for path in production)
    event = tree(os.path.join(GOLDEN, "lab-event"))
    assert b"cat-asn-1" in event["core/etc/kea/kea-dhcp4.conf"]
    assert b"cat-asn-1" not in tree(os.path.join(GOLDEN, "lab"))["core/etc/kea/kea-dhcp4.conf"]


def test_moving_production_from_the_star_to_the_tree_moves_no_segment(tmp_path):
    """The rehearsal of docs/operators.md "Moving from one NIC per switch to the backbone": production as it was wired (each switch
    on a NIC of core) and as it is (a bond to the backbone, switches below it) give core the same segments: every
    VLAN interface, address, DHCP pool, DNS record, firewall set and shaping class is byte-identical; only the
    trunk, bond and management-VLAN files of the links themselves differ."""
    run = subprocess.run([os.path.join(REPO, "scripts", "render.sh"), "production-star", str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    star, tree_ = tree(tmp_path / "production-star" / "core-ktc"), tree(os.path.join(GOLDEN, "production", "core-ktc"))

    def link_file(path):
        return os.path.basename(path).startswith(("19-ktc-", "20-ktc-trunk-", "26-ktc-", "ktc-bundle-core_router"))

    same = sorted(path for path in star if not link_file(path))
    assert same == sorted(path for path in tree_ if not link_file(path))
    assert [p for p in same if "30-ktc-vlan" in p], "no segment interface rendered"
    assert [path for path in same if star[path] != tree_[path]] == []
    assert sorted(p for p in star if "20-ktc-trunk-" in p) != sorted(p for p in tree_ if "20-ktc-trunk-" in p)


def test_the_metrics_files_of_production_pass_the_checks_core_runs_before_installing_them():
    """What core's safe apply runs on each file before it is installed (roles/metrics): promtool and amtool."""
    metrics = os.path.join(GOLDEN, "production", "core-ktc", "etc", "prometheus")
    for command in (["promtool", "check", "config", "--syntax-only", os.path.join(metrics, "prometheus.yml")],
                    ["promtool", "check", "rules", os.path.join(metrics, "ktc-rules.yml")],
                    ["amtool", "check-config", os.path.join(metrics, "alertmanager.yml")]):
        run = subprocess.run(command, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
