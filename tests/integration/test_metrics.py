"""Metrics, alerts and the NOC's page in the lab (roles/metrics, issue 17), from the clients' side.

A download in one office shows in that office's series within a scrape interval, and in no other's; a pool filled
through the real DHCP path and the primary uplink's cable pulled fire their alerts, which Alertmanager delivers to
the receiver in the lab (metrics_alert_webhook: the shared server's address in diskominfo's services segment); the
page, opened in headless Chromium from a NOC workstation while both alerts fire, names every office of the lab and
shows both. The screenshot is kept in .lab/artifacts/.
"""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

import pytest
import yaml

from conftest import CORE_NAME, ISP_NS, ISP_WEB, REPO, SEGMENTS, SITE, forget_clients, isp, set_link, wait_until

CORE_VARS = yaml.safe_load(open(os.path.join(REPO, "inventories", "lab", "hosts.yml")))[
    "all"]["children"]["lab_vms"]["children"]["core_routers"]["hosts"][CORE_NAME]
WEBHOOK = urllib.parse.urlsplit(CORE_VARS["metrics_alert_webhook"])
PAGE = "http://%s:%d/" % (CORE_VARS["ktc_management_address"], CORE_VARS.get("metrics_port", 9469))
SCRAPE_S = int(CORE_VARS["metrics_scrape_interval"].rstrip("s"))
ARTIFACTS = os.path.join(REPO, ".lab", "artifacts")
ALERTS = "/tmp/ktc-alerts.jsonl"
# The webhook receiver: every POST Alertmanager sends, one JSON document per line.
RECEIVER = r"""
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[3], "ab") as out:
            out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
"""


def prometheus(core, query):
    """The result of an instant query to Prometheus on core (it listens on core's loopback only)."""
    answer = core.check_output("curl -sf --get --data-urlencode %s http://127.0.0.1:9090/api/v1/query", "query=" + query)
    return json.loads(answer)["data"]["result"]


def by_office(result):
    return {item["metric"]["office"]: float(item["value"][1]) for item in result}


def single(result):
    """The value of a query that gives one series."""
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def client_of(clients, office, segment):
    return next(c for c in clients if (c.office, c.segment) == (office, segment))


@pytest.fixture(scope="module")
def receiver(addressed_clients):
    """The alert receiver in the lab: a web server on the shared server's address, writing what it gets to ALERTS."""
    server = client_of(addressed_clients, "diskominfo", "services")
    prefixlen = server.facts["prefixlen"]
    server.switch_host.run("cat > /tmp/ktc-alert-receiver.py <<'EOF'\n%s\nEOF" % RECEIVER)
    server.run("ip addr replace %s/%d dev eth0; rm -f %s" % (WEBHOOK.hostname, prefixlen, ALERTS))
    server.run("nohup python3 /tmp/ktc-alert-receiver.py %s %d %s >/dev/null 2>&1 &"
               % (WEBHOOK.hostname, WEBHOOK.port, ALERTS))
    assert wait_until(lambda: server.reaches(WEBHOOK.hostname, WEBHOOK.port), 20)
    yield server
    server.run("pkill -f '[k]tc-alert-receiver'; ip addr del %s/%d dev eth0" % (WEBHOOK.hostname, prefixlen))


def received(server):
    """The alerts the receiver got: [(status, alertname, labels)]."""
    found = []
    for line in server.switch_host.run("cat %s 2>/dev/null" % ALERTS).stdout.splitlines():
        for alert in json.loads(line)["alerts"]:
            found.append((alert["status"], alert["labels"]["alertname"], alert["labels"]))
    return found


