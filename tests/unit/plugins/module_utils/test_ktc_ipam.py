"""Unit tests of the allocation core: every refusal the site-model contract lists, and the allocator's rules."""

import copy
import os

import pytest
import yaml

from netaddr import IPAddress, IPNetwork

import ktc_ipam
import ktc_site
from ktc_site import SiteError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


def lab_site():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")) as handle:
        return yaml.safe_load(handle)["ktc_site"]


def office(site, office_id):
    return next(o for o in site["offices"] if o["id"] == office_id)


def refusal(site, ledger=None, release=()):
    with pytest.raises(SiteError) as caught:
        ktc_ipam.plan(site, ledger or ktc_ipam.empty_ledger(), release)
    return "\n".join(caught.value.errors)


def mutate(change):
    site = lab_site()
    change(site)
    return site


# Each refusal of the contract: (what the operator did, the mutation, words the message must hold).
REFUSALS = [
    ("duplicate office id", lambda s: s["offices"].append(copy.deepcopy(s["offices"][1])),
     ["offices[bkpsdm].id", "must be unique"]),
    ("duplicate segment name", lambda s: office(s, "bkpsdm")["segments"].append({"name": "staff", "hosts": 3}),
     ["offices[bkpsdm].segments[staff].name", "two segments named staff"]),
    ("id with bad characters", lambda s: office(s, "bkpsdm").update(id="BKPSDM_1"),
     ["offices[BKPSDM_1].id", "[a-z0-9-]"]),
    ("id too long", lambda s: office(s, "bkpsdm").update(id="b" * 25), ["offices[" + "b" * 25 + "].id", "2..24"]),
    ("id with a newline at its end", lambda s: office(s, "bkpsdm").update(id="bkpsdm\n"), ["offices[bkpsdm\n].id"]),
    ("segment name with a newline at its end", lambda s: office(s, "bkpsdm")["segments"][0].update(name="staff\n"),
     ["offices[bkpsdm].segments[staff\n].name"]),
    ("domain with a newline at its end", lambda s: s.update(domain=s["domain"] + "\n"), ["domain"]),
    ("hosts zero", lambda s: office(s, "bkpsdm")["segments"][0].update(hosts=0),
     ["offices[bkpsdm].segments[staff].hosts", "above 0"]),
    ("hosts negative", lambda s: office(s, "bkpsdm")["segments"][0].update(hosts=-3),
     ["offices[bkpsdm].segments[staff].hosts", "got -3"]),
    ("hosts not an integer", lambda s: office(s, "bkpsdm")["segments"][0].update(hosts="40"),
     ["offices[bkpsdm].segments[staff].hosts", "whole number"]),
    ("hosts a boolean", lambda s: office(s, "bkpsdm")["segments"][0].update(hosts=True),
     ["offices[bkpsdm].segments[staff].hosts"]),
    ("hosts a float", lambda s: office(s, "bkpsdm")["segments"][0].update(hosts=4.5),
     ["offices[bkpsdm].segments[staff].hosts"]),
    ("unknown kind", lambda s: office(s, "bkpsdm")["segments"][0].update(kind="vip"),
     ["offices[bkpsdm].segments[staff].kind", "office, guest, event"]),
    ("segment that cannot fit", lambda s: office(s, "bkpsdm")["segments"].append({"name": "big", "hosts": 50000}),
     ["offices[bkpsdm].segments[big]", "address_pool 10.40.0.0/16 has", "free addresses left", "Fix"]),
    ("public address_pool", lambda s: s.update(address_pool="8.8.0.0/16"), ["ktc_site.address_pool", "not private"]),
    ("address_pool not a network address", lambda s: s.update(address_pool="10.40.0.1/16"),
     ["ktc_site.address_pool", "not a network address", "10.40.0.0/16"]),
    ("address_pool not a prefix", lambda s: s.update(address_pool="ten-forty"), ["ktc_site.address_pool"]),
    ("address_pool overlapping management", lambda s: s.update(address_pool="10.40.255.0/25"),
     ["ktc_site.address_pool", "overlaps management"]),
    ("guaranteed above ceiling", lambda s: office(s, "bkpsdm")["bandwidth"].update(guaranteed_mbit=21, ceiling_mbit=20),
     ["offices[bkpsdm].bandwidth", "guaranteed_mbit 21 is above ceiling_mbit 20"]),
    ("guarantees above the uplink", lambda s: [o["bandwidth"].update(guaranteed_mbit=8) for o in s["offices"]],
     ["guaranteed_mbit adds up to 24", "primary uplink's 10", "by 14"]),
    ("ceiling above the uplink", lambda s: office(s, "bkpsdm")["bandwidth"].update(ceiling_mbit=30),
     ["offices[bkpsdm].bandwidth.ceiling_mbit", "above the primary uplink"]),
    ("reservation for an unknown segment",
     lambda s: office(s, "diskominfo")["reservations"][0].update(segment="lab"),
     ["offices[diskominfo].reservations[printer-lt2].segment", "'lab' is not a segment"]),
    ("malformed MAC", lambda s: office(s, "diskominfo")["reservations"][0].update(mac="02:00:00:00:10"),
     ["offices[diskominfo].reservations[printer-lt2].mac", "not a MAC address"]),
    ("multicast MAC", lambda s: office(s, "diskominfo")["reservations"][0].update(mac="01:00:5e:00:00:01"),
     ["reservations[printer-lt2].mac", "multicast"]),
    ("duplicate MAC", lambda s: office(s, "dukcapil").update(reservations=[
        {"name": "absensi", "segment": "staff", "mac": "02:00:00:00:10:01"}]),
     ["offices[dukcapil].reservations[absensi].mac", "already reserved for", "printer-lt2"]),
    ("bad domain", lambda s: s.update(domain="not a domain"), ["ktc_site.domain"]),
    ("no segments", lambda s: office(s, "bkpsdm").update(segments=[]), ["offices[bkpsdm].segments"]),
    ("bad service port", lambda s: s["services"][0].update(ports=["tcp/99999"]), ["services[simpeg].ports"]),
    # Hostile or careless values: each would reach a template, a file or a shell.
    ("office name with a newline", lambda s: office(s, "bkpsdm").update(name="BKPSDM\n[Network]\nAddress=10.40.255.1/24"),
     ["offices[bkpsdm].name", "control character", "one line"]),
    ("office name with a control character", lambda s: office(s, "bkpsdm").update(name="BKPSDM\x1b[2J"),
     ["offices[bkpsdm].name", "control character"]),
    ("office name with a Unicode line separator", lambda s: office(s, "bkpsdm").update(name="BKPSDM\u2028x"),
     ["offices[bkpsdm].name", "control character"]),
    ("office name too long", lambda s: office(s, "bkpsdm").update(name="B" * 121), ["offices[bkpsdm].name", "at most 120"]),
    ("site name with a newline", lambda s: s.update(name="KTC\nx"), ["ktc_site.name", "control character"]),
    ("time zone not in the tz database", lambda s: s.update(timezone="Asia/Nowhere"),
     ["ktc_site.timezone", "tz database", "Asia/Makassar"]),
    ("time zone with shell code", lambda s: s.update(timezone="UTC; touch /tmp/pwned"), ["ktc_site.timezone"]),
    ("uplink name too long for ifb-<name>", lambda s: s["uplinks"][1].update(name="backup-telkom"),
     ["ktc_site.uplinks[1].name", "2..11", "ifb-<name>"]),
    # Shared services live in the site's services segment, at ledger addresses: never an address typed by hand
    # (which could be management's, core's, a switch's or 0.0.0.0).
    ("service with an address of its own", lambda s: s["services"][0].update(address="10.40.255.20"),
     ["ktc_site.services[simpeg].address", "services segment (kind: services), outside management", "remove address"]),
    ("services but no services segment", lambda s: office(s, "diskominfo").update(
        segments=[seg for seg in office(s, "diskominfo")["segments"] if seg.get("kind") != "services"]),
     ["ktc_site.services: the site lists shared services but has no segment of kind services",
      "{name: servers, hosts: 14, kind: services}"]),
    ("two services segments", lambda s: office(s, "bkpsdm")["segments"].append(
        {"name": "apps", "hosts": 6, "kind": "services"}),
     ["bkpsdm/apps", "diskominfo/services", "one services segment"]),
    ("services segment as NOC", lambda s: [seg.update(noc=True) for seg in office(s, "diskominfo")["segments"]
                                            if seg.get("kind") == "services"],
     ["offices[diskominfo].segments[services].noc: a services segment cannot be a NOC segment"]),
    ("service name taken by a reservation in its segment", lambda s: office(s, "diskominfo")["reservations"].append(
        {"name": "simpeg", "segment": "services", "mac": "02:00:00:00:10:09"}),
     ["ktc_site.services[simpeg].name: office diskominfo has a reservation of that name"]),
    ("service MAC reserved twice", lambda s: s["services"][0].update(mac="02:00:00:00:10:01"),
     ["mac: 02:00:00:00:10:01 is already reserved for ktc_site.services[simpeg]"]),
    ("service with a multicast MAC", lambda s: s["services"][0].update(mac="01:00:5e:00:00:01"),
     ["ktc_site.services[simpeg].mac", "multicast"]),
    ("service with an unknown field", lambda s: s["services"][0].update(host="simpeg.local"),
     ["ktc_site.services[simpeg]: unknown field(s) host"]),
    ("all-zero MAC", lambda s: office(s, "diskominfo")["reservations"][0].update(mac="00:00:00:00:00:00"),
     ["reservations[printer-lt2].mac", "all-zero"]),
    ("broadcast MAC", lambda s: office(s, "diskominfo")["reservations"][0].update(mac="ff:ff:ff:ff:ff:ff"),
     ["reservations[printer-lt2].mac", "broadcast"]),
    ("NOC office with no NOC segment", lambda s: office(s, "diskominfo")["segments"][0].pop("noc"),
     ["offices[diskominfo].noc: the office is a NOC, but none of its segments is marked noc: true"]),
    ("NOC segment outside a NOC office", lambda s: office(s, "bkpsdm")["segments"][0].update(noc=True),
     ["offices[bkpsdm].segments[staff].noc: the segment is marked noc, but its office is not a NOC office"]),
    ("guest segment as NOC", lambda s: office(s, "diskominfo")["segments"].append(
        {"name": "wifi", "hosts": 20, "kind": "guest", "noc": True}),
     ["offices[diskominfo].segments[wifi].noc: a guest segment cannot be a NOC segment"]),
    ("NOC flag not a boolean", lambda s: office(s, "diskominfo")["segments"][0].update(noc="yes"),
     ["offices[diskominfo].segments[staff].noc: 'yes' must be true or false"]),
]


