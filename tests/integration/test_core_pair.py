"""A pair of core servers in the lab (lab.py --inventory inventories/lab-pair up, converged with that inventory, then
KTC_LAB_INVENTORY=inventories/lab-pair): the preferred server holds every gateway, and when it is stopped hard (its
VM frozen by qemu, as a dead box: nothing is shut down) during a download, the other takes over. Measured from the
clients: the longest gap in a 100 ms ping, the download finishing whole, a lease from before renewed by the survivor
with the same address, a new client leased during the failure; a converge and the drift check meanwhile name the
server that does not answer and do the rest. The preferred server started again stands by (it has
not been converged since it started) until the converge, then takes the gateways back (as ktc_site.cores says) without
a gap longer than the first; verify finds the pair in sync. Then a planned switchover (playbooks/core_switchover.yml,
the operators' maintenance): the other server holds the gateways, and isolation, NAT and shaping hold on it, until
the converge gives the preferred server its place back. One failover for all of it, in order."""

import os
import re
import subprocess
import time

import pytest

from conftest import (CORES, ISP_WEB, LAB_INVENTORY, MODEL, REPO, WIRING, Client, check_isolation, classes, converge,
                      lease, monitor, vm, wait_until)

# On a lab of one core the module is collected, then deselected (conftest.py): nothing below runs there.
PREFERRED, STANDBY = CORES[0], CORES[-1]
PAIR = MODEL["core"]["pair"]
DOWNLOAD_MB = 6
RATE = "150k"     # bytes/s: the download lasts about 40 s, the failover happens inside it
PREEMPT_DELAY = 30  # inventories/lab-pair: core_failover_preempt_delay_s


def holds_gateways(name):
    """Whether server ``name`` holds every address the pair's VRRP instances advertise (the gateways); False while it
    does not answer (stopped, or booting)."""
    try:
        listing = vm(name).run("ip -o -4 addr show").stdout
    except RuntimeError:
        return False
    return all("inet %s " % item["address"] in listing for instance in PAIR["instances"] for item in instance["addresses"])


def own_address(name, one):
    """Server ``name``'s own address in the segment of client ``one``: the DHCP server identifier it answers with."""
    return PAIR["servers"][name]["addresses"][one.facts["interface"]].split("/")[0]


def client(switch, port):
    facts = [p for p in MODEL["switches"][switch]["access"] if p["name"] == port][0]
    return Client(vm(switch), switch, port, facts["office"], facts["segment"])


def server_identifier(one):
    """The DHCP server identifier of the client's last lease (its dhclient lease file): the server that answered."""
    text = one.run("cat /var/lib/dhcp/%s.leases" % one.namespace).stdout
    found = re.findall(r"option dhcp-server-identifier ([0-9.]+);", text)
    return found[-1] if found else None


def longest_gap(text):
    """The longest time between two answers of `ping -D` (its [epoch] stamps), in seconds."""
    stamps = [float(stamp) for stamp in re.findall(r"^\[([0-9.]+)\] \d+ bytes from", text, re.M)]
    assert len(stamps) > 10, text[-500:]
    return max(later - earlier for earlier, later in zip(stamps, stamps[1:]))


@pytest.fixture(scope="module")
def pinger():
    """A client in diskominfo's staff segment pinging the isp's web server every 100 ms, with timestamps."""
    one = client("sw-diskominfo", "swp1")
    lease(one)

    def start(name):
        one.run("rm -f /tmp/%s.ping; ping -D -n -i 0.1 %s > /tmp/%s.ping 2>&1 & echo $! > /tmp/%s.pid"
                % (name, ISP_WEB, name, name))

    def stop(name):
        one.run("kill $(cat /tmp/%s.pid)" % name)
        return one.run("cat /tmp/%s.ping" % name).stdout
    return start, stop


def test_the_preferred_server_holds_every_gateway_and_both_run_the_failover():
    assert wait_until(lambda: holds_gateways(PREFERRED), 120), "%s does not hold the gateways" % PREFERRED
    assert not holds_gateways(STANDBY)
    for name in CORES:
        for unit in ("keepalived", "conntrackd", "kea-dhcp4-server", "unbound"):
            assert vm(name).service(unit).is_running, "%s on %s" % (unit, name)


GAPS = {}


def renew(one):
    """Renew the client's lease (dhclient with its lease file: a DHCPREQUEST for the address it has)."""
    files = "-pf /run/dhclient-%s.pid -lf /var/lib/dhcp/%s.leases" % (one.namespace, one.namespace)
    return one.run("dhclient -x %s eth0; timeout 20 unshare --uts dhclient -1 %s eth0" % (files, files)).rc == 0


