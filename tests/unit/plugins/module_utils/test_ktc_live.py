"""Unit tests of the live-state checks: the normalised nftables listing (captured from the lab's core) keeps every
rule and static element and drops only run-time state, so a rule inserted by hand shows and a counter never does."""

import json
import os

import pytest

import ktc_live

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "nft-ruleset-core.txt")


def listing():
    with open(FIXTURE) as handle:
        return handle.read()


def test_counters_and_the_elements_rules_add_at_run_time_are_left_out():
    text = listing()
    busy = text.replace("counter packets 0 bytes 0", "counter packets 81234 bytes 99123456").replace(
        "\t\tflags dynamic\n", "\t\tflags dynamic\n\t\telements = { 10.40.0.23 ct count over 512,\n"
                               "\t\t\t     10.40.0.24 ct count over 512 }\n")
    assert busy != text
    assert ktc_live.normalise_nft(busy) == ktc_live.normalise_nft(text)
    assert "counter packets" not in ktc_live.normalise_nft(text)


def test_rules_and_static_elements_are_kept():
    normalised = ktc_live.normalise_nft(listing())
    assert "elements = { 10.40.2.78 . 6 . 443 }" in normalised
    assert "tcp dport 22 ip saddr @noc_nets accept" in normalised
    assert normalised.count("\n") >= listing().count("\n") - 2


def test_a_rule_inserted_by_hand_differs_and_the_summary_names_it():
    intended = ktc_live.normalise_nft(listing())
    live = ktc_live.normalise_nft(listing().replace(
        "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n",
        "\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\taccept\n", 1))
    assert live != intended
    result = {"check": "nftables", "what": "live ruleset", "differs": True, "live": live, "intended": intended}
    line = ktc_live.summary(result, "/etc/nftables.conf")
    assert line.startswith("live ruleset differs from /etc/nftables.conf (- live, + repository): -accept"), line


def test_a_deleted_table_differs():
    text = listing()
    start = text.index("table ip ktc_nat {")
    end = text.index("\n}\n", start) + 3
    result = {"check": "nftables", "what": "live ruleset", "differs": True,
              "live": ktc_live.normalise_nft(text[:start] + text[end:]), "intended": ktc_live.normalise_nft(text)}
    assert result["live"] != result["intended"]
    assert "+table ip ktc_nat {" in ktc_live.summary(result, "/etc/nftables.conf", lines=50)


GOLDEN_CORE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "render", "lab", "core")


def core_files():
    """The networkd files the lab's core is rendered with (tests/render), as ktc_apply gets them."""
    files = {}
    directory = os.path.join(GOLDEN_CORE, "etc", "systemd", "network")
    for name in os.listdir(directory):
        with open(os.path.join(directory, name)) as handle:
            files["/etc/systemd/network/" + name] = handle.read()
    return files


def running(change=None):
    """``run`` answering `ip -j -d addr show` with the listing captured on the lab's core, changed by ``change``."""
    with open(os.path.join(os.path.dirname(__file__), "fixtures", "ip-addr-core.json")) as handle:
        links = json.load(handle)
    if change:
        change(dict((link["ifname"], link) for link in links), links)

    def run(argv):
        assert argv == ["ip", "-j", "-d", "addr", "show"]
        return 0, json.dumps(links), ""
    return run


def test_the_running_interfaces_of_the_lab_core_are_what_its_files_declare():
    result = ktc_live.networkd(running(), core_files())
    assert not result["differs"], result["live"] + result["intended"]
    assert "vlan101: kind=vlan id=101 on=bond0 master=- addresses=10.40.1.1/25" in result["intended"]
    assert "eth3: kind=- id=- on=- master=bond0 addresses=-" in result["intended"]
    assert result["repairs"] == []


def test_an_address_added_by_hand_is_drift_and_is_deleted():
    def add(by_name, _links):
        by_name["vlan101"]["addr_info"].append({"family": "inet", "local": "10.40.255.7", "prefixlen": 24,
                                                 "scope": "global"})
    result = ktc_live.networkd(running(add), core_files())
    assert result["differs"]
    assert result["repairs"] == [["ip", "addr", "del", "10.40.255.7/24", "dev", "vlan101"]]
    assert "10.40.255.7/24" in ktc_live.summary(result, "/etc/systemd/network")