@pytest.mark.parametrize("change, expected", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusal_names_the_field_and_the_fix(change, expected):
    message = refusal(mutate(change))
    for words in expected:
        assert words in message


def test_vlan_pool_exhausted_says_how_many_are_kept_for_removed_offices():
    site = mutate(lambda s: s.update(vlan_pool={"first": 100, "last": 102}))
    message = refusal(site)
    assert "VLAN pool 100..102 is exhausted" in message
    assert "widen vlan_pool" in message


def test_every_problem_is_reported_at_once():
    site = lab_site()
    office(site, "bkpsdm")["segments"][0]["hosts"] = 0
    office(site, "dukcapil")["id"] = "Dukcapil"
    assert len(refusal(site).splitlines()) >= 2


def hand_edited(edit):
    site = lab_site()
    _, ledger, _ = ktc_ipam.plan(site, ktc_ipam.empty_ledger())
    edit(ledger["offices"])
    return refusal(site, ledger)


def test_hand_edited_ledger_with_duplicate_vlan_is_refused():
    message = hand_edited(lambda o: o["bkpsdm"]["staff"].update(vlan=o["dukcapil"]["wifi"]["vlan"]))
    assert "ledger offices.dukcapil.wifi.vlan" in message or "ledger offices.bkpsdm.staff.vlan" in message
    assert "also given to" in message and "restore the ledger from git" in message


def test_hand_edited_ledger_with_overlap_is_refused():
    message = hand_edited(lambda o: o["bkpsdm"]["staff"].update(prefix=o["dukcapil"]["wifi"]["prefix"]))
    assert "overlaps" in message and "bkpsdm/staff" in message and "dukcapil/wifi" in message


def test_hand_edited_ledger_with_a_bad_prefix_is_refused():
    message = hand_edited(lambda o: o["bkpsdm"]["staff"].update(prefix="10.40.2.5/26"))
    assert "ledger offices.bkpsdm.staff.prefix" in message and "not a network address" in message


def test_hand_edited_ledger_on_the_management_prefix_is_refused():
    message = hand_edited(lambda o: o["bkpsdm"]["staff"].update(prefix="10.40.255.0/26"))
    assert "overlaps the management prefix" in message


def test_unreadable_ledger_is_refused():
    with pytest.raises(SiteError) as caught:
        ktc_ipam.load_ledger("offices: [unclosed")
    assert "not valid YAML" in caught.value.errors[0]


def test_segment_grown_beyond_its_prefix_is_refused_not_moved():
    site = lab_site()
    _, ledger, _ = ktc_ipam.plan(site, ktc_ipam.empty_ledger())
    office(site, "bkpsdm")["segments"][0]["hosts"] = 100
    message = refusal(site, ledger)
    assert "offices[bkpsdm].segments[staff].hosts: 100 no longer fits" in message
    assert "never move" in message


def test_lab_allocation_is_sized_aligned_and_from_the_bottom_of_the_pool():
    site, ledger, report = ktc_ipam.plan(lab_site(), ktc_ipam.empty_ledger())
    entries = ledger["offices"]
    # 120 hosts + 25 % headroom + 3 = 153 addresses: a /24; 40 hosts -> 53: a /26.
    assert entries["dukcapil"]["wifi"] == {"vlan": 100, "prefix": "10.40.0.0/24", "prefix6": "2001:db8:40:100::/64"}
    assert entries["bkpsdm"]["staff"]["prefix"].endswith("/26")
    assert len(report["allocated"]) == 5 + 6  # each segment's VLAN and prefix, then the /64s (management's too)
    assert entries["diskominfo"]["staff"]["reservations"] == {"printer-lt2": "10.40.1.126"}


def test_prefix_sizing_rule():
    assert ktc_site.prefixlen_for(1) == 29
    assert ktc_site.prefixlen_for(40) == 26
    assert ktc_site.prefixlen_for(120) == 24
    assert ktc_site.prefixlen_for(200, headroom_percent=0) == 24
    assert ktc_site.prefixlen_for(253, headroom_percent=0) == 24
    assert ktc_site.prefixlen_for(254, headroom_percent=0) == 23


def test_noc_rights_go_to_the_marked_segments_of_a_noc_office_only():
    site = lab_site()
    office(site, "diskominfo")["segments"].append({"name": "printers", "hosts": 10})
    site, ledger, _ = ktc_ipam.plan(site, ktc_ipam.empty_ledger())
    noc = sorted((f["office"], f["segment"]) for f in ktc_ipam.segment_facts(site, ledger) if f["noc"])
    assert noc == [("diskominfo", "staff")]


def test_segment_facts_give_what_the_roles_need():
    site, ledger, _ = ktc_ipam.plan(lab_site(), ktc_ipam.empty_ledger())
    facts = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(site, ledger)}
    staff = facts[("diskominfo", "staff")]
    assert staff["gateway"] == "10.40.1.1" and staff["gateway_cidr"] == "10.40.1.1/25"
    assert staff["interface"] == "vlan101" and staff["noc"] is True
    assert staff["dhcp_pools"] == [{"start": "10.40.1.2", "end": "10.40.1.125"}]
    assert staff["reservations"][0]["address"] == "10.40.1.126"
    assert staff["reverse_zones"] == ["1.40.10.in-addr.arpa"]
    assert facts[("dukcapil", "wifi")]["kind"] == "guest"


