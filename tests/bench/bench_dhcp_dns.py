#!/usr/bin/env python
"""Benchmark (not a test): Kea leases per second and Unbound cached queries per second on the lab's core,
each with the configuration dhcp_dns renders and with Debian's stock configuration, on the same VM.

Kea, ISC's method: perfdhcp runs full DORA exchanges at a fixed rate, and the rate goes up until replies go
missing (more than 1 % of exchanges without an ACK). perfdhcp sits in a namespace on core (`ktc-bench`,
joined to core by a veth pair) and plays a relay: its address is the relay address (giaddr), inside the
largest segment of the ledger for our configuration and inside the stock configuration's 192.0.2.0/24.
Each configuration runs as its own kea-dhcp4 process while the service is stopped. The only changes made
to either file are the ones a benchmark needs: listen on the veth, and a lease file and control socket of
its own (so core's real leases are never touched).

Unbound: dnsperf on core sends names the resolver has cached (the isp's names, primed first, and
localhost) to 127.0.0.1 for 10 s, five times; the median is kept. The stock configuration is Debian's
unbound.conf with one drop-in that reaches the lab's "internet" (the same stub zone and domain-insecure
lines that our configuration has); without it the stock resolver could answer nothing in the lab.

Debian's stock files come from the packages themselves (apt-get download on this host). Afterwards the
service's own files and processes are back as they were (checked by checksum).

    make lab-up converge && .venv/bin/python tests/bench/bench_dhcp_dns.py
"""

import ipaddress
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))

SSH = ["ssh", "-F", os.path.join(REPO, ".lab", "ssh", "config"), "core"]
WORK = "/tmp/ktc-bench"
NETNS, CORE_VETH, BENCH_VETH = "ktc-bench", "kbench0", "kbench1"
CORE_VETH_ADDRESS, BENCH_VETH_ADDRESS = "10.99.99.1", "10.99.99.2"
CLIENTS = 150                       # simulated clients; fewer than either configuration's pool
SECONDS_PER_RATE = 10
RATES = [5, 10, 15, 20, 30, 40, 60, 80, 120, 160, 240, 320]
MAX_LOSS = 0.01
DNSPERF_RUNS = 5


def sh(command, stdin=None, check=True):
    return subprocess.run(SSH + [command], input=stdin, capture_output=True, text=True, check=check).stdout


def load(name):
    with open(os.path.join(REPO, *name.split("/"))) as handle:
        return yaml.safe_load(handle)


def debian_file(package, path):
    """A configuration file exactly as Debian's package ships it."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["apt-get", "download", package], cwd=tmp, check=True, capture_output=True)
        deb = os.path.join(tmp, next(name for name in os.listdir(tmp) if name.endswith(".deb")))
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", deb], check=True, capture_output=True).stdout
        return subprocess.run(["tar", "-xO", "." + path], input=tar, check=True, capture_output=True).stdout.decode()


def strip_json_comments(text):
    """Kea's files allow //, # and /* */ comments and trailing commas; JSON does not."""
    out, index, in_string = [], 0, False
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index) or char == "#":
            index = text.find("\n", index) - 1 if "\n" in text[index:] else len(text)
        elif text.startswith("/*", index):
            index = text.index("*/", index) + 1
        else:
            out.append(char)
        index += 1
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", "".join(out)))


def for_bench(config, label):
    dhcp4 = config["Dhcp4"]
    dhcp4["interfaces-config"]["interfaces"] = [CORE_VETH]
    dhcp4["lease-database"]["name"] = "%s/%s-leases4.csv" % (WORK, label)
    dhcp4["control-socket"] = {"socket-type": "unix", "socket-name": "%s/%s.sock" % (WORK, label)}
    return json.dumps(config, indent=1)


