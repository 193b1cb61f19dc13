"""Unit tests of the site's IPv6 plan: the site prefix's grammar, one stable /64 per segment and for management in the
ledger, and the facts the roles read (gateway, reverse zone, AAAA)."""

import copy

import pytest

import ktc_ipam
from ktc_site import SiteError
from test_ktc_ipam import lab_site, office, refusal


def ipv4_only_site():
    site = lab_site()
    del site["ipv6"]
    return site


def allocate(site, ledger=None, release=()):
    return ktc_ipam.plan(site, ledger or ktc_ipam.empty_ledger(), release)[1:]


def prefixes6(ledger):
    found = {"management": ledger["management"]["prefix6"]}
    for office_id, segments in ledger["offices"].items():
        for name, entry in segments.items():
            found["%s/%s" % (office_id, name)] = entry.get("prefix6")
    return found


def test_each_segment_gets_the_64_that_reads_like_its_vlan_and_management_too():
    ledger, report = allocate(lab_site())
    assert prefixes6(ledger) == {
        "management": "2001:db8:40:10::/64",  # VLAN 10
        "dukcapil/wifi": "2001:db8:40:100::/64", "diskominfo/staff": "2001:db8:40:101::/64",
        "dukcapil/staff": "2001:db8:40:102::/64", "bkpsdm/staff": "2001:db8:40:103::/64",
        "diskominfo/services": "2001:db8:40:104::/64"}
    assert "bkpsdm/staff ipv6 2001:db8:40:103::/64" in report["allocated"]


def test_a_56_has_no_room_for_vlan_like_ids_above_ff_and_takes_the_lowest_free_ones():
    site = lab_site()
    site["ipv6"] = {"prefix": "2001:db8:40:ab00::/56"}
    ledger, _ = allocate(site)
    assert prefixes6(ledger) == {
        "management": "2001:db8:40:ab10::/64",  # 0x10 fits a /56
        "dukcapil/wifi": "2001:db8:40:ab01::/64", "diskominfo/staff": "2001:db8:40:ab02::/64",
        "dukcapil/staff": "2001:db8:40:ab03::/64", "bkpsdm/staff": "2001:db8:40:ab04::/64",
        "diskominfo/services": "2001:db8:40:ab05::/64"}


def test_allocated_64s_never_move_when_offices_come_and_go():
    site = lab_site()
    ledger, _ = allocate(site)
    before = prefixes6(ledger)
    office(site, "bkpsdm")["segments"].append({"name": "lab", "hosts": 10})
    site["offices"].insert(0, {"id": "bappeda", "name": "Bappeda", "bandwidth": {"guaranteed_mbit": 1, "ceiling_mbit": 5},
                               "segments": [{"name": "staff", "hosts": 20}]})
    grown, _ = allocate(site, ledger)
    after = prefixes6(grown)
    assert dict((key, after[key]) for key in before) == before
    assert len(set(after.values())) == len(after)
    again, report = allocate(site, grown)
    assert ktc_ipam.dump_ledger(again) == ktc_ipam.dump_ledger(grown) and report["allocated"] == []


def test_an_ipv4_only_site_keeps_ipv6_off_and_its_ledger_as_it_was():
    ledger, _ = allocate(ipv4_only_site())
    assert "management" not in ledger
    assert all("prefix6" not in entry for segments in ledger["offices"].values() for entry in segments.values())
    facts = ktc_ipam.segment_facts(ktc_ipam.validate_site(ipv4_only_site()), ledger)
    assert set(fact["prefix6"] for fact in facts) == {None}
    assert all(record["type"] == "A" for fact in facts for record in fact["dns_records"])
    assert ktc_ipam.management_facts(ipv4_only_site(), ledger)["prefix6"] is None


def test_the_ipv6_facts_give_the_gateway_its_reverse_zone_and_aaaa_record():
    site = ktc_ipam.validate_site(lab_site())
    ledger, _ = allocate(lab_site())
    staff = next(f for f in ktc_ipam.segment_facts(site, ledger) if (f["office"], f["segment"]) == ("bkpsdm", "staff"))
    assert staff["prefix6"] == "2001:db8:40:103::/64"
    assert staff["gateway6"] == "2001:db8:40:103::1" and staff["gateway6_cidr"] == "2001:db8:40:103::1/64"
    assert staff["reverse_zone6"] == "3.0.1.0.0.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    assert {"name": "gw.staff.bkpsdm.ktc.sumbawabaratkab.go.id", "type": "AAAA",
            "address": "2001:db8:40:103::1"} in staff["dns_records"]
    management = ktc_ipam.management_facts(site, ledger)
    assert management["gateway6"] == "2001:db8:40:10::1"
    assert management["reverse_zone6"] == "0.1.0.0.0.4.0.0.8.b.d.0.1.0.0.2.ip6.arpa"


def test_facts_refuse_a_segment_without_its_64_yet():
    ledger, _ = allocate(ipv4_only_site())
    with pytest.raises(SiteError) as caught:
        ktc_ipam.segment_facts(ktc_ipam.validate_site(lab_site()), ledger)
    assert "bkpsdm/staff (IPv6)" in caught.value.errors[0] and "allocate.yml" in caught.value.errors[0]


def with_ipv6(value):
    def change(site):
        site["ipv6"] = value
    return change