def test_shared_services_get_stable_addresses_in_the_services_segment_outside_management():
    site = lab_site()
    site["services"].append({"name": "eoffice", "ports": ["tcp/443", "tcp/80"], "mac": "02:00:00:00:20:02"})
    site, ledger, _ = ktc_ipam.plan(site, ktc_ipam.empty_ledger())
    facts = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(site, ledger)}
    services = facts[("diskominfo", "services")]
    assert services["kind"] == "services" and not services["noc"]
    prefix = services["prefix"]
    assert not IPNetwork(prefix) in IPNetwork(site["management"]["prefix"])
    by_name = {s["name"]: s for s in services["services"]}
    # From the top of the segment, in name order; never in a DHCP pool.
    assert [by_name["eoffice"]["address"], by_name["simpeg"]["address"]] == [
        str(IPNetwork(prefix).broadcast - 1), str(IPNetwork(prefix).broadcast - 2)]
    assert all(IPAddress(s["address"]) > IPAddress(services["dhcp_pools"][-1]["end"]) for s in by_name.values())
    assert by_name["simpeg"]["fqdn"] == "simpeg.ktc.sumbawabaratkab.go.id" and by_name["simpeg"]["mac"] is None
    assert sorted(services["service_endpoints"]) == sorted([
        "%s . tcp . 443" % by_name["eoffice"]["address"], "%s . tcp . 80" % by_name["eoffice"]["address"],
        "%s . tcp . 443" % by_name["simpeg"]["address"]])
    # Only a server with a MAC gets a DHCP reservation; every one gets its name.
    assert services["dhcp_reservations"] == [{"name": "eoffice", "mac": "02:00:00:00:20:02",
                                              "address": by_name["eoffice"]["address"]}]
    assert {"name": "simpeg.ktc.sumbawabaratkab.go.id", "type": "A", "address": by_name["simpeg"]["address"]} \
        in services["dns_records"]
    assert all(not f["service_endpoints"] for key, f in facts.items() if key != ("diskominfo", "services"))
    # A service added later does not move the others.
    site2 = lab_site()
    site2["services"].insert(0, {"name": "aaa", "ports": ["tcp/22"]})
    site2["services"].append({"name": "eoffice", "ports": ["tcp/443"], "mac": "02:00:00:00:20:02"})
    _, ledger2, _ = ktc_ipam.plan(site2, ledger)
    kept = ledger2["offices"]["diskominfo"]["services"]["reservations"]
    assert kept["simpeg"] == by_name["simpeg"]["address"] and kept["eoffice"] == by_name["eoffice"]["address"]


