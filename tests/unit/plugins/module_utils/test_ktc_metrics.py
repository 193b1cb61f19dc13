"""Unit tests of the metrics core exports: tc's classes, Kea's statistics and Unbound's counters as captured on the
lab's core, labelled with the lab's offices and segments, and written in a format Prometheus' own parser reads."""

import json
import os

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import ktc_ipam
import ktc_metrics
import ktc_site
import ktc_topology

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope="module")
def lab():
    """(segment facts, exporter config) of the committed lab inventory, the one the fixtures were captured on."""
    base = os.path.join(REPO, "inventories", "lab")
    hostvars, _groups = ktc_topology.read_static_inventory(os.path.join(base, "hosts.yml"))
    with open(os.path.join(base, "group_vars", "all", "site.yml")) as handle:
        site = ktc_site.validate_site(yaml.safe_load(handle)["ktc_site"])
    with open(os.path.join(base, "ipam.yml")) as handle:
        facts = ktc_ipam.segment_facts(site, yaml.safe_load(handle))
    core = next(name for name, values in hostvars.items() if "ktc_uplinks" in values)
    return facts, ktc_metrics.exporter_config(facts, hostvars[core]["ktc_uplinks"])


def by_labels(samples, name):
    return dict((tuple(sorted(labels.items())), value) for metric, labels, value in samples if metric == name)


def test_every_office_and_segment_of_the_model_is_named_in_the_config(lab):
    facts, config = lab
    assert set(config["subnets"]) == set(str(fact["vlan"]) for fact in facts)
    offices = set(fact["office"] for fact in facts)
    assert set(known["office"] for known in config["classes"].values()) == offices | {""}
    assert [uplink["ifb"] for uplink in config["uplinks"]] == ["ifb-primary", "ifb-backup"]


def test_each_office_class_on_the_uplink_gives_its_traffic_guarantee_and_ceiling(lab):
    facts, config = lab
    samples = ktc_metrics.shaping_samples(fixture("tc-class-core-eth1.txt"), "primary", "upload", config)
    guaranteed = by_labels(samples, "ktc_shaping_guaranteed_bits_per_second")
    key = (("direction", "upload"), ("kind", "office"), ("office", "diskominfo"), ("uplink", "primary"))
    assert guaranteed[key] == 3 * 10 ** 6      # the lab's site model: diskominfo 3 Mbit/s guaranteed
    assert by_labels(samples, "ktc_shaping_ceiling_bits_per_second")[key] == 10 * 10 ** 6
    offices = set(dict(labels)["office"] for labels in guaranteed)
    assert offices == set(fact["office"] for fact in facts) | {""}    # the root and shared classes are no office's
    sent = by_labels(samples, "ktc_shaping_bytes_total")
    unclassified = (("direction", "upload"), ("kind", "unclassified"), ("office", ""), ("uplink", "primary"))
    assert sent[unclassified] == 68456      # core's own traffic, as captured


def test_bytes_in_one_class_show_in_that_office_only(lab):
    _facts, config = lab
    listing = fixture("tc-class-core-eth1.txt")
    before = by_labels(ktc_metrics.shaping_samples(listing, "primary", "upload", config), "ktc_shaping_bytes_total")
    # A download in the office of class 1:67: its Sent line, the first after its class line, counts it.
    head, tail = listing.split("class htb 1:67 parent 1:3", 1)
    busy = head + "class htb 1:67 parent 1:3" + tail.replace(" Sent 0 bytes 0 pkt", " Sent 123456 bytes 99 pkt", 1)
    after = by_labels(ktc_metrics.shaping_samples(busy, "primary", "upload", config), "ktc_shaping_bytes_total")
    changed = [dict(key)["office"] for key in before if before[key] != after[key]]
    assert changed == [config["classes"]["67"]["office"]]


def test_download_is_read_from_the_uplinks_ifb(lab):
    _facts, config = lab
    samples = ktc_metrics.shaping_samples(fixture("tc-class-core-ifb-primary.txt"), "primary", "download", config)
    assert samples and all(labels["direction"] == "download" for _name, labels, _value in samples)


def test_tc_rates_in_si_multiples():
    assert ktc_metrics.tc_rate("2Mbit") == 2000000
    assert ktc_metrics.tc_rate("1500Kbit") == 1500000
    assert ktc_metrics.tc_rate("800bit") == 800
    with pytest.raises(ValueError):
        ktc_metrics.tc_rate("2Mbps")