IPV6_REFUSALS = [
    ("not a mapping", with_ipv6("2001:db8:40::/48"), ["ktc_site.ipv6:", "mapping"]),
    ("unknown field", with_ipv6({"prefix": "2001:db8:40::/48", "gateway": "x"}), ["ktc_site.ipv6:", "gateway"]),
    ("an IPv4 prefix", with_ipv6({"prefix": "10.0.0.0/8"}), ["ktc_site.ipv6.prefix", "not an IPv6 prefix"]),
    ("no length", with_ipv6({"prefix": "2001:db8:40::"}), ["ktc_site.ipv6.prefix", "not an IPv6 prefix"]),
    ("a /64", with_ipv6({"prefix": "2001:db8:40::/64"}), ["ktc_site.ipv6.prefix", "/48../60", "ask the ISP"]),
    ("a /40", with_ipv6({"prefix": "2001:db8::/40"}), ["ktc_site.ipv6.prefix", "is a /40"]),
    ("host bits set", with_ipv6({"prefix": "2001:db8:40::1/48"}), ["ktc_site.ipv6.prefix", "Fix: use 2001:db8:40::/48"]),
    ("link-local", with_ipv6({"prefix": "fe80::/48"}), ["ktc_site.ipv6.prefix", "neither global unicast"]),
    ("multicast", with_ipv6({"prefix": "ff05::/48"}), ["ktc_site.ipv6.prefix", "neither global unicast"]),
    ("a newline after it", with_ipv6({"prefix": "2001:db8:40::/48\n"}), ["ktc_site.ipv6.prefix"]),
    ("a length with a sign", with_ipv6({"prefix": "2001:db8:40::/+48"}), ["ktc_site.ipv6.prefix", "Fix: write "
                                                                          "2001:db8:40::/48"]),
    ("upper case, zeros", with_ipv6({"prefix": "2001:0DB8:0040::/48"}), ["not written the usual way"]),
    ("routed by an unknown uplink", with_ipv6({"prefix": "2001:db8:40::/48", "routed_by": "tertiary"}),
     ["ktc_site.ipv6.routed_by", "tertiary", "primary, backup"]),
    ("a ULA routed by an ISP", with_ipv6({"prefix": "fd4b:7a31:c2e0::/48", "routed_by": "primary"}),
     ["ktc_site.ipv6.routed_by", "unique local"]),
]


@pytest.mark.parametrize("change, expected", [r[1:] for r in IPV6_REFUSALS], ids=[r[0] for r in IPV6_REFUSALS])
def test_a_bad_site_prefix_is_refused_naming_the_field(change, expected):
    site = lab_site()
    change(site)
    message = refusal(site)
    for words in expected:
        assert words in message


def test_a_ula_without_routed_by_is_accepted():
    site = lab_site()
    site["ipv6"] = {"prefix": "fd4b:7a31:c2e0::/48"}
    ledger, _ = allocate(site)
    assert ledger["offices"]["bkpsdm"]["staff"]["prefix6"] == "fd4b:7a31:c2e0:103::/64"


def test_a_60_full_of_segments_is_refused_naming_the_segment_left_without():
    site = lab_site()
    site["ipv6"] = {"prefix": "2001:db8:40:ab00::/60"}  # 16 /64s: the zero one unused, 15 for management and segments
    office(site, "bkpsdm")["segments"].extend({"name": "s%d" % n, "hosts": 3} for n in range(10))
    message = refusal(site)
    assert "ktc_site.ipv6.prefix: 2001:db8:40:ab00::/60 holds 16 /64s" in message and "gets none" in message


def test_a_changed_site_prefix_is_refused_until_ipv6_is_released_then_renumbered():
    ledger, _ = allocate(lab_site())
    site = lab_site()
    site["ipv6"] = {"prefix": "2001:db8:77::/48", "routed_by": "primary"}
    message = refusal(site, ledger)
    assert "ledger offices.bkpsdm.staff.prefix6: 2001:db8:40:103::/64 lies outside ktc_site.ipv6.prefix" in message
    assert "ledger management.prefix6" in message and "ktc_release\": [\"ipv6\"]" in message
    renumbered, report = allocate(site, ledger, release=["ipv6"])
    assert renumbered["offices"]["bkpsdm"]["staff"]["prefix6"] == "2001:db8:77:103::/64"
    assert renumbered["management"]["prefix6"] == "2001:db8:77:10::/64"
    assert "offices.bkpsdm.staff 2001:db8:40:103::/64" in report["released"]
    # IPv4 did not move.
    assert renumbered["offices"]["bkpsdm"]["staff"]["prefix"] == ledger["offices"]["bkpsdm"]["staff"]["prefix"]


@pytest.mark.parametrize("edit, words", [
    (lambda l: l["offices"]["bkpsdm"]["staff"].update(prefix6=l["offices"]["dukcapil"]["staff"]["prefix6"]),
     "is also given to"),
    (lambda l: l["offices"]["bkpsdm"]["staff"].update(prefix6="2001:db8:40:103::/56"), "not an IPv6 /64"),
    (lambda l: l["offices"]["bkpsdm"]["staff"].update(prefix6="2001:db8:40:103::5/64"), "not an IPv6 /64"),
    (lambda l: l["management"].update(vlan=10), "ledger management: must be a mapping {prefix6}"),
])
def test_a_hand_edited_ipv6_ledger_is_refused(edit, words):
    ledger, _ = allocate(lab_site())
    edited = copy.deepcopy(ledger)
    edit(edited)
    assert words in refusal(lab_site(), edited)