def test_segment_facts_refuse_segments_not_yet_allocated():
    site = ktc_site.validate_site(lab_site())
    with pytest.raises(SiteError) as caught:
        ktc_ipam.segment_facts(site, ktc_ipam.empty_ledger())
    assert "not in the ledger yet" in caught.value.errors[0]


@pytest.mark.parametrize("prefix, zones", [
    ("10.40.1.128/25", ["1.40.10.in-addr.arpa"]),
    ("10.40.4.0/22", ["4.40.10.in-addr.arpa", "5.40.10.in-addr.arpa", "6.40.10.in-addr.arpa",
                      "7.40.10.in-addr.arpa"]),
    ("10.40.0.0/16", ["40.10.in-addr.arpa"]),
])
def test_reverse_zones(prefix, zones):
    assert ktc_ipam.reverse_zones(prefix) == zones


def test_committed_ledgers_match_their_site_models():
    """The ledgers in git are what the allocator makes of the site models: a rerun changes nothing."""
    for env in ("lab", "production"):
        inventory = os.path.join(REPO, "inventories", env)
        with open(os.path.join(inventory, "group_vars", "all", "site.yml")) as handle:
            site = yaml.safe_load(handle)["ktc_site"]
        text, ledger = ktc_ipam.read_ledger(os.path.join(inventory, "ipam.yml"))
        _, new_ledger, report = ktc_ipam.plan(site, ledger)
        assert report["allocated"] == [], env
        assert ktc_ipam.dump_ledger(new_ledger) == text, env