def test_kea_pool_use_per_segment(lab):
    facts, config = lab
    statistics = json.loads(fixture("kea-statistic-get-all-core.json"))["arguments"]
    samples = ktc_metrics.kea_samples(statistics, config)
    total = by_labels(samples, "ktc_dhcp_addresses_total")
    assigned = by_labels(samples, "ktc_dhcp_addresses_assigned")
    assert len(total) == len(assigned) == len(facts)
    for fact in facts:
        key = (("kind", fact["kind"]), ("office", fact["office"]), ("segment", fact["segment"]))
        assert total[key] == statistics["subnet[%d].total-addresses" % fact["vlan"]][0][0]
        assert 0 <= assigned[key] <= total[key]


def test_unbound_queries_and_cache_hits():
    samples = ktc_metrics.unbound_samples(fixture("unbound-stats-core.txt").replace(
        "total.num.queries=0", "total.num.queries=42"))
    assert ("ktc_dns_queries_total", {}, 42) in samples
    assert ("ktc_dns_cache_hits_total", {}, 0) in samples


def test_the_exposition_is_read_by_prometheus_own_parser(lab):
    _facts, config = lab
    samples = (ktc_metrics.shaping_samples(fixture("tc-class-core-eth1.txt"), "primary", "upload", config)
               + ktc_metrics.kea_samples(json.loads(fixture("kea-statistic-get-all-core.json"))["arguments"], config)
               + ktc_metrics.unbound_samples(fixture("unbound-stats-core.txt"))
               + ktc_metrics.conntrack_samples("17\n", "262144\n")
               + ktc_metrics.uplink_samples({"ipv4": "primary", "ipv6": "none"}, config)
               + [("ktc_collector_up", {"collector": 'a "quoted" \\ name'}, 1)])
    families = dict((family.name, family) for family in text_string_to_metric_families(
        ktc_metrics.exposition(samples)))
    # The parser names counters without their _total suffix.
    assert {"ktc_shaping_bytes", "ktc_dhcp_addresses_total", "ktc_dns_queries", "ktc_conntrack_entries",
            "ktc_uplink_active", "ktc_collector_up"} <= set(families)
    assert families["ktc_shaping_bytes"].type == "counter"
    parsed = [(s.labels, s.value) for s in families["ktc_uplink_active"].samples]
    assert ({"uplink": "primary", "family": "ipv4"}, 1.0) in parsed
    assert ({"uplink": "backup", "family": "ipv6"}, 0.0) in parsed
    assert families["ktc_collector_up"].samples[0].labels == {"collector": 'a "quoted" \\ name'}


def test_the_standby_server_of_a_pair_reports_itself_and_no_uplink(lab):
    """The pair's standby server routes through the other one: the monitor writes "standby". It says so
    (ktc_core_active 0) and gives no uplink or gateway samples, so its Prometheus raises no failover alert for uplinks
    it does not hold; its switch count stays. The active server (and one core) says 1."""
    _facts, config = lab
    standby = ktc_metrics.uplink_samples({"ipv4": "standby", "ipv6": "standby"}, config,
                                         {("ipv4", "primary"): "0"}, {"ipv4": "2"})
    assert standby == [("ktc_core_active", {}, 0), ("ktc_uplink_switches_total", {"family": "ipv4"}, 2)]
    active = ktc_metrics.uplink_samples({"ipv4": "primary", "ipv6": "primary"}, config)
    assert ("ktc_core_active", {}, 1) in active
    assert ("ktc_uplink_active", {"uplink": "primary", "family": "ipv4"}, 1) in active


def core_sources(config, kea_up=True):
    """What core's collectors read, as captured on the lab's core (the backup uplink's classes as the primary's)."""
    listings = {}
    for uplink in config["uplinks"]:
        listings[uplink["interface"]] = fixture("tc-class-core-eth1.txt")
        listings[uplink["ifb"]] = fixture("tc-class-core-ifb-primary.txt")
    files = {"/proc/sys/net/netfilter/nf_conntrack_count": "17\n", "/proc/sys/net/netfilter/nf_conntrack_max": "262144\n",
             "/run/ktc/uplink": "backup\n", "/run/ktc/gateway4-primary": "0\n", "/run/ktc/gateway4-backup": "1\n",
             "/run/ktc/gateway6-primary": "x\n", "/run/ktc/switches4": "3\n"}

    def run(argv):
        if argv[:4] == ["tc", "-s", "class", "show"]:
            return (0, listings[argv[-1]]) if argv[-1] in listings else (1, "")
        if argv[0] == "unbound-control":
            return 0, fixture("unbound-stats-core.txt")
        raise AssertionError("unexpected command %s" % argv)

    def kea(path, command):
        assert (path, command) == ("/run/kea/kea4-ctrl-socket", "statistic-get-all")
        return json.loads(fixture("kea-statistic-get-all-core.json")) if kea_up else None
    return run, files.get, kea