def test_a_download_shows_in_its_offices_series_only(core, addressed_clients):
    client = client_of(addressed_clients, "bkpsdm", "staff")
    uplink = core.check_output("cat /run/ktc/uplink")
    query = 'ktc_shaping_bytes_total{direction="download",kind="office",uplink="%s"}' % uplink
    # Every office has its series (the scrapes run), and none is about to move: wait for a scrape, then read.
    assert wait_until(lambda: set(by_office(prometheus(core, query))) == {o["id"] for o in SITE["offices"]},
                      2 * SCRAPE_S + 30)
    size = 3 * 1000 ** 2
    # The "internet" sends it: a web server of the isp namespace would do the same with more code.
    server = subprocess.Popen(["ip", "netns", "exec", ISP_NS, "socat", "-U", "TCP-LISTEN:9000,bind=%s,reuseaddr" % ISP_WEB,
                               "SYSTEM:head -c %d /dev/zero" % size], stdout=subprocess.DEVNULL)
    try:
        time.sleep(1)
        before = by_office(prometheus(core, query))
        got = client.run("timeout 60 bash -c 'cat </dev/tcp/%s/9000 | wc -c'" % ISP_WEB)
    finally:
        server.kill()
    done = time.time()
    assert got.rc == 0 and int(got.stdout) == size, got
    assert wait_until(lambda: by_office(prometheus(core, query))["bkpsdm"] - before["bkpsdm"] >= size, 3 * SCRAPE_S)
    delay = time.time() - done
    after = by_office(prometheus(core, query))
    print("download of %d bytes in bkpsdm's series %.1f s after it ended (scrape interval %d s); growth per office: %s"
          % (size, delay, SCRAPE_S, {office: after[office] - before[office] for office in after}))
    # Within one scrape interval, and the time Prometheus on the emulated core takes to answer.
    assert delay <= SCRAPE_S + 5, delay
    for office in after:
        if office != "bkpsdm":
            assert after[office] - before[office] < 0.05 * size, (office, after[office] - before[office])


def fill_pool(core, server, segment):
    """Lease ``segment``'s pool above 90 % through the real DHCP path: DHCP clients with MACs of their own on
    macvlans of the server's port. The switch lets 4 MACs at a time through a port (access_switch_port_max_macs): its
    learned MACs are cleared between rounds of 3, as their timeout would over the day (eth0 keeps its place)."""
    vlan = segment["vlan"]
    ask = ("echo '{\"command\": \"statistic-get\", \"arguments\": {\"name\": \"subnet[%d].%%s\"}}' | "
           "socat - UNIX-CONNECT:/run/kea/kea4-ctrl-socket" % vlan)

    def stat(name):
        answer = json.loads(core.check_output(ask % name))
        return answer["arguments"]["subnet[%d].%s" % (vlan, name)][0][0]

    total, namespaces = stat("total-addresses"), []
    for round_ in range(8):
        if stat("assigned-addresses") / total > 0.9:
            break
        forget_clients(server.switch_host, server.port)
        batch = ["ktc-fill-%d" % (round_ * 3 + i) for i in range(3)]
        # Made inside the server's namespace (its eth0), moved to a namespace of their own, each one client.
        lines = ["set -e"]
        for name in batch:
            lines.append("ip netns add %s" % name)
            lines.append("ip netns exec %s ip link add %s link eth0 type macvlan mode private" % (server.namespace, name))
            lines.append("ip netns exec %s ip link set %s netns %s" % (server.namespace, name, name))
            lines.append("ip -n %s link set %s up" % (name, name))
        server.switch_host.check_output("\n".join(lines))
        namespaces += batch
        # Each client leases, then stops and goes quiet (its link down): the lease stays in Kea, and its MAC no
        # longer competes with the server's own for the port's places (the alert receiver answers on eth0).
        server.switch_host.run(" ".join(
            "(ip netns exec %s unshare --uts timeout 20 dhclient -1 -pf /run/%s.pid -lf /run/%s.leases %s; "
            "ip netns exec %s dhclient -x -pf /run/%s.pid; ip -n %s link set %s down) &"
            % ((name,) * 8) for name in batch) + " wait")
    forget_clients(server.switch_host, server.port)
    assigned = stat("assigned-addresses")
    return assigned, total, namespaces


def empty_pool(server, namespaces):
    """Release every lease fill_pool took and remove its clients, in rounds of 3 as they were taken (the port's
    MAC and DHCP client limits)."""
    for start in range(0, len(namespaces), 3):
        forget_clients(server.switch_host, server.port)
        server.switch_host.run(" ".join(
            "(ip -n %s link set %s up; ip netns exec %s unshare --uts timeout 10 dhclient -r -pf /run/%s.pid "
            "-lf /run/%s.leases %s; ip netns del %s) &" % ((name,) * 7) for name in namespaces[start:start + 3]) + " wait")
    forget_clients(server.switch_host, server.port)