# Events: temporary segments opened and closed by playbooks/event.yml.
EVENT = {"name": "cat-asn-1", "office": "bkpsdm", "clients": 40, "reserved_mbit": 3, "switch": "sw-bkpsdm",
         "ports": ["swp1"], "starts": "2026-12-01 07:00", "ends": "2026-12-03 17:00"}


def test_an_event_is_a_segment_of_kind_event_of_its_office_allocated_like_any_other():
    site, ledger, _ = ktc_ipam.plan(ktc_site.with_events(lab_site(), [EVENT]), ktc_ipam.empty_ledger())
    facts = {(f["office"], f["segment"]): f for f in ktc_ipam.segment_facts(site, ledger)}
    event = facts[("bkpsdm", "cat-asn-1")]
    assert event["kind"] == "event" and event["reserved_mbit"] == 3
    assert event["hosts"] == 40 and event["prefixlen"] == ktc_site.prefixlen_for(40)
    assert facts[("bkpsdm", "staff")]["reserved_mbit"] == 0
    # Shaping: the office keeps its class (its lowest VLAN); the event gets one of its own.
    assert facts[("bkpsdm", "staff")]["shaping_class"] == "%x" % facts[("bkpsdm", "staff")]["vlan"]
    assert event["shaping_class"] == "%x" % event["vlan"] != facts[("bkpsdm", "staff")]["shaping_class"]


