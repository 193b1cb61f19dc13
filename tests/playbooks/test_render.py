"""Golden renders: every file each role would install on every host of the lab, the lab with an open event and
production, rendered on the controller without any device (scripts/render.sh), equals the committed copy in
tests/render/<scenario>/<host>/<path>. Any change of output shows here as a diff; `make render` regenerates them."""

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


@pytest.mark.parametrize("scenario", ["lab", "lab-event", "production"])
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
