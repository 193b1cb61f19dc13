#!/usr/bin/env python
"""Benchmark (not a test): how fairly core's uplink shaper shares the lab's uplink, and the latency under load.

The lab's primary uplink is shaped at the lab site model's 10 Mbit/s (the emulated VMs shape accurately only up
to about 10 Mbit/s; at 20 the emulated core itself capped the total near 17). Clients are the lab's client namespaces; the far end is iperf3 in the isp namespace.
Downloads (-R) go through the uplink's IFB (ingress shaping, classes found again with tc ctinfo).

1. Three offices download at once (4 flows each): each office's throughput against its share (HTB gives each
   office its guaranteed rate and lends the rest in proportion to it), Jain's fairness index of
   throughput / guaranteed rate.
2. An office with 8 flows against an office with 1 flow.
3. Inside one office, a host with 8 flows against a host with 1: cake (per-host fairness through NAT) against
   fq_codel (per-flow) as the classes' leaf queue.
4. Latency under load: ping RTT from a client while it downloads, minus idle RTT, shaped against unshaped,
   graded like the bufferbloat tests (A+ < 5 ms added, A < 30, B < 60, C < 200, D < 400, F).
5. An open event (playbooks/event.yml, 3 Mbit/s reserved, on bkpsdm's port) against two offices, all saturating:
   the event's throughput against its reservation. The event is closed afterwards (ledger and events file are
   temporary copies).

    make lab-up converge && .venv/bin/python tests/bench/bench_shaping.py [--event-only]
"""

import ipaddress
import json
import os
import subprocess
import sys
import tempfile
import threading

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import ktc_ipam  # noqa: E402
import ktc_site  # noqa: E402  pylint: disable=wrong-import-position

SSH = ["ssh", "-F", os.path.join(REPO, ".lab", "ssh", "config")]
SERVER, ISP = "192.0.2.80", "ktc-isp"
SECONDS = 20
EVENT_MBIT = 3


def load(name):
    with open(os.path.join(REPO, *name.split("/"))) as handle:
        return yaml.safe_load(handle)


SITE = load("inventories/lab/group_vars/all/site.yml")["ktc_site"]
FACTS = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(ktc_site.validate_site(SITE),
                                                                         load("inventories/lab/ipam.yml"))}
GUARANTEED = {o["id"]: o["bandwidth"]["guaranteed_mbit"] for o in SITE["offices"]}
CLIENTS = {  # name: (switch, namespace, office)
    "diskominfo-1": ("sw-diskominfo", "c-swp1", "diskominfo"),
    "diskominfo-2": ("sw-diskominfo", "c-swp2", "diskominfo"),
    "bkpsdm": ("sw-bkpsdm", "c-swp1", "bkpsdm"),
    "dukcapil": ("sw-dukcapil", "c-swp1", "dukcapil"),
}


def sh(host, command, check=True):
    return subprocess.run(SSH + [host, command], capture_output=True, text=True, check=check).stdout


def in_client(name, command):
    switch, namespace, _ = CLIENTS[name]
    return sh(switch, "ip netns exec %s sh -c '%s'" % (namespace, command))


def address_clients():
    used = {}
    for name, (switch, namespace, office) in CLIENTS.items():
        facts = FACTS[(office, "staff")]
        index = used.setdefault(office, 0)
        used[office] += 1
        last = facts["dhcp_pools"][-1]["end"].rsplit(".", 1)
        sh(switch, "ip netns exec %s sh -c 'pkill dhclient; ip addr flush dev eth0; ip addr add %s.%d/%d dev eth0; "
                   "ip route replace default via %s'" % (namespace, last[0], int(last[1]) - 10 - index,
                                                         facts["prefixlen"], facts["gateway"]))


