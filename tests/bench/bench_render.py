#!/usr/bin/env python3
"""Benchmark (not a test): render every file of every host of a generated KTC of 300 offices and 100 switches on the
controller, the time an operator waits before any device is touched (scripts/render.sh's way: site.yml in check
mode with the roles' render switches, no device).

Three runs, side by side in one invocation:
  star-jinja   today's star shape (each switch on its own core NIC, one office each) rendered by the code before
               the wiring model (commit BASELINE: the Jinja derivations of the trunks, the served segments and the
               switch inventory), taken from git history into a temporary directory;
  star-model   the same inventory rendered by this checkout (the wiring model, plugins/module_utils/ktc_topology.py);
  tree-model   the real shape: core bonded to a backbone, 20 building switches below it, 79 floor switches below
               those, the 300 offices spread over them (some on two switches), rendered by this checkout.
Each run prints its seconds, files and the slowest tasks (ansible.posix.profile_tasks); then the ratios.
  make bench-render     (a few minutes on 2 cores; needs no lab)
"""

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import ktc_ipam  # noqa: E402  pylint: disable=wrong-import-position
import ktc_site  # noqa: E402  pylint: disable=wrong-import-position

# The last commit before the wiring model: the Jinja derivation this benchmark compares against.
BASELINE = "e282d0f"
OFFICES, SWITCHES, BUILDINGS = 300, 100, 20


def site():
    rng = random.Random(14)
    offices = [{"id": "o%03d" % index, "name": "Office %d" % index,
                "bandwidth": {"guaranteed_mbit": 1, "ceiling_mbit": 500},
                "segments": [{"name": "staff", "hosts": rng.randint(10, 120)},
                             {"name": "wifi", "hosts": 60, "kind": "guest"}]} for index in range(OFFICES)]
    offices[0].update(noc=True)
    offices[0]["segments"][0]["noc"] = True
    return {"name": "KTC benchmark", "domain": "ktc.example.go.id", "timezone": "Asia/Makassar",
            "address_pool": "10.0.0.0/8", "vlan_pool": {"first": 100, "last": 3999},
            "management": {"vlan": 10, "prefix": "10.255.255.0/24"},
            "uplinks": [{"name": "primary", "bandwidth_mbit": 1000}, {"name": "backup", "bandwidth_mbit": 100}],
            "services": [], "offices": offices}


def core_host(ports):
    return {"core": {"ansible_host": "192.0.2.1", "ktc_management_address": "10.255.255.1",
                     "ktc_uplinks": [{"name": "primary", "interface": "up0", "address": "203.0.113.2/29",
                                      "gateway": "203.0.113.1"},
                                     {"name": "backup", "interface": "up1", "address": "198.51.100.18/30",
                                      "gateway": "198.51.100.17"}]}}


def switch(index, **wiring):
    return dict({"ansible_host": "192.0.2.%d" % (10 + index), "ktc_management_address": "10.255.255.%d" % (10 + index),
                 "ktc_switch_platform": "linux_bridge"}, **wiring)


def star():
    """Today's shape: switch i on core NIC t<i>, serving office i (offices beyond the switches have none)."""
    switches = {}
    for index in range(SWITCHES):
        office = "o%03d" % index
        switches["sw-%03d" % index] = switch(index, ktc_core_port="t%d" % index, ktc_switch_uplink="eth0",
                                             ktc_office=office, ktc_switch_access_ports={
                                                 "staff": ["swp1", "swp2"], "wifi": ["swp3"]})
    return switches


def tree():
    """Core bonded to sw-000 (the backbone); buildings below it; floors below the buildings; every office on a floor
    or building switch, one in five on a second switch too."""
    switches = {"sw-000": switch(0, ktc_parent="core", ktc_parent_port=["t0", "t1"], ktc_parent_bond="bond0",
                                 ktc_switch_uplink=["eth0", "eth1"], ktc_switch_uplink_bond="bond0",
                                 ktc_switch_access_ports={})}
    for index in range(1, BUILDINGS + 1):
        switches["sw-%03d" % index] = switch(index, ktc_parent="sw-000", ktc_parent_port="d%d" % index,
                                             ktc_switch_uplink="eth0", ktc_switch_access_ports={})
    for index in range(BUILDINGS + 1, SWITCHES):
        parent = 1 + (index - BUILDINGS - 1) % BUILDINGS
        switches["sw-%03d" % index] = switch(index, ktc_parent="sw-%03d" % parent,
                                             ktc_parent_port="d%d" % (100 + index), ktc_switch_uplink="eth0",
                                             ktc_switch_access_ports={})
    names = sorted(switches)[1:]
    for number in range(OFFICES):
        office = "o%03d" % number
        homes = [names[number % len(names)]]
        if number % 5 == 0:
            homes.append(names[(number * 7 + 3) % len(names)])
        for home in homes:
            ports = switches[home]["ktc_switch_access_ports"]
            ports["%s/staff" % office] = ["p%d" % number]
            ports["%s/wifi" % office] = ["w%d" % number]
    return switches