def test_a_full_pool_and_a_failover_fire_their_alerts_and_the_page_shows_them(core, receiver, addressed_clients):
    services = SEGMENTS[("diskominfo", "services")]
    noc = client_of(addressed_clients, "diskominfo", "staff")
    namespaces = []
    started = time.time()
    set_link(CORE_NAME, "eth1", False)
    try:
        assigned, total, namespaces = fill_pool(core, receiver, services)
        print("pool of diskominfo/services: %d of %d leased by %d DHCP clients" % (assigned, total, len(namespaces)))
        assert assigned / total > 0.9, (assigned, total)

        def fired():
            return {(name, labels.get("segment")) for status, name, labels in received(receiver) if status == "firing"}
        wanted = {("KtcUplinkFailedOver", None), ("KtcDhcpPoolNearlyFull", "services")}
        # A scrape, two evaluations (pending, then firing after the lab's 15 s), Alertmanager's group_wait.
        assert wait_until(lambda: wanted <= fired(), 3 * SCRAPE_S + 120, interval=5), received(receiver)
        print("both alerts at the receiver %.0f s after the cable was pulled" % (time.time() - started))
        # The monitor's view is in the series too: the primary's gateway silent, the switch counted.
        assert single(prometheus(core, 'ktc_uplink_gateway_up{family="ipv4",uplink="primary"}')) == 0
        assert single(prometheus(core, 'ktc_uplink_switches_total{family="ipv4"}')) >= 1
        page = open_page(noc)
    finally:
        set_link(CORE_NAME, "eth1", True)
        empty_pool(receiver, namespaces)
    assert wait_until(lambda: core.run("cat /run/ktc/uplink").stdout.strip() == "primary", 60)
    for office in SITE["offices"]:
        assert 'id="office-%s"' % office["id"] in page, office["id"]
    assert "KtcUplinkFailedOver" in page and "KtcDhcpPoolNearlyFull" in page
    assert '<p id="uplink">backup (ipv4)' in page and "Gateway not answering: primary (ipv4)" in page


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def open_page(noc):
    """The page as headless Chromium shows it from the NOC workstation ``noc``: Chromium on the controller, its TCP
    connections carried by socat and SSH into the workstation's namespace, so that the page is asked from a NOC
    address. Returns the page's DOM; the screenshot is kept in ARTIFACTS."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium is missing: scripts/setup.sh installs it"
    port = free_port()
    # socat reads colons in its EXEC address as its own: the hop into the namespace is a script on the switch.
    noc.switch_host.check_output("printf '%%s\\n' %s > /tmp/ktc-page-hop && chmod +x /tmp/ktc-page-hop",
                                 "exec ip netns exec %s socat STDIO TCP:%s:%d" % (
                                     noc.namespace, CORE_VARS["ktc_management_address"],
                                     CORE_VARS.get("metrics_port", 9469)))
    ssh = "ssh -F %s %s /tmp/ktc-page-hop" % (os.path.join(REPO, ".lab", "ssh", "config"), noc.switch)
    tunnel = subprocess.Popen(["socat", "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork" % port, "EXEC:%s" % ssh])
    os.makedirs(ARTIFACTS, exist_ok=True)
    url = "http://127.0.0.1:%d/" % port
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--window-size=1280,1400", "--virtual-time-budget=20000"]
    try:
        assert wait_until(lambda: subprocess.run(["curl", "-sf", "-o", "/dev/null", url]).returncode == 0, 60, 3)
        dom = subprocess.run(browser + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
        shot = os.path.join(ARTIFACTS, "metrics-page.png")
        subprocess.run(browser + ["--screenshot=%s" % shot, url], capture_output=True, timeout=120, check=True)
        subprocess.run(browser + ["--screenshot=%s" % os.path.join(ARTIFACTS, "metrics-page-id.png"), url + "?lang=id"],
                       capture_output=True, timeout=120, check=True)
    finally:
        tunnel.kill()
    assert os.path.getsize(shot) > 10000, shot
    print("page screenshots in %s" % ARTIFACTS)
    return dom.stdout


def test_the_page_is_closed_to_the_offices(addressed_clients):
    """Only management and the NOC reach the page: another office's client is dropped by core's firewall."""
    address, port = CORE_VARS["ktc_management_address"], CORE_VARS.get("metrics_port", 9469)
    noc = client_of(addressed_clients, "diskominfo", "staff")
    office = client_of(addressed_clients, "bkpsdm", "staff")
    guest = client_of(addressed_clients, "dukcapil", "wifi")
    assert noc.reaches(address, port)
    for client in (office, guest):
        assert not client.reaches(address, port), client
    assert isp("timeout 3 bash -c '</dev/tcp/198.51.100.2/%d'" % port).returncode != 0
