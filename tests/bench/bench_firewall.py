#!/usr/bin/env python
"""Benchmark (not a test): forwarding throughput through core with the lab's firewall, with a firewall generated
for 300 offices, and with no filter table at all, side by side on the same running lab.

A client of dukcapil/staff (namespace c-swp1 in sw-dukcapil) sends to an iperf3 server in the lab's isp
namespace on the host (192.0.2.80) through the switch's bridge, the trunk, core (firewall + NAT) and the
uplink. Each ruleset is loaded on core with `nft -f` and measured 3 times (10 s each; the median is kept).
The 300-office ruleset is the real template (roles/firewall) rendered by Ansible for the lab's offices plus
296 generated ones, allocated by ktc_ipam on top of the lab's ledger, so lab traffic still matches.
Afterwards core's own ruleset is loaded again.

    make lab-up converge && .venv/bin/python tests/bench/bench_firewall.py
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import ktc_ipam  # noqa: E402
import ktc_site  # noqa: E402  pylint: disable=wrong-import-position

SSH = ["ssh", "-F", os.path.join(REPO, ".lab", "ssh", "config")]
SERVER = "192.0.2.80"
RUNS, SECONDS = 3, 10


def sh(host, command, stdin=None):
    return subprocess.run(SSH + [host, command], input=stdin, capture_output=True, text=True, check=True).stdout


def load(name):
    with open(os.path.join(REPO, *name.split("/"))) as handle:
        return yaml.safe_load(handle)


def ruleset_for(offices):
    site = load("inventories/lab/group_vars/all/site.yml")["ktc_site"]
    hosts = load("inventories/lab/hosts.yml")["all"]["children"]["lab_vms"]["children"]
    core = hosts["core_routers"]["hosts"]["core"]
    for index in range(offices - len(site["offices"])):
        site["offices"].append({"id": "bench-%03d" % index, "name": "Generated office %d" % index,
                                "bandwidth": {"guaranteed_mbit": 0, "ceiling_mbit": 10},
                                "segments": [{"name": "staff", "hosts": 30}]})
    site, ledger, _ = ktc_ipam.plan(site, load("inventories/lab/ipam.yml"))
    variables = {"ktc_site": site, "ktc_segment_facts": ktc_ipam.segment_facts(site, ledger),
                 "ktc_uplinks": core["ktc_uplinks"], "firewall_controller_interfaces": ["eth0"],
                 "firewall_log_rate": "10/minute"}
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "vars.json"), "w") as handle:
            json.dump(variables, handle)
        out = os.path.join(tmp, "filter.nft")
        subprocess.run(["ansible", "localhost", "-m", "ansible.builtin.template", "-a",
                        "src=%s dest=%s" % (os.path.join(REPO, "roles/firewall/templates/etc/nftables.d/20-ktc-filter.nft.j2"),
                                            out), "-e", "@" + os.path.join(tmp, "vars.json")],
                       check=True, capture_output=True, cwd=REPO)
        with open(out) as handle:
            return handle.read()


def throughput():
    results = []
    for _ in range(RUNS):
        report = json.loads(sh("sw-dukcapil", "ip netns exec c-swp1 iperf3 -J -t %d -c %s" % (SECONDS, SERVER)))
        results.append(report["end"]["sum_received"]["bits_per_second"] / 1e6)
    return statistics.median(results), results


def main():
    facts = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(
        ktc_site.validate_site(load("inventories/lab/group_vars/all/site.yml")["ktc_site"]),
        load("inventories/lab/ipam.yml"))}[("dukcapil", "staff")]
    last = facts["dhcp_pools"][-1]["end"]
    sh("sw-dukcapil", "ip netns exec c-swp1 sh -c 'ip addr flush dev eth0; ip addr add %s/%d dev eth0; "
       "ip route replace default via %s'" % (last, facts["prefixlen"], facts["gateway"]))
    server = subprocess.Popen(["ip", "netns", "exec", "ktc-isp", "iperf3", "-s", "-B", SERVER],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    big = ruleset_for(300)
    sh("core", "cat > /tmp/ktc-filter-300.nft", stdin=big)
    rulesets = [
        ("lab firewall (%d office nets)" % sh("core", "nft -j list set inet ktc_filter office_nets").count('"prefix"'),
         "nft -f /etc/nftables.conf"),
        ("300-office firewall", "nft -f /tmp/ktc-filter-300.nft"),
        ("no filter table (NAT only)", "nft delete table inet ktc_filter"),
    ]
    figures = []
    try:
        for label, command in rulesets:
            sh("core", "nft -f /etc/nftables.conf && " + command)
            median, runs = throughput()
            figures.append((label, median))
            print("%-30s %7.1f Mbit/s  (runs: %s)" % (label, median, ", ".join("%.1f" % r for r in runs)), flush=True)
    finally:
        sh("core", "nft -f /etc/nftables.conf")
        server.terminate()
    lab, big300, none = (f[1] for f in figures)
    print("\n300-office / lab firewall: %.2fx   lab firewall / no filter: %.2fx   300-office / no filter: %.2fx"
          % (big300 / lab, lab / none, big300 / none))
    print("(%d lines in the 300-office filter file; load %s)" % (big.count("\n"), open("/proc/loadavg").read().strip()))


if __name__ == "__main__":
    main()