def inventory(directory, the_site, ledger, switches):
    os.makedirs(os.path.join(directory, "group_vars", "all"))
    with open(os.path.join(directory, "hosts.yml"), "w") as handle:
        yaml.safe_dump({"all": {"vars": {"ansible_connection": "local"}, "children": {
            "core_routers": {"hosts": core_host(switches)},
            "access_switches": {"hosts": switches}}}}, handle, default_flow_style=False)
    with open(os.path.join(directory, "group_vars", "all", "site.yml"), "w") as handle:
        yaml.safe_dump({"ktc_site": the_site, "ktc_environment": "bench"}, handle)
    with open(os.path.join(directory, "ipam.yml"), "w") as handle:
        handle.write(ktc_ipam.dump_ledger(ledger))
    with open(os.path.join(directory, "events.yml"), "w") as handle:
        handle.write("ktc_events: []\n")


def render(checkout, directory, out):
    """site.yml of ``checkout`` against inventory ``directory``, rendering into ``out``; returns (seconds, files, top
    tasks)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(checkout, "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="6",
               ANSIBLE_FORKS="10", PATH=os.path.join(REPO, ".venv", "bin") + ":" + os.environ["PATH"])
    command = ["ansible-playbook", "-i", directory, os.path.join(checkout, "playbooks", "site.yml"), "--check",
               "-e", "ktc_ledger_path=%s/ipam.yml" % directory, "-e", "ktc_events_path=%s/events.yml" % directory,
               "-e", "safe_apply_render_dir=%s" % out, "-e", "dhcp_dns_threads=2"]
    start = time.time()
    run = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    seconds = time.time() - start
    if run.returncode != 0:
        raise SystemExit("render failed in %s:\n%s" % (checkout, run.stdout[-4000:] + run.stderr[-2000:]))
    files = sum(len(names) for _, _, names in os.walk(out))
    recap = run.stdout[run.stdout.find("PLAY RECAP"):]
    top = [line for line in recap.splitlines() if " ----" in line][:6]
    return seconds, files, top


def main():
    work = tempfile.mkdtemp(prefix="ktc-bench-render-")
    try:
        baseline = os.path.join(work, "baseline")
        os.makedirs(baseline)
        archive = subprocess.run(["git", "archive", BASELINE, "ansible.cfg", "playbooks", "roles", "plugins"], cwd=REPO,
                                 capture_output=True)
        if archive.returncode != 0:
            raise SystemExit("commit %s (the Jinja baseline) is not in this clone: git fetch --unshallow" % BASELINE)
        subprocess.run(["tar", "-x", "-C", baseline], input=archive.stdout, check=True)
        the_site = site()
        validated = ktc_site.validate_site(the_site)
        ledger, _ = ktc_ipam.allocate(validated, ktc_ipam.empty_ledger())
        runs = {}
        for name, checkout, switches in (("star-jinja", baseline, star()), ("star-model", REPO, star()),
                                         ("tree-model", REPO, tree())):
            directory = os.path.join(work, name)
            inventory(directory, the_site, ledger, switches)
            runs[name] = render(checkout, directory, os.path.join(work, name + "-out"))
            seconds, files, top = runs[name]
            print("%-11s %7.1f s  %5d files  (%d offices, %d switches)" % (name, seconds, files, OFFICES, SWITCHES))
            for line in top:
                print("    " + line.strip())
        print()
        print("star-model / star-jinja: %.2fx the time" % (runs["star-model"][0] / runs["star-jinja"][0]))
        print("tree-model / star-jinja: %.2fx the time (the tree serves all %d offices, the star only %d)"
              % (runs["tree-model"][0] / runs["star-jinja"][0], OFFICES, SWITCHES))
        print("(%d cores, load %s)" % (os.cpu_count(), open("/proc/loadavg").read().split()[0]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