def test_one_scrape_reads_every_source(lab):
    facts, config = lab
    samples = ktc_metrics.collect(config, *core_sources(config))
    assert by_labels(samples, "ktc_collector_up") == dict(
        ((("collector", name),), 1) for name in ("shaping", "dhcp", "dns", "conntrack", "uplink"))
    directions = set((labels["uplink"], labels["direction"]) for name, labels, _value in samples
                     if name == "ktc_shaping_bytes_total")
    assert directions == {("primary", "upload"), ("primary", "download"), ("backup", "upload"), ("backup", "download")}
    assert len(by_labels(samples, "ktc_dhcp_addresses_total")) == len(facts)
    assert by_labels(samples, "ktc_uplink_active")[(("family", "ipv4"), ("uplink", "backup"))] == 1
    assert by_labels(samples, "ktc_uplink_active")[(("family", "ipv6"), ("uplink", "primary"))] == 0  # no file: none
    assert ("ktc_conntrack_entries", {}, 17) in samples
    # The gateways as the monitor last saw them; what is not 0 or 1 (read back, never trusted) and what has no file
    # give no sample.
    assert by_labels(samples, "ktc_uplink_gateway_up") == {(("family", "ipv4"), ("uplink", "backup")): 1,
                                                            (("family", "ipv4"), ("uplink", "primary")): 0}
    assert by_labels(samples, "ktc_uplink_switches_total") == {(("family", "ipv4"),): 3}


def test_a_source_that_fails_reports_down_and_the_others_still_report(lab):
    _facts, config = lab
    run, read, kea = core_sources(config, kea_up=False)
    samples = ktc_metrics.collect(config, run, read, kea)
    up = by_labels(samples, "ktc_collector_up")
    assert up[(("collector", "dhcp"),)] == 0 and up[(("collector", "shaping"),)] == 1
    assert not by_labels(samples, "ktc_dhcp_addresses_total")
    # An uplink device that is gone (tc fails on it): the shaper's collector is down, not the scrape.
    broken = dict(config, uplinks=config["uplinks"] + [{"name": "third", "interface": "eth9", "ifb": "ifb-third"}])
    samples = ktc_metrics.collect(broken, *core_sources(config))
    assert by_labels(samples, "ktc_collector_up")[(("collector", "shaping"),)] == 0
    assert by_labels(samples, "ktc_collector_up")[(("collector", "dns"),)] == 1


def test_a_server_of_a_pair_reports_its_readiness_and_its_kea_ha_state(lab):
    """Only with a pair: the readiness file as written (read back, never trusted: text that is not a number gives no
    sample) and the state Kea's HA hook answers to ha-heartbeat; neither readable: the collector is down."""
    _facts, config = lab
    run, read, kea = core_sources(config)
    files = {"/run/ktc-core-ready": "-1\n"}

    def pair_kea(path, command):
        if command == "ha-heartbeat":
            return {"result": 0, "arguments": {"state": "partner-down", "unsent-update-count": 3}}
        return kea(path, command)

    pair = dict(config, pair={"server": "core2", "ready_file": "/run/ktc-core-ready"})
    samples = ktc_metrics.collect(pair, run, lambda path: files.get(path, read(path)), pair_kea)
    assert ("ktc_core_ready", {"server": "core2"}, -1) in samples
    assert ("ktc_dhcp_ha_state", {"server": "core2", "state": "partner-down"}, 1) in samples
    assert ("ktc_collector_up", {"collector": "pair"}, 1) in samples
    # Kea without its HA hook (or not answering) and a readiness file that is not a number.
    files["/run/ktc-core-ready"] = "1; rm -rf /\n"
    samples = ktc_metrics.collect(pair, run, lambda path: files.get(path, read(path)),
                                  lambda path, command: None if command == "ha-heartbeat" else kea(path, command))
    assert ("ktc_collector_up", {"collector": "pair"}, 0) in samples
    assert not by_labels(samples, "ktc_core_ready") and not by_labels(samples, "ktc_dhcp_ha_state")
    # A missing file counts as 0, as keepalived counts it (the server stands by).
    del files["/run/ktc-core-ready"]
    samples = ktc_metrics.collect(pair, run, lambda path: files.get(path, read(path)), pair_kea)
    assert ("ktc_core_ready", {"server": "core2"}, 0) in samples
    # One core has no pair collector at all.
    assert "pair" not in [labels.get("collector") for _name, labels, _value in ktc_metrics.collect(config, run, read, kea)]
