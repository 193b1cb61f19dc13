#!/usr/bin/env python
"""Benchmark (not a test): what the metrics (roles/metrics) cost core's forwarding, with and without them, side by
side in one run on the lab.

Modes alternate (on, off, on, off, ...) so that a slow spell of the shared host falls on both: "on" is the lab as
converged (Prometheus scraping every metrics_scrape_interval, Alertmanager, the node exporter, KTC's exporter),
"off" the same with those four services stopped. In each round and mode, from bkpsdm's client:

1. unshaped forwarding: the shaper removed (as bench_shaping.py does), an iperf3 download with 4 flows from the isp
   namespace through core's NAT: what the emulated core can forward, and core's CPU idle meanwhile;
2. shaped: the same download through the office's class, and the ping RTT to the isp meanwhile (latency under load).

Prints a table per round and the medians, with the ratio on / off. Afterwards the shaper and the four services are
as they were.

    make lab-up converge && .venv/bin/python tests/bench/bench_metrics.py [--rounds 3]
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_shaping as lab  # noqa: E402  pylint: disable=wrong-import-position

SERVICES = "ktc-exporter prometheus prometheus-alertmanager prometheus-node-exporter"
CLIENT = "bkpsdm"
SECONDS = 15


def download():
    """Mbit/s of a 4-flow iperf3 download from the isp to the client; a run that stalls is cut and run again."""
    for _attempt in range(3):
        out = lab.sh(lab.CLIENTS[CLIENT][0], "ip netns exec %s timeout %d iperf3 -J -R -t %d -P 4 -p 5201 -c %s"
                     % (lab.CLIENTS[CLIENT][1], SECONDS + 20, SECONDS, lab.SERVER), check=False)
        try:
            return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6
        except (ValueError, KeyError):
            time.sleep(3)
    raise RuntimeError("iperf3 failed three times: %s" % out[-500:])


def cpu_ticks():
    """(all, idle) jiffies of core's CPU."""
    fields = lab.sh("core", "head -1 /proc/stat").split()[1:]
    return sum(int(f) for f in fields[:8]), int(fields[3])


def forwarding():
    """Mbit/s of an unshaped 4-flow download, and core's idle share meanwhile."""
    lab.sh("core", "tc qdisc del dev eth1 root; tc qdisc del dev eth1 ingress", check=False)
    try:
        before = cpu_ticks()
        got = download()
        after = cpu_ticks()
    finally:
        lab.sh("core", "/usr/local/sbin/ktc-shaping")
    return got, (after[1] - before[1]) / max(1, after[0] - before[0])


def shaped():
    """Mbit/s of a shaped 4-flow download, and the ping RTT (ms) during it."""
    found = {}

    def ping():
        out = lab.in_client(CLIENT, "sleep 3; ping -n -q -c 40 -i 0.2 -W 2 %s" % lab.SERVER)
        found["rtt"] = float(out.split("rtt min/avg/max/mdev = ")[1].split("/")[1])

    thread = threading.Thread(target=ping)
    thread.start()
    got = download()
    thread.join()
    return got, found["rtt"]


def main():
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    lab.address_clients()
    subprocess.run(["ip", "netns", "exec", lab.ISP, "iperf3", "-s", "-D", "-p", "5201"], check=True)
    results = {"on": [], "off": []}
    try:
        interval = lab.load("inventories/lab/hosts.yml")["all"]["children"]["lab_vms"]["children"][
            "core_routers"]["hosts"]["core"].get("metrics_scrape_interval", "15s")
        print("Forwarding through the lab's core (1 emulated vCPU) with the metrics on (scrape every %s) and off; "
              "%d s per download, 4 flows, %s's client, %d rounds" % (interval, SECONDS, CLIENT, rounds), flush=True)
        print("| round | metrics | unshaped Mbit/s | core idle | shaped Mbit/s | RTT under load |")
        print("| --- | --- | --- | --- | --- | --- |")
        for number in range(1, rounds + 1):
            for mode in ("on", "off"):
                lab.sh("core", "systemctl %s %s" % ("start" if mode == "on" else "stop", SERVICES))
                time.sleep(20)      # a scrape or two in the new state before measuring
                unshaped, idle = forwarding()
                rate, rtt = shaped()
                results[mode].append((unshaped, idle, rate, rtt))
                print("| %d | %s | %.1f | %.0f %% | %.2f | %.1f ms |" % (number, mode, unshaped, idle * 100, rate, rtt),
                      flush=True)
        median = {mode: [statistics.median(values) for values in zip(*rows)] for mode, rows in results.items()}
        print("\nMedians: on %.1f Mbit/s unshaped (core idle %.0f %%), %.2f shaped, RTT %.1f ms; off %.1f (%.0f %%), "
              "%.2f, %.1f ms" % (median["on"][0], median["on"][1] * 100, median["on"][2], median["on"][3],
                                 median["off"][0], median["off"][1] * 100, median["off"][2], median["off"][3]))
        print("Ratio on / off: unshaped forwarding %.2f, shaped %.2f, RTT under load %.2f"
              % (median["on"][0] / median["off"][0], median["on"][2] / median["off"][2],
                 median["on"][3] / median["off"][3]))
    finally:
        lab.sh("core", "systemctl start %s; /usr/local/sbin/ktc-shaping" % SERVICES, check=False)
        subprocess.run(["pkill", "-f", "iperf3 -s -D -p 5201"], check=False)


if __name__ == "__main__":
    main()