def relay_address(config):
    """A host address inside the largest subnet of the configuration, outside its pools, reservations and router."""
    subnet = max(config["Dhcp4"]["subnet4"], key=lambda s: ipaddress.ip_network(s["subnet"]).num_addresses)
    used = {r.get("ip-address") for r in subnet.get("reservations", [])}
    used |= {o["data"] for o in subnet.get("option-data", []) if o.get("name") == "routers"}
    network = ipaddress.ip_network(subnet["subnet"])
    for address in reversed(list(network.hosts())):
        in_pool = any(ipaddress.ip_address(p["pool"].split("-")[0].strip()) <= address
                      <= ipaddress.ip_address(p["pool"].split("-")[1].strip()) for p in subnet["pools"])
        if str(address) not in used and not in_pool:
            return str(address)
    return str(list(network.hosts())[-1])   # our pools fill the segment: the last address (no client in the bench)


def perfdhcp(giaddr, rate):
    output = sh("ip netns exec %s perfdhcp -4 -l %s -r %d -R %d -p %d %s 2>&1 || true"
                % (NETNS, giaddr, rate, CLIENTS, SECONDS_PER_RATE, CORE_VETH_ADDRESS))
    sections = dict(re.findall(r"\*\*\*Statistics for: ([A-Z-]+)\*\*\*\n(.*?)(?=\n\*\*\*|\Z)", output, re.S))
    ack = sections.get("REQUEST-ACK", "")
    sent_discover = int(re.search(r"sent packets: (\d+)", sections.get("DISCOVER-OFFER", "sent packets: 0")).group(1))
    acks = int(re.search(r"received packets: (\d+)", ack).group(1)) if ack else 0
    return sent_discover, acks


def kea_rate(label, config_text):
    config = strip_json_comments(config_text)
    giaddr = relay_address(config)
    path = "%s/%s.json" % (WORK, label)
    sh("cat > %s && kea-dhcp4 -t %s >/dev/null" % (path, path), stdin=for_bench(config, label))
    # The route makes core answer the relay's ARP and pass rp_filter (strict on core).
    sh("ip -n %s addr add %s/32 dev %s && ip route add %s/32 dev %s" % (NETNS, giaddr, BENCH_VETH, giaddr, CORE_VETH))
    sh("systemd-run --quiet --unit ktc-bench-kea kea-dhcp4 -c %s && sleep 3" % path)
    best, steps = 0.0, []
    try:
        for rate in RATES:
            sent, acks = perfdhcp(giaddr, rate)
            steps.append((rate, sent, acks))
            print("  kea %-6s offered %5d/s: %6d DISCOVERs, %6d ACKs (%.1f %%)"
                  % (label, rate, sent, acks, 100.0 * acks / max(sent, 1)), flush=True)
            if sent == 0 or acks < (1 - MAX_LOSS) * sent:
                break
            best = acks / SECONDS_PER_RATE
    finally:
        sh("systemctl stop ktc-bench-kea; ip -n %s addr del %s/32 dev %s; ip route del %s/32 dev %s"
           % (NETNS, giaddr, BENCH_VETH, giaddr, CORE_VETH), check=False)
    return best


def bench_kea():
    ours = sh("cat /etc/kea/kea-dhcp4.conf")
    stock = debian_file("kea-dhcp4-server", "/etc/kea/kea-dhcp4.conf")
    before = sh("sha256sum /etc/kea/kea-dhcp4.conf /var/lib/kea/kea-leases4.csv")
    sh("mkdir -p %(w)s && ip netns add %(ns)s && ip link add %(c)s type veth peer name %(b)s netns %(ns)s && "
       "ip addr add %(ca)s/30 dev %(c)s && ip link set %(c)s up && ip -n %(ns)s addr add %(ba)s/30 dev %(b)s && "
       "ip -n %(ns)s link set %(b)s up && ip -n %(ns)s link set lo up && systemctl stop kea-dhcp4-server"
       % {"w": WORK, "ns": NETNS, "c": CORE_VETH, "b": BENCH_VETH, "ca": CORE_VETH_ADDRESS, "ba": BENCH_VETH_ADDRESS})
    try:
        results = {"ktc": kea_rate("ktc", ours), "stock": kea_rate("stock", stock)}
    finally:
        sh("ip netns del %s; ip link del %s; systemctl start kea-dhcp4-server" % (NETNS, CORE_VETH), check=False)
    assert sh("sha256sum /etc/kea/kea-dhcp4.conf /var/lib/kea/kea-leases4.csv") == before, "core's Kea files changed"
    return results