def test_a_pairs_moving_address_is_left_to_keepalived_and_any_other_is_still_deleted():
    """A pair of core servers: keepalived adds the shared gateway on the active server. The check neither removes it
    nor wants it (the backup server does not hold it), and an address added by hand beside it is still drift."""
    def add(by_name, _links):
        by_name["vlan101"]["addr_info"] += [{"family": "inet", "local": "10.40.1.126", "prefixlen": 25, "scope": "global"},
                                            {"family": "inet", "local": "10.40.255.7", "prefixlen": 24, "scope": "global"}]
    moving = [{"interface": "vlan101", "address": "10.40.1.126/25"}]
    result = ktc_live.networkd(running(add), core_files(), moving)
    assert result["repairs"] == [["ip", "addr", "del", "10.40.255.7/24", "dev", "vlan101"]]
    assert "10.40.1.126" not in result["live"]
    # The same address on another interface is not the moving one.
    result = ktc_live.networkd(running(add), core_files(), [{"interface": "vlan102", "address": "10.40.1.126/25"}])
    assert ["ip", "addr", "del", "10.40.1.126/25", "dev", "vlan101"] in result["repairs"]
    # Through ktc_apply's entry point, from the activation's args.
    result = ktc_live.CHECKS["networkd"](running(add), core_files(), "/etc/systemd/network", {"moving": moving})
    assert result["repairs"] == [["ip", "addr", "del", "10.40.255.7/24", "dev", "vlan101"]]


def test_a_deleted_segment_interface_and_an_undeclared_vlan_are_drift():
    def change(by_name, links):
        links.remove(by_name["vlan103"])
        links.append(dict(by_name["vlan104"], ifname="vlan199", addr_info=[],
                          linkinfo={"info_kind": "vlan", "info_data": {"id": 199}}))
    result = ktc_live.networkd(running(change), core_files())
    assert result["differs"]
    assert "vlan103: absent" in result["live"]
    assert "vlan199: kind=vlan id=199 on=bond0" in result["live"]
    assert result["repairs"] == [["ip", "link", "delete", "vlan199"],
                                 ["ip", "link", "add", "link", "bond0", "name", "vlan103", "type", "vlan", "id", "103"]]


def test_a_vlan_moved_to_another_parent_is_created_again_on_its_own():
    def move(by_name, _links):
        by_name["vlan102"]["link"] = "eth3"
    result = ktc_live.networkd(running(move), core_files())
    assert result["differs"] and result["repairs"] == [
        ["ip", "link", "delete", "vlan102"],
        ["ip", "link", "add", "link", "bond0", "name", "vlan102", "type", "vlan", "id", "102"]]


def test_sysctl_reads_the_kernel_values_of_the_files_lines(tmp_path):
    (tmp_path / "net" / "ipv4" / "conf" / "all").mkdir(parents=True)
    (tmp_path / "net" / "ipv4" / "conf" / "all" / "rp_filter").write_text("1\n")
    (tmp_path / "net" / "ipv4" / "ip_forward").write_text("1\n")
    files = {"/etc/sysctl.d/60-ktc-router.conf": "# comment\nnet.ipv4.ip_forward = 1\nnet.ipv4.conf.all.rp_filter=1\n",
             "/etc/other.conf": "net.ipv4.ip_forward = 0\n"}
    assert not ktc_live.sysctl(None, files, "/etc/sysctl.d", proc=str(tmp_path))["differs"]
    (tmp_path / "net" / "ipv4" / "conf" / "all" / "rp_filter").write_text("0\n")
    result = ktc_live.sysctl(None, files, "/etc/sysctl.d/60-ktc-router.conf", proc=str(tmp_path))
    assert result["differs"]
    assert "-net.ipv4.conf.all.rp_filter = 0; +net.ipv4.conf.all.rp_filter = 1" in ktc_live.summary(result, "x")