def test_a_download_survives_the_preferred_server_stopped_hard(pinger):
    start, stop = pinger
    before = client("sw-bkpsdm", "swp1")
    address = lease(before)
    assert server_identifier(before) == own_address(PREFERRED, before)
    downloader = client("sw-dukcapil", "swp1")
    lease(downloader)
    size = DOWNLOAD_MB * 1024 * 1024
    with open("%s/.lab/isp/www/pair.bin" % REPO, "wb") as handle:
        handle.write(b"\0" * size)
    downloader.run("rm -f /tmp/pair.bin /tmp/pair.rc; (curl -s --limit-rate %s -o /tmp/pair.bin http://%s/pair.bin; "
                   "echo $? > /tmp/pair.rc) > /dev/null 2>&1 &" % (RATE, ISP_WEB))
    start("failover")
    # The standby server has the download's connection (NATed) from conntrackd before the preferred one fails.
    assert wait_until(lambda: "src=%s dst=%s" % (downloader.address, ISP_WEB) in vm(STANDBY).run(
        "conntrackd -e 2>/dev/null").stdout, 30, 2), "conntrackd did not copy the download's connection"
    time.sleep(3)
    stopped = time.time()
    monitor(PREFERRED, "stop")
    assert wait_until(lambda: holds_gateways(STANDBY), 60), "%s did not take the gateways" % STANDBY
    print("%s holds the gateways %.1f s after %s stopped" % (STANDBY, time.time() - stopped, PREFERRED))
    assert wait_until(lambda: downloader.run("cat /tmp/pair.rc").stdout.strip() != "", 180, 2)
    GAPS["failover"] = longest_gap(stop("failover"))
    print("longest gap in a 100 ms ping while %s failed: %.2f s" % (PREFERRED, GAPS["failover"]))
    assert downloader.run("cat /tmp/pair.rc").stdout.strip() == "0"
    assert downloader.run("stat -c %s /tmp/pair.bin").stdout.strip() == str(size)
    # The lease from before, renewed by the survivor (Kea's HA hook had it), with the same address. Kea's standby
    # answers once it counts its partner down (dhcp_dns_ha_timing.max_response_ms).
    renewed = time.time()
    assert wait_until(lambda: renew(before) and server_identifier(before) == own_address(STANDBY, before), 120, 5)
    print("lease renewed by %s %.0f s after the renewal began" % (STANDBY, time.time() - renewed))
    assert before.run("ip -4 -o addr show dev eth0").stdout.split("inet ")[1].split("/")[0] == address
    # A client new to the network gets a lease while the preferred server is down.
    newcomer = client("sw-dukcapil", "swp2")
    assert lease(newcomer) and server_identifier(newcomer) == own_address(STANDBY, newcomer)


def playbook(name, *args):
    """Run a playbook of the repository against the lab; return (returncode, output)."""
    start = time.time()
    completed = subprocess.run(
        ["ansible-playbook", "-i", os.path.join(REPO, LAB_INVENTORY), os.path.join(REPO, "playbooks", name)] + list(args),
        cwd=REPO, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                           ANSIBLE_FORCE_COLOR="0"), capture_output=True, text=True, timeout=900)
    print("%s %s: rc %d in %.0f s" % (name, " ".join(args), completed.returncode, time.time() - start))
    return completed.returncode, " ".join((completed.stdout + completed.stderr).split())


def printed(name, command):
    """What ``command`` prints on server ``name``, or None while the server does not answer (booting)."""
    try:
        return vm(name).run(command).stdout.strip()
    except RuntimeError:
        return None


def readiness(name):
    return printed(name, "cat %s" % PAIR["ready_file"])


def test_with_the_preferred_server_down_a_converge_and_the_drift_check_name_it_and_do_the_rest():
    """The preferred server is still frozen (the test before): the converge of the pair leaves it out, naming it, and
    converges the other; the drift check checks everything that answers and says what it could not check."""
    assert not holds_gateways(PREFERRED) and holds_gateways(STANDBY)
    rc, text = converge(",".join(CORES), "{}")
    text = " ".join(text.split())
    assert "Core server %s did not answer and is left out of this run, which goes on with %s" % (PREFERRED, STANDBY) \
        in text, text[-3000:]
    # Ansible's exit code for a host that did not answer (4); the other server converged without a failure.
    assert rc == 4 and re.search(r"%s\s*: ok=\d+ +changed=\d+ +unreachable=0 +failed=0" % STANDBY, text), text[-3000:]
    rc, text = playbook("drift_check.yml", "--check", "--diff")
    assert rc == 4 and ("No drift on the devices that answered and the ledger; not checked, as it did not answer: "
                        "%s." % PREFERRED) in text, text[-3000:]