def test_an_office_segments_share_one_shaping_class_named_after_its_lowest_vlan():
    site, ledger, _ = ktc_ipam.plan(lab_site(), ktc_ipam.empty_ledger())
    dukcapil = [f for f in ktc_ipam.segment_facts(site, ledger) if f["office"] == "dukcapil"]
    assert len(dukcapil) == 2 and {f["shaping_class"] for f in dukcapil} == {"%x" % min(f["vlan"] for f in dukcapil)}


def test_closing_an_event_and_releasing_it_restores_the_ledger():
    _site, before, _ = ktc_ipam.plan(lab_site(), ktc_ipam.empty_ledger())
    _site, opened, _ = ktc_ipam.plan(ktc_site.with_events(lab_site(), [EVENT]), before)
    _site, closed, _ = ktc_ipam.plan(lab_site(), opened, ["bkpsdm/cat-asn-1"])
    assert ktc_ipam.dump_ledger(closed) == ktc_ipam.dump_ledger(before) != ktc_ipam.dump_ledger(opened)


@pytest.mark.parametrize("change, expected", [
    ({"reserved_mbit": 5}, "events: they reserve 5 Mbit/s while the offices' guarantees take 7 of the primary uplink's 10"),
    ({"reserved_mbit": 0}, "reserved_mbit: an event needs the Mbit/s it reserves"),
    ({"clients": "many"}, "event cat-asn-1.clients: the number of devices expected"),
    ({"ports": "swp1"}, "event cat-asn-1.ports: give the switch ports of the event as a list"),
    ({"name": "staff"}, "office bkpsdm already has a segment or event named staff"),
    ({"office": "nowhere"}, "event cat-asn-1.office: 'nowhere' is not an office of ktc_site"),
    ({"room": "hall"}, "event cat-asn-1: unknown field(s) room"),
    # Hostile values, as an AWX survey could send them.
    ({"ports": ["swp3$(touch${IFS}pwned)"]}, "event cat-asn-1.ports: 'swp3$(touch${IFS}pwned)' is not a Linux interface"),
    ({"ports": ["swp1;reboot"]}, "event cat-asn-1.ports: 'swp1;reboot'"),
    ({"ports": ["swp1\nprune eth1"]}, "event cat-asn-1.ports:"),
    ({"name": "x{{ lookup('pipe', 'id') }}"}, "must be 1..12 of [a-z0-9-]"),
    ({"switch": "sw-bkpsdm; id"}, "event cat-asn-1.switch: 'sw-bkpsdm; id' is not a host name"),
    ({"starts": "tomorrow"}, "event cat-asn-1.starts: 'tomorrow' must be written like 2026-12-01 07:00"),
    ({"ends": "2026-02-30 17:00"}, "event cat-asn-1.ends: '2026-02-30 17:00' is not a real date"),
    ({"ends": "2026-11-30 17:00"}, "event cat-asn-1.ends: 2026-11-30 17:00 is not after starts"),
    ({"office": ["bkpsdm"]}, "event cat-asn-1.office: ['bkpsdm'] is not an office"),
])
def test_an_event_the_site_cannot_take_is_refused(change, expected):
    with pytest.raises(SiteError) as caught:
        ktc_ipam.plan(ktc_site.with_events(lab_site(), [dict(EVENT, **change)]), ktc_ipam.empty_ledger())
    assert expected in "\n".join(caught.value.errors)
