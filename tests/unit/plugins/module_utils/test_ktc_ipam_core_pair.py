"""Two core servers sharing every segment's gateway (ktc_site.cores, issue "A core that survives its own failure"):
each server's own address in each segment comes from the ledger like a reservation and never moves, the DHCP pools
leave them out, a segment is sized for them, and what cannot work is refused naming the field."""

import copy
import os

import pytest
import yaml
from netaddr import IPAddress, IPNetwork

import ktc_ipam
from ktc_site import SiteError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PAIR = {"preferred": "core-a", "standby": "core-b"}


def lab():
    with open(os.path.join(REPO, "inventories", "lab", "group_vars", "all", "site.yml")) as handle:
        site = yaml.safe_load(handle)["ktc_site"]
    with open(os.path.join(REPO, "inventories", "lab", "ipam.yml")) as handle:
        return site, ktc_ipam.load_ledger(handle.read())


def paired(site):
    return dict(copy.deepcopy(site), cores=dict(PAIR))


def refusal(site, ledger):
    with pytest.raises(SiteError) as caught:
        ktc_ipam.plan(site, ledger)
    return "\n".join(caught.value.errors)


def test_one_core_gives_no_own_addresses_and_changes_nothing():
    site, ledger = lab()
    _site, new, report = ktc_ipam.plan(site, ledger)
    assert new == ledger and report["reservations_added"] == []
    assert all(fact["core_addresses"] == {} for fact in ktc_ipam.segment_facts(_site, new))


def test_a_pair_gets_an_own_address_in_every_segment_below_the_reservations_outside_every_pool():
    site, ledger = lab()
    site, new, report = ktc_ipam.plan(paired(site), ledger)
    facts = ktc_ipam.segment_facts(site, new)
    for fact in facts:
        entry = new["offices"][fact["office"]][fact["segment"]]
        own = fact["core_addresses"]
        assert sorted(own) == ["core-a", "core-b"] and own == entry["cores"]
        prefix = IPNetwork(fact["prefix"])
        held = set((entry.get("reservations") or {}).values())
        # From the top, below what the segment already reserved; never the gateway (the pair's shared address).
        assert IPAddress(own["core-a"]) == max(IPAddress(a) for a in set(prefix.iter_hosts()) - set(map(IPAddress, held)))
        assert IPAddress(own["core-b"]) == IPAddress(own["core-a"]) - 1
        assert fact["gateway"] not in own.values()
        pooled = set()
        for pool in fact["dhcp_pools"]:
            pooled.update(str(IPAddress(a)) for a in range(int(IPAddress(pool["start"])), int(IPAddress(pool["end"])) + 1))
        assert not pooled & set(own.values()) and not pooled & held
    assert len(report["reservations_added"]) == 2 * len(facts)
    assert "diskominfo/staff/core core-a 10.40.1.125" in report["reservations_added"]
    # The ledger's reservations did not move.
    assert all(new["offices"][o][s].get("reservations") == entry.get("reservations")
               for o, segments in ledger["offices"].items() for s, entry in segments.items())


def test_own_addresses_never_move_and_go_when_the_pair_does():
    site, ledger = lab()
    _site, first, _ = ktc_ipam.plan(paired(site), ledger)
    grown = paired(site)
    grown["offices"][0]["reservations"] = grown["offices"][0].get("reservations", []) + [
        {"name": "nas", "segment": "staff", "mac": "02:00:00:00:10:09"}]
    _site, second, report = ktc_ipam.plan(grown, first)
    for office_id, segments in first["offices"].items():
        for name, entry in segments.items():
            assert second["offices"][office_id][name]["cores"] == entry["cores"]
    # A new reservation takes the next address below the pair's.
    office_id = grown["offices"][0]["id"]
    nas = second["offices"][office_id]["staff"]["reservations"]["nas"]
    assert IPAddress(nas) == IPAddress(first["offices"][office_id]["staff"]["cores"]["core-b"]) - 1, report
    # Back to one core: the own addresses leave the ledger, reported.
    _site, single, report = ktc_ipam.plan(site, first)
    assert single == ledger
    assert "diskominfo/staff/core core-b" in report["reservations_dropped"]


def test_a_new_segment_is_sized_for_the_pair():
    site, ledger = lab()
    site = paired(site)
    # 20 hosts with 25 % headroom and 3 overhead need 28 addresses: a /27 for one core; the pair's two make it 30,
    # still a /27; 22 hosts need 31 + 2 = 33: a /26 only with the pair.
    site["offices"][0]["segments"].append({"name": "lab", "hosts": 22})
    _site, new, _ = ktc_ipam.plan(site, ledger)
    assert IPNetwork(new["offices"][site["offices"][0]["id"]]["lab"]["prefix"]).prefixlen == 26
    single = lab()[0]
    single["offices"][0]["segments"].append({"name": "lab", "hosts": 22})
    _site, new, _ = ktc_ipam.plan(single, ledger)
    assert IPNetwork(new["offices"][single["offices"][0]["id"]]["lab"]["prefix"]).prefixlen == 27


def test_a_segment_too_small_for_the_pair_is_refused_naming_it():
    site, ledger = lab()
    full = next((o["id"], s["name"], s["hosts"]) for o in site["offices"] for s in o["segments"]
                if s["name"] == "staff" and o["id"] == "bkpsdm")
    prefix = IPNetwork(ledger["offices"]["bkpsdm"]["staff"]["prefix"])
    site = paired(site)
    segment = next(s for s in next(o for o in site["offices"] if o["id"] == full[0])["segments"] if s["name"] == full[1])
    segment["hosts"] = prefix.size - 3 - 1      # fits one core (gateway, network, broadcast), not the pair's two more
    message = refusal(site, ledger)
    assert "ktc_site.offices[bkpsdm].segments[staff].hosts" in message
    assert "beside the two core servers' own addresses" in message and str(prefix) in message


@pytest.mark.parametrize("cores, words", [
    ({"preferred": "core-a"}, ["ktc_site.cores:", "preferred", "standby"]),
    ({"preferred": "core-a", "standby": "core-a"}, ["ktc_site.cores:", "both 'core-a'"]),
    ({"preferred": "core-a", "standby": "core b;reboot"}, ["ktc_site.cores.standby:", "is not a host name"]),
    (["core-a", "core-b"], ["ktc_site.cores:", "must be {preferred"]),
])
def test_a_pair_that_cannot_work_is_refused_naming_the_field(cores, words):
    site, ledger = lab()
    message = refusal(dict(site, cores=cores), ledger)
    for word in words:
        assert word in message, message


def test_a_hand_edited_own_address_on_a_reservation_is_refused():
    site, ledger = lab()
    _site, new, _ = ktc_ipam.plan(paired(site), ledger)
    entry = new["offices"]["diskominfo"]["staff"]
    entry["cores"]["core-b"] = entry["reservations"]["printer-lt2"]
    message = refusal(paired(site), new)
    assert "ledger offices.diskominfo.staff.reservations.printer-lt2" in message or \
        "ledger offices.diskominfo.staff.cores.core-b" in message, message
    assert "restore the ledger from git" in message