def test_the_preferred_server_started_again_stands_by_until_converged_then_takes_the_gateways_back(pinger):
    start, stop = pinger
    monitor(PREFERRED, "system_reset")
    monitor(PREFERRED, "cont")
    back = time.time()
    assert wait_until(lambda: printed(PREFERRED, "systemctl is-active keepalived") == "active", 600, 5)
    print("%s runs keepalived %.0f s after it was started" % (PREFERRED, time.time() - back))
    # Past the preempt delay it still stands by: it runs the files it had before it failed, and nothing has told it
    # they are the repository's.
    time.sleep(PREEMPT_DELAY + 15)
    assert holds_gateways(STANDBY) and not holds_gateways(PREFERRED)
    assert readiness(PREFERRED) == "0"
    # Freeing the server that holds the gateways is refused while the other is not ready; nothing changes.
    rc, text = playbook("core_switchover.yml", "-e", "ktc_core_drain=" + STANDBY)
    assert rc != 0 and "%s cannot be freed: %s cannot take over" % (STANDBY, PREFERRED) in text, text[-2000:]
    assert readiness(STANDBY) == "1" and holds_gateways(STANDBY)
    # The converge brings it up to date and marks it ready; it takes the gateways back after the preempt delay.
    start("return")
    rc, text = converge(PREFERRED, "{}")
    assert rc == 0, text[-3000:]
    converged = time.time()
    assert wait_until(lambda: holds_gateways(PREFERRED), PREEMPT_DELAY + 60, 2), "%s did not take them back" % PREFERRED
    print("%s holds the gateways again %.0f s after its converge" % (PREFERRED, time.time() - converged))
    time.sleep(5)
    gap = longest_gap(stop("return"))
    print("longest gap in a 100 ms ping while %s came back: %.2f s" % (PREFERRED, gap))
    assert not holds_gateways(STANDBY) and readiness(PREFERRED) == "1"
    assert "failover" in GAPS and gap <= GAPS["failover"]


def test_verify_finds_the_pair_in_sync_and_names_the_server_that_holds_the_gateways():
    # Kea's HA hook on the returned server syncs its leases from the other first (waiting, syncing, ready).
    found = {}

    def verified():
        found["rc"], found["output"] = playbook("verify.yml", "--limit", ",".join(CORES))
        return found["rc"] == 0
    assert wait_until(verified, 180, 10), found["output"][-3000:]
    assert "%s holds the gateways, %s stands by" % (PREFERRED, STANDBY) in found["output"]
    assert "the standby server of the pair, ready; Kea HA hot-standby" in found["output"]


def test_a_planned_switchover_moves_the_gateways_and_isolation_nat_and_shaping_hold_on_the_other(pinger, addressed_clients):
    start, stop = pinger
    start("planned")
    rc, text = playbook("core_switchover.yml", "-e", "ktc_core_drain=" + PREFERRED)
    assert rc == 0, text[-3000:]
    assert "%s holds every gateway; %s is free for maintenance" % (STANDBY, PREFERRED) in text
    assert holds_gateways(STANDBY) and not holds_gateways(PREFERRED) and readiness(PREFERRED) == "-1"
    time.sleep(3)
    gap = longest_gap(stop("planned"))
    print("longest gap in a 100 ms ping during the planned switchover: %.2f s" % gap)
    assert gap <= GAPS["failover"]

    # On the server that now holds the gateways: no segment reaches another, ...
    segments = list({(c.office, c.segment): c for c in addressed_clients}.values())
    check_isolation(vm(STANDBY), segments, lambda one: one.address)
    # ... every office reaches the internet NATed to the uplink's public address, through its own shaper class.
    uplink = WIRING["core"]["uplinks"][0]
    with open(os.path.join(REPO, ".lab", "run", "isp-web.log")) as handle:
        seen = len(handle.read())
    before = classes(vm(STANDBY), "ifb-%s" % uplink["name"])
    for one in segments:
        assert one.run("curl -s -m 5 http://%s/" % ISP_WEB).stdout.startswith("ktc-lab isp"), one
    with open(os.path.join(REPO, ".lab", "run", "isp-web.log")) as handle:
        log = handle.read()[seen:]
    assert uplink["address"].split("/")[0] in log and "10.40." not in log, log
    after = classes(vm(STANDBY), "ifb-%s" % uplink["name"])
    for one in segments:
        handle = "1:%s" % one.facts["shaping_class"]
        assert after[handle]["packets"] > before.get(handle, {"packets": 0})["packets"], (one, handle)

    # A converge for another reason (an event closing on the hour) leaves the freed server free ...
    rc, text = converge(PREFERRED, "{}")
    assert rc == 0 and "%s stays freed for maintenance" % PREFERRED in " ".join(text.split()), text[-3000:]
    assert readiness(PREFERRED) == "-1" and holds_gateways(STANDBY)
    # ... and the one that names it gives it its place back.
    rc, text = converge(PREFERRED, '{"ktc_core_release": "%s"}' % PREFERRED)
    assert rc == 0, text[-3000:]
    assert wait_until(lambda: holds_gateways(PREFERRED), PREEMPT_DELAY + 60, 2)
    assert readiness(PREFERRED) == "1" and not holds_gateways(STANDBY)