def dnsperf_qps():
    names = "www.isp.example A\nns.isp.example A\nlocalhost A\n"
    sh("cat > %s/queries.txt" % WORK, stdin=names * 100)
    for line in names.splitlines():     # prime the cache
        sh("dig +short @127.0.0.1 %s" % line.replace(" A", ""))
    runs = []
    for _ in range(DNSPERF_RUNS):
        output = sh("dnsperf -s 127.0.0.1 -d %s/queries.txt -l 10" % WORK)
        runs.append(float(re.search(r"Queries per second:\s+([\d.]+)", output).group(1)))
        completed = re.search(r"Queries completed:\s+\d+ \(([\d.]+)%\)", output).group(1)
        answered = sh("dig @127.0.0.1 www.isp.example | grep -c 'status: NOERROR'").strip()
        assert answered == "1" and float(completed) > 99, output
    return statistics.median(runs), runs


def bench_unbound():
    lab_internet = "".join(
        'server:\n\tdomain-insecure: "%s."\nstub-zone:\n\tname: "%s."\n%s' % (
            zone["name"], zone["name"], "".join("\tstub-addr: %s\n" % a for a in zone["addresses"]))
        for zone in load("inventories/lab/hosts.yml")["all"]["children"]["lab_vms"]["children"]["core_routers"]
        ["hosts"]["core"]["dhcp_dns_stub_zones"])
    stock = debian_file("unbound", "/etc/unbound/unbound.conf")
    before = sh("sha256sum /etc/unbound/unbound.conf")
    sh("mkdir -p %s && cp /etc/unbound/unbound.conf %s/ktc-unbound.conf" % (WORK, WORK))
    results = {"ktc": dnsperf_qps()}
    try:
        sh("cat > /etc/unbound/unbound.conf", stdin=stock)
        sh("cat > /etc/unbound/unbound.conf.d/ktc-bench-lab-internet.conf", stdin=lab_internet)
        sh("unbound-checkconf >/dev/null && systemctl restart unbound")
        results["stock"] = dnsperf_qps()
    finally:
        sh("cp %s/ktc-unbound.conf /etc/unbound/unbound.conf && rm -f /etc/unbound/unbound.conf.d/ktc-bench-lab-internet.conf"
           " && systemctl restart unbound" % WORK, check=False)
    assert sh("sha256sum /etc/unbound/unbound.conf") == before, "core's unbound.conf changed"
    return results


def main():
    print("Kea DHCPv4 on the lab core: highest rate with >= %d %% of DORA exchanges completed (%d s per rate, "
          "%d clients, perfdhcp on core)" % (100 * (1 - MAX_LOSS), SECONDS_PER_RATE, CLIENTS), flush=True)
    kea = bench_kea()
    print("Unbound on the lab core: cached queries per second (dnsperf, 127.0.0.1, %d x 10 s)" % DNSPERF_RUNS, flush=True)
    unbound = bench_unbound()
    print()
    print("| daemon | ktc configuration | Debian stock | ktc / stock |")
    print("| --- | --- | --- | --- |")
    print("| Kea, leases/s | %.0f | %.0f | %.2fx |" % (kea["ktc"], kea["stock"], kea["ktc"] / max(kea["stock"], 1e-9)))
    print("| Unbound, cached qps (median) | %.0f | %.0f | %.2fx |" % (
        unbound["ktc"][0], unbound["stock"][0], unbound["ktc"][0] / unbound["stock"][0]))
    print("Unbound runs: ktc %s, stock %s" % (
        ", ".join("%.0f" % r for r in unbound["ktc"][1]), ", ".join("%.0f" % r for r in unbound["stock"][1])))


if __name__ == "__main__":
    main()