def test_services_are_running_or_a_oneshot_that_succeeded():
    states = {"unbound": "ActiveState=active\nResult=success\nType=notify\n",
              "ktc-shaping": "ActiveState=inactive\nResult=success\nType=oneshot\n",
              "kea-dhcp4-server": "ActiveState=inactive\nResult=success\nType=simple\n"}

    def run(argv):
        return 0, states[argv[-1]], ""
    result = ktc_live.services(run, {}, "/", {"units": ["unbound", "ktc-shaping"]})
    assert not result["differs"]
    result = ktc_live.services(run, {}, "/", {"units": ["unbound", "kea-dhcp4-server"]})
    assert result["differs"] and "kea-dhcp4-server: inactive (success)" in result["live"]


def kea_answer(change=None):
    """``command`` answering config-get with the answer captured from the lab's core, changed by ``change``."""
    with open(os.path.join(os.path.dirname(__file__), "fixtures", "kea-config-get-core.json")) as handle:
        answer = json.load(handle)
    if change:
        change(answer["arguments"]["Dhcp4"])
    return lambda path, command: answer if (path, command) == ("/run/kea/kea4-ctrl-socket", "config-get") else None


def kea_files():
    with open(os.path.join(GOLDEN_CORE, "etc", "kea", "kea-dhcp4.conf")) as handle:
        return {"/etc/kea/kea-dhcp4.conf": handle.read()}


def test_the_running_kea_of_the_lab_core_serves_what_its_file_says():
    # config-get adds every default the file leaves out; the listing compares what the file says.
    result = ktc_live.kea(None, kea_files(), "/etc/kea/kea-dhcp4.conf", command=kea_answer())
    assert not result["differs"], result["live"] + result["intended"]
    assert "subnet 10.40.1.0/25 id=101 interface=vlan101 pools=10.40.1.2-10.40.1.125" in result["intended"]


def test_a_subnet_taken_out_with_config_set_is_drift():
    def drop(dhcp4):
        dhcp4["subnet4"] = [subnet for subnet in dhcp4["subnet4"] if subnet["subnet"] != "10.40.2.0/26"]
    result = ktc_live.kea(None, kea_files(), "/etc/kea/kea-dhcp4.conf", command=kea_answer(drop))
    assert result["differs"]
    assert "+subnet 10.40.2.0/26 id=103" in ktc_live.summary(result, "/etc/kea/kea-dhcp4.conf")


def test_a_kea_that_does_not_answer_is_drift():
    result = ktc_live.kea(None, kea_files(), "/etc/kea/kea-dhcp4.conf", command=lambda path, command: None)
    assert result["differs"] and "does not answer config-get on /run/kea/kea4-ctrl-socket" in result["live"]


def switch_files(name="sw-bkpsdm"):
    files = {}
    directory = os.path.join(os.path.dirname(GOLDEN_CORE), name, "etc", "systemd", "network")
    for entry in os.listdir(directory):
        with open(os.path.join(directory, entry)) as handle:
            files["/etc/systemd/network/" + entry] = handle.read()
    return files


def bridge_run(change=None):
    """``run`` answering `bridge -j vlan show` and `ip -j -d link show` with what sw-bkpsdm answered in the lab."""
    fixtures = os.path.join(os.path.dirname(__file__), "fixtures")
    with open(os.path.join(fixtures, "bridge-vlan-sw-bkpsdm.json")) as handle:
        vlans = json.load(handle)
    with open(os.path.join(fixtures, "ip-link-sw-bkpsdm.json")) as handle:
        links = json.load(handle)
    if change:
        change(dict((entry["ifname"], entry) for entry in vlans), dict((link["ifname"], link) for link in links))

    def run(argv):
        return 0, json.dumps(vlans if argv[0] == "bridge" else links), ""
    return run


def test_the_running_bridge_of_a_lab_switch_is_what_its_files_declare():
    result = ktc_live.bridge(bridge_run(), switch_files(), "/etc/systemd/network")
    assert not result["differs"], result["live"] + result["intended"]
    assert "swp1: vlans=103 pvid=103 untagged=103 guard=on root_block=on" in result["intended"]


