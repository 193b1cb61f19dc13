"""playbooks/network_plan.yml: the IP plan and the topology are generated from the ledger, and a rerun changes nothing."""

import csv
import os

import yaml

from conftest import REPO


def test_the_plan_holds_every_segment_of_the_ledger_and_a_rerun_changes_nothing(playbook, tmp_path):
    out = tmp_path / "plan"
    production = os.path.join(REPO, "inventories", "production")
    run = playbook("network_plan.yml", {"network_plan_dir": str(out)}, inventory=production)
    assert run.returncode == 0, run.stderr
    ledger = yaml.safe_load(open(os.path.join(production, "ipam.yml")))["offices"]
    expected = {(office, segment, entry["vlan"], entry["prefix"])
                for office, segments in ledger.items() for segment, entry in segments.items()}
    with open(out / "ip-plan.csv") as handle:
        rows = {(r["office"], r["segment"], int(r["vlan"]), r["prefix"]) for r in csv.DictReader(handle)}
    assert rows == expected
    markdown, html, dot = ((out / name).read_text() for name in ("ip-plan.md", "ip-plan.html", "topology.dot"))
    for _office, _segment, vlan, prefix in expected:
        assert "| %d | `%s` |" % (vlan, prefix) in markdown
        assert "<td>%d</td><td><code>%s</code></td>" % (vlan, prefix) in html
        assert '<TD ALIGN="RIGHT">%d</TD><TD ALIGN="LEFT">%s</TD>' % (vlan, prefix) in dot
    assert (out / "topology.svg").read_text().lstrip().startswith("<?xml")
    assert (out / "topology.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = playbook("network_plan.yml", {"network_plan_dir": str(out)}, inventory=production)
    assert again.returncode == 0 and again.stats["changed"] == 0, again.stderr


def test_the_plan_shows_each_segments_ipv6_prefix(playbook, tmp_path):
    out = tmp_path / "plan"
    lab = os.path.join(REPO, "inventories", "lab")
    run = playbook("network_plan.yml", {"network_plan_dir": str(out)}, inventory=lab)
    assert run.returncode == 0, run.stderr
    ledger = yaml.safe_load(open(os.path.join(lab, "ipam.yml")))
    expected = {(office, segment, entry["prefix6"])
                for office, segments in ledger["offices"].items() for segment, entry in segments.items()}
    with open(out / "ip-plan.csv") as handle:
        assert {(r["office"], r["segment"], r["prefix6"]) for r in csv.DictReader(handle)} == expected
    markdown, html, dot = ((out / name).read_text() for name in ("ip-plan.md", "ip-plan.html", "topology.dot"))
    for _office, _segment, prefix6 in expected:
        assert "| `%s` |" % prefix6 in markdown
        assert "<td><code>%s</code></td>" % prefix6 in html
        assert "<BR/>%s</TD>" % prefix6 in dot
    assert "`%s`" % ledger["management"]["prefix6"] in markdown