def downloads(flows):
    """Run iperf3 downloads at once ({client: parallel flows}); return {client: Mbit/s}."""
    results, threads = {}, []

    def one(index, name, parallel):
        report = json.loads(in_client(name, "iperf3 -J -R -t %d -P %d -p %d -c %s" % (SECONDS, parallel, 5201 + index,
                                                                                   SERVER)))
        results[name] = report["end"]["sum_received"]["bits_per_second"] / 1e6

    for index, (name, parallel) in enumerate(flows.items()):
        threads.append(threading.Thread(target=one, args=(index, name, parallel)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    return results


def jain(values):
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def rtt(name, count=40, during=None):
    """Average ping RTT (ms) from a client to the isp; while `during` ({client: flows}) downloads when given."""
    pings = {}

    def ping():
        out = in_client(name, "sleep %d; ping -n -q -c %d -i 0.2 %s" % (5 if during else 0, count, SERVER))
        pings["out"] = out

    thread = threading.Thread(target=ping)
    thread.start()
    if during:
        downloads(during)
    thread.join()
    return float(pings["out"].split("rtt min/avg/max/mdev = ")[1].split("/")[1])


def grade(added_ms):
    for limit, name in ((5, "A+"), (30, "A"), (60, "B"), (200, "C"), (400, "D")):
        if added_ms < limit:
            return name
    return "F"


def converge_leaf(leaf):
    subprocess.run(["ansible-playbook", "-i", "inventories/lab", "playbooks/site.yml", "--limit", "localhost,core",
                    "-e", "core_router_shaping_leaf=%s" % leaf], cwd=REPO, check=True, capture_output=True)


def event_job(action, paths):
    extra = {"event_action": action, "event_name": "bench-ev", "event_office": "bkpsdm", "event_switch": "sw-bkpsdm",
             "event_ports": "swp1", "event_clients": 40, "event_reserved_mbit": EVENT_MBIT}
    extra.update(paths)
    subprocess.run(["ansible-playbook", "-i", "inventories/lab", "playbooks/event.yml", "--limit",
                    "localhost,core,sw-bkpsdm", "-e", json.dumps(extra)], cwd=REPO, check=True, capture_output=True)


def bench_event():
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"ktc_ledger_path": os.path.join(tmp, "ipam.yml"), "ktc_events_path": os.path.join(tmp, "events.yml")}
        subprocess.run(["cp", os.path.join(REPO, "inventories/lab/ipam.yml"), paths["ktc_ledger_path"]], check=True)
        subprocess.run(["cp", os.path.join(REPO, "inventories/lab/events.yml"), paths["ktc_events_path"]],
                       check=True)
        event_job("open", paths)
        try:
            prefix = ipaddress.ip_network(load_path(paths["ktc_ledger_path"])["offices"]["bkpsdm"]["bench-ev"]["prefix"])
            hosts = list(prefix.hosts())
            sh("sw-bkpsdm", "ip netns exec c-swp1 sh -c 'ip addr flush dev eth0; ip addr add %s/%d dev eth0; "
                            "ip route replace default via %s'" % (hosts[-2], prefix.prefixlen, hosts[0]))
            got = downloads({"bkpsdm": 4, "diskominfo-1": 4, "dukcapil": 4})
        finally:
            event_job("close", paths)
    print("\n5. An open event (%d Mbit/s reserved) against two offices, 4 flows each" % EVENT_MBIT)
    print("| class | reserved or guaranteed | got |")
    print("| --- | --- | --- |")
    print("| event (on bkpsdm's port) | %d Mbit/s reserved | %.2f Mbit/s (%.2fx its reservation) |"
          % (EVENT_MBIT, got["bkpsdm"], got["bkpsdm"] / EVENT_MBIT))
    for name, office in (("diskominfo-1", "diskominfo"), ("dukcapil", "dukcapil")):
        print("| office %s | %d Mbit/s guaranteed | %.2f Mbit/s |" % (office, GUARANTEED[office], got[name]))


def load_path(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def main():
    address_clients()
    for index in range(len(CLIENTS)):
        subprocess.run(["ip", "netns", "exec", ISP, "iperf3", "-s", "-D", "-p", str(5201 + index)], check=True)
    try:
        print("Uplink shaped at %d Mbit/s (lab site model); %d s per run; downloads through the IFB"
              % (SITE["uplinks"][0]["bandwidth_mbit"], SECONDS), flush=True)
        if "--event-only" in sys.argv:
            bench_event()
            return
        three = downloads({"diskominfo-1": 4, "bkpsdm": 4, "dukcapil": 4})
        offices = {"diskominfo": three["diskominfo-1"], "bkpsdm": three["bkpsdm"], "dukcapil": three["dukcapil"]}
        total = sum(offices.values())
        print("\n1. Three offices saturating the uplink (4 flows each)")
        print("| office | guaranteed | share (HTB) | got | got / share |")
        print("| --- | --- | --- | --- | --- |")
        guaranteed_total = sum(GUARANTEED[o] for o in offices)
        for office, got in offices.items():
            share = total * GUARANTEED[office] / guaranteed_total
            print("| %s | %d Mbit/s | %.2f | %.2f | %.2f |" % (office, GUARANTEED[office], share, got, got / share))
        print("Total %.2f Mbit/s; Jain's index of throughput / guaranteed: %.3f (1 = perfectly fair); of raw "
              "throughput: %.3f" % (total, jain([offices[o] / GUARANTEED[o] for o in offices]), jain(list(offices.values()))))

        two = downloads({"diskominfo-1": 8, "bkpsdm": 1})
        ratio = (two["diskominfo-1"] / GUARANTEED["diskominfo"]) / (two["bkpsdm"] / GUARANTEED["bkpsdm"])
        print("\n2. Office with 8 flows (diskominfo %.2f Mbit/s) against office with 1 flow (bkpsdm %.2f Mbit/s): "
              "per guaranteed Mbit %.2fx (1 = fair)" % (two["diskominfo-1"], two["bkpsdm"], ratio))

        print("\n3. Inside diskominfo: a host with 8 flows against a host with 1")
        print("| leaf queue | host with 8 flows | host with 1 flow | ratio |")
        print("| --- | --- | --- | --- |")
        for leaf in ("cake", "fq_codel"):
            if leaf != "cake":
                converge_leaf(leaf)
            hosts = downloads({"diskominfo-1": 8, "diskominfo-2": 1})
            print("| %s | %.2f | %.2f | %.2fx |" % (leaf, hosts["diskominfo-1"], hosts["diskominfo-2"],
                                                   hosts["diskominfo-1"] / hosts["diskominfo-2"]))
        converge_leaf("cake")

        print("\n4. Latency under load (dukcapil downloading with 4 flows, ping from the same host)")
        print("| uplink | idle RTT | loaded RTT | added | grade |")
        print("| --- | --- | --- | --- | --- |")
        for mode in ("shaped", "unshaped"):
            if mode == "unshaped":
                sh("core", "tc qdisc del dev eth1 root; tc qdisc del dev eth1 ingress", check=False)
            idle = rtt("dukcapil")
            loaded = rtt("dukcapil", during={"dukcapil": 4})
            print("| %s | %.1f ms | %.1f ms | %.1f ms | %s |" % (mode, idle, loaded, loaded - idle, grade(loaded - idle)))
        sh("core", "/usr/local/sbin/ktc-shaping")
        bench_event()
    finally:
        sh("core", "/usr/local/sbin/ktc-shaping", check=False)
        subprocess.run(["pkill", "-f", "iperf3 -s -D -p 52"], check=False)


if __name__ == "__main__":
    main()