def test_a_vlan_added_to_an_access_port_by_hand_is_drift_and_is_deleted():
    def add(vlans, _links):
        vlans["swp1"]["vlans"].append({"vlan": 102})
    result = ktc_live.bridge(bridge_run(add), switch_files(), "/etc/systemd/network")
    assert result["differs"]
    assert result["repairs"] == [["bridge", "vlan", "del", "dev", "swp1", "vid", "102"]]


def test_a_port_guard_turned_off_and_a_trunk_vlan_removed_are_put_back():
    def change(vlans, links):
        links["swp2"]["linkinfo"]["info_slave_data"]["guard"] = False
        vlans["eth1"]["vlans"] = [v for v in vlans["eth1"]["vlans"] if v["vlan"] != 103]
        vlans["br0"]["vlans"] = []
    result = ktc_live.bridge(bridge_run(change), switch_files(), "/etc/systemd/network")
    assert result["repairs"] == [["bridge", "vlan", "add", "dev", "br0", "vid", "10", "self"],
                                 ["bridge", "vlan", "add", "dev", "eth1", "vid", "103"],
                                 ["ip", "link", "set", "dev", "swp2", "type", "bridge_slave", "guard", "on"]]


def tc_listing(name):
    with open(os.path.join(os.path.dirname(__file__), "fixtures", name)) as handle:
        return handle.read()


def test_the_running_shaper_equals_the_script_run_in_a_throwaway_namespace():
    """Captured on the lab's core: the running shaper, and the same script run on dummy uplinks (other leaf handles,
    leaves listed in another order, cake's flow classes of live traffic)."""
    live, built = tc_listing("tc-core-live.txt"), tc_listing("tc-core-namespace.txt")
    assert live != built
    assert ktc_live.normalise_tc(live) == ktc_live.normalise_tc(built)
    assert "class htb 1:65 parent 1:3 leaf auto: prio 0 rate 3Mbit ceil 10Mbit" in ktc_live.normalise_tc(live)


def test_a_shaping_class_deleted_or_changed_by_hand_is_drift():
    built = ktc_live.normalise_tc(tc_listing("tc-core-namespace.txt"))
    live = tc_listing("tc-core-live.txt")
    gone = "\n".join(line for line in live.splitlines() if "1:65" not in line) + "\n"
    assert ktc_live.normalise_tc(gone) != built
    changed = live.replace("class htb 1:65 parent 1:3 leaf 8012: prio 0 rate 3Mbit",
                           "class htb 1:65 parent 1:3 leaf 8012: prio 0 rate 9Mbit")
    assert ktc_live.normalise_tc(changed) != built


def unbound_run(change=lambda zones, data: (zones, data), rc=0):
    """``run`` answering unbound-control list_local_zones / list_local_data as the lab's core did."""
    zones, data = tc_listing("unbound-local-core.txt").split("===\n")
    zones, data = change(zones, data)
    return lambda argv: (rc, zones if argv[-1] == "list_local_zones" else data, "" if rc == 0 else "connection refused")


def unbound_files():
    with open(os.path.join(GOLDEN_CORE, "etc", "unbound", "unbound.conf")) as handle:
        return {"/etc/unbound/unbound.conf": handle.read()}


def test_the_running_unbound_serves_the_zones_and_records_of_its_file():
    result = ktc_live.unbound(unbound_run(), unbound_files(), "/etc/unbound/unbound.conf")
    assert not result["differs"], result["live"] + result["intended"]
    assert "simpeg.ktc.sumbawabaratkab.go.id. A 10.40.2.78" in result["intended"]
    assert "78.2.40.10.in-addr.arpa. PTR simpeg.ktc.sumbawabaratkab.go.id." in result["intended"]


def test_a_record_added_or_removed_by_hand_in_our_zone_is_drift():
    added = ktc_live.unbound(unbound_run(lambda z, d: (z, d + "wpad.ktc.sumbawabaratkab.go.id.\t3600\tIN\tA\t10.40.2.66\n")),
                             unbound_files(), "/etc/unbound/unbound.conf")
    assert added["differs"]
    assert "-wpad.ktc.sumbawabaratkab.go.id. A 10.40.2.66" in ktc_live.summary(added, "/etc/unbound/unbound.conf")
    removed = ktc_live.unbound(unbound_run(lambda z, d: (z, "\n".join(
        line for line in d.splitlines() if not line.startswith("simpeg.")) + "\n")), unbound_files(),
        "/etc/unbound/unbound.conf")
    assert removed["differs"] and "+simpeg.ktc.sumbawabaratkab.go.id. A 10.40.2.78" in ktc_live.summary(removed, "x")


def test_an_unbound_that_does_not_answer_is_drift():
    result = ktc_live.unbound(unbound_run(rc=1), unbound_files(), "/etc/unbound/unbound.conf")
    assert result["differs"] and "unbound does not answer" in result["live"]


def test_a_declared_link_local_address_is_checked_and_the_kernels_own_are_not():
    # The lab's uplinks carry the kernel's link-local address (no file declares it): not drift.
    assert any(a["scope"] == "link" for link in json.loads(running()(["ip", "-j", "-d", "addr", "show"])[1])
               if link["ifname"] == "eth1" for a in link["addr_info"])
    assert not ktc_live.networkd(running(), core_files())["differs"]

    def drop(by_name, _links):
        by_name["vlan103"]["addr_info"] = [a for a in by_name["vlan103"]["addr_info"] if a["local"] != "fe80::1"]
    result = ktc_live.networkd(running(drop), core_files())
    assert result["differs"] and result["repairs"] == [["ip", "addr", "add", "fe80::1/64", "dev", "vlan103"]]


def test_the_ipv6_records_are_read_from_the_file_as_unbound_serves_them():
    result = ktc_live.unbound(unbound_run(), unbound_files(), "/etc/unbound/unbound.conf")
    assert "gw.staff.bkpsdm.ktc.sumbawabaratkab.go.id. AAAA 2001:db8:40:103::1" in result["intended"]
    assert ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.1.0.0.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR "
            "gw.staff.bkpsdm.ktc.sumbawabaratkab.go.id.") in result["intended"]


def test_a_namespace_build_is_kept_per_content_and_done_again_when_the_file_changes(tmp_path):
    """The shaper's intended state costs a minute on the lab's core: built once per script content (and kernel and
    tc binary), then read from the cache; a changed script is built again; without a cache, every time."""
    builds = []
    live, built = tc_listing("tc-core-live.txt"), tc_listing("tc-core-namespace.txt")

    def run(argv):
        if argv[0] == "unshare":
            builds.append(argv)
            return 0, built, ""
        return 0, live, ""
    uplinks = {"uplinks": [{"name": "primary", "interface": "eth1"}]}
    script = {"/usr/local/sbin/ktc-shaping": "#!/bin/sh\n# version 1\n"}
    try:
        ktc_live.use_cache(str(tmp_path / "cache"))
        first = ktc_live.shaping(run, script, "/usr/local/sbin/ktc-shaping", uplinks)
        again = ktc_live.shaping(run, script, "/usr/local/sbin/ktc-shaping", uplinks)
        assert len(builds) == 1 and first == again
        changed = {"/usr/local/sbin/ktc-shaping": "#!/bin/sh\n# version 2\n"}
        ktc_live.shaping(run, changed, "/usr/local/sbin/ktc-shaping", uplinks)
        assert len(builds) == 2
        assert len(os.listdir(tmp_path / "cache")) == 2
        assert all(name.startswith("shaping-") for name in os.listdir(tmp_path / "cache"))   # no temporary file left
        # A failed build is not kept.
        builds.clear()
        failing = {"/usr/local/sbin/ktc-shaping": "#!/bin/sh\nexit 1\n"}
        for _ in range(2):
            with pytest.raises(RuntimeError):
                ktc_live.shaping(lambda argv: (1, "", "boom") if argv[0] == "unshare" else (0, live, ""), failing,
                                 "/usr/local/sbin/ktc-shaping", uplinks)
        assert len(os.listdir(tmp_path / "cache")) == 2
    finally:
        ktc_live.use_cache(None)
    ktc_live.shaping(run, script, "/usr/local/sbin/ktc-shaping", uplinks)
    assert len(builds) == 1          # no cache: built again
