"""Property tests of the allocation core (ktc_ipam) over generated site models.

Each test states one promise of the allocator to operators: disjoint, aligned and sized prefixes and VLANs inside
their pools; a byte-identical ledger whatever the order of site.yml; entries that never move when offices are
added, reordered or removed; space freed only by an explicit release; reserved addresses that stay put and stay
out of the DHCP pools. Sites are shaped like inventories/lab/group_vars/all/site.yml and sized to fit the pool.
"""

import collections
import copy

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork, IPRange, IPSet

import ktc_ipam
import ktc_site
from ktc_site import SiteError

settings.register_profile("ktc-ipam-properties", deadline=None, max_examples=60,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = settings.get_profile("ktc-ipam-properties")

POOL = "10.40.0.0/16"
VLAN_FIRST, VLAN_LAST = 100, 899
# The lab's management prefix first (what examples shrink to), then prefixes inside the pool's low end, so that
# the allocator has to place segments around them; VLAN 10 is outside vlan_pool, the others inside it.
MANAGEMENT_PREFIXES = ["10.40.255.0/24", "10.40.0.0/24", "10.40.4.0/23", "10.40.1.128/25"]
MANAGEMENT_VLANS = [10, 100, 101, 150]
EMPTY_REPORT = {"allocated": [], "released": [], "reservations_added": [], "reservations_dropped": []}

# Ids from a small alphabet, plus names YAML would read as booleans, numbers or null if the ledger left them bare.
TRICKY_NAMES = ["no", "on", "off", "yes", "null", "true", "0x1f", "010", "1e3", "00"]
ALNUM = "abefnoxy01"


def names(tail_required):
    """Names built to match the module's rules: [a-z0-9], then optionally [a-z0-9-]* ending in [a-z0-9]."""
    tail = st.tuples(st.text(ALNUM + "-", max_size=4), st.sampled_from(ALNUM)).map("".join)
    if not tail_required:
        tail = st.one_of(st.just(""), tail)
    return st.tuples(st.sampled_from(ALNUM), tail).map("".join)


office_ids = st.one_of(st.sampled_from(TRICKY_NAMES), names(tail_required=True))
short_names = st.one_of(st.sampled_from(["staff", "wifi", "1"] + TRICKY_NAMES), names(tail_required=False))
segments = st.fixed_dictionaries({"name": short_names, "hosts": st.integers(1, 300)},
                                 optional={"kind": st.sampled_from(["office", "guest"])})
site_params = st.fixed_dictionaries({
    "management": st.sampled_from(MANAGEMENT_PREFIXES),
    "management_vlan": st.sampled_from(MANAGEMENT_VLANS),
    "headroom": st.sampled_from([None, 0, 25, 50]),
})

Scenario = collections.namedtuple("Scenario", "site grown kept evolved removed_ids new_offices params")


@st.composite
def offices(draw, office_id, min_reservations=0):
    office = {
        "id": office_id,
        "name": "Kantor %s" % office_id,
        "bandwidth": {"guaranteed_mbit": draw(st.integers(0, 5)), "ceiling_mbit": draw(st.integers(10, 20))},
        "segments": draw(st.lists(segments, min_size=1, max_size=3, unique_by=lambda s: s["name"])),
    }
    if draw(st.booleans()):
        office["noc"] = draw(st.booleans())
        if office["noc"]:   # a NOC office gives the rights to one of its office segments
            candidates = [s for s in office["segments"] if s.get("kind", "office") == "office"]
            if candidates:
                draw(st.sampled_from(candidates))["noc"] = True
            else:
                office["noc"] = False
    # At most 3 reservations per office: even a /29 segment (5 addresses left for them) holds them all.
    reserved = draw(st.lists(short_names, min_size=min_reservations, max_size=3, unique=True))
    if reserved:
        office["reservations"] = [{"name": name, "segment": draw(st.sampled_from(office["segments"]))["name"]}
                                  for name in reserved]
    return office


def give_macs(office_list, used):
    """Give every reservation without a MAC a fresh unicast one (some upper case, which the model accepts)."""
    for office in office_list:
        for reservation in office.get("reservations", []):
            if "mac" not in reservation:
                number = len(used) + 1
                mac = "02:00:00:%02x:%02x:%02x" % (number >> 16, (number >> 8) & 255, number & 255)
                while mac in used:
                    number += 1
                    mac = "02:00:00:%02x:%02x:%02x" % (number >> 16, (number >> 8) & 255, number & 255)
                used.add(mac)
                reservation["mac"] = mac.upper() if number % 3 == 0 else mac
    return office_list


def make_site(office_list, params):
    site = {
        "name": "Kemutar Telu Center (property test)",
        "domain": "ktc.sumbawabaratkab.go.id",
        "timezone": "Asia/Makassar",
        "address_pool": POOL,
        "vlan_pool": {"first": VLAN_FIRST, "last": VLAN_LAST},
        "management": {"vlan": params["management_vlan"], "prefix": params["management"]},
        "uplinks": [{"name": "primary", "bandwidth_mbit": 1000}, {"name": "backup", "bandwidth_mbit": 100}],
        "services": [],
        "offices": copy.deepcopy(office_list),
    }
    if params["headroom"] is not None:
        site["headroom_percent"] = params["headroom"]
    return site


def insert_anywhere(draw, base, extra):
    """``base`` in its order, with each office of ``extra`` inserted at a drawn position."""
    result = list(base)
    for office in extra:
        result.insert(draw(st.integers(0, len(result))), office)
    return result


@st.composite
def scenarios(draw, max_base=10, min_new=0, max_new=6, min_removed=0, min_reservations=0):
    """A site, the site grown by new offices, the site minus removed offices, and the latter plus the new offices.

    All office ids are distinct: a new office never takes the id of a removed one. At most 16 offices of at most
    3 segments of at most a /23 each: far less than the pool, so a refusal would be a bug.
    """
    params = draw(site_params)
    n_base = draw(st.integers(max(1, min_removed), max_base))
    n_new = draw(st.integers(min_new, max_new))
    ids = draw(st.lists(office_ids, min_size=n_base + n_new, max_size=n_base + n_new, unique=True))
    macs = set()
    base = give_macs([draw(offices(office_id, min_reservations if index == 0 else 0))
                      for index, office_id in enumerate(ids[:n_base])], macs)
    new = give_macs([draw(offices(office_id)) for office_id in ids[n_base:]], macs)
    removed_ids = draw(st.lists(st.sampled_from(ids[:n_base]), min_size=min_removed, max_size=n_base, unique=True))
    kept = [office for office in base if office["id"] not in removed_ids]
    return Scenario(site=make_site(base, params), grown=make_site(insert_anywhere(draw, base, new), params),
                    kept=make_site(kept, params), evolved=make_site(insert_anywhere(draw, kept, new), params),
                    removed_ids=removed_ids, new_offices=new, params=params)


def shuffled(site, rnd):
    """The same site with offices, segments and reservations listed in another order."""
    site = copy.deepcopy(site)
    rnd.shuffle(site["offices"])
    for office in site["offices"]:
        rnd.shuffle(office["segments"])
        rnd.shuffle(office.get("reservations", []))
    return site


def plan(site, ledger=None, release=()):
    """ktc_ipam.plan on copies, checking that the given ledger is left as it was."""
    ledger = ktc_ipam.empty_ledger() if ledger is None else ledger
    before = ktc_ipam.dump_ledger(ledger)
    try:
        result = ktc_ipam.plan(copy.deepcopy(site), ledger, list(release))
    except SiteError as exc:
        # The generated sites fit the pool; the only refusal tolerated is a full address_pool.
        assert "address_pool %s has" % POOL in str(exc), str(exc)
        assume(False)
    assert ktc_ipam.dump_ledger(ledger) == before, "plan() modified the ledger it was given"
    return result


def entries(ledger):
    """{(office id, segment name): entry} of every segment in the ledger."""
    return dict(((office_id, name), entry)
                for office_id, segs in ledger["offices"].items() for name, entry in segs.items())


def hosts_of(site):
    return dict(((office["id"], segment["name"]), segment["hosts"])
                for office in site["offices"] for segment in office["segments"])


def overlaps(net_a, net_b):
    return net_a.first <= net_b.last and net_b.first <= net_a.last


def assert_unchanged(old_ledger, new_ledger, keys=None):
    old, new = entries(old_ledger), entries(new_ledger)
    for key in old if keys is None else keys:
        assert new.get(key) == old[key], "%s/%s moved: %r -> %r" % (key + (old[key], new.get(key)))


def history(case):
    """Allocate the site from scratch, then the evolved site (removed and new offices) from that ledger."""
    _, first, _ = plan(case.site)
    _, second, _ = plan(case.evolved, first)
    return first, second


@PROFILE
@given(scenarios())
def test_prefixes_and_vlans_never_collide_nor_touch_management(case):
    mgmt = IPNetwork(case.params["management"])
    for ledger in history(case):
        found = sorted(((IPNetwork(entry["prefix"]), key) for key, entry in entries(ledger).items()),
                       key=lambda item: item[0].first)
        for (net_a, key_a), (net_b, key_b) in zip(found, found[1:]):
            assert net_a.last < net_b.first, "%s %s overlaps %s %s" % (key_a, net_a, key_b, net_b)
        for net, key in found:
            assert not overlaps(net, mgmt), "%s %s overlaps management %s" % (key, net, mgmt)
        vlans = [entry["vlan"] for entry in entries(ledger).values()]
        assert len(set(vlans)) == len(vlans)
        assert case.params["management_vlan"] not in vlans


@PROFILE
@given(scenarios())
def test_prefixes_and_vlans_stay_inside_their_pools(case):
    pool = IPNetwork(POOL)
    for ledger in history(case):
        for key, entry in entries(ledger).items():
            net = IPNetwork(entry["prefix"])
            assert pool.first <= net.first and net.last <= pool.last, "%s %s outside %s" % (key, net, pool)
            assert VLAN_FIRST <= entry["vlan"] <= VLAN_LAST, "%s vlan %d" % (key, entry["vlan"])


@PROFILE
@given(scenarios())
def test_prefixes_are_aligned_and_sized_by_the_sizing_rule(case):
    headroom = case.params["headroom"]
    headroom = ktc_site.DEFAULT_HEADROOM_PERCENT if headroom is None else headroom
    previous = {}
    for site, ledger in zip((case.site, case.evolved), history(case)):
        hosts = hosts_of(site)
        for key, entry in entries(ledger).items():
            net = IPNetwork(entry["prefix"])
            assert entry["prefix"] == str(net.cidr) and net.ip == net.network, "%s %s not aligned" % (key, net)
            if key in hosts:
                assert ktc_site.host_capacity(net.prefixlen) >= hosts[key]
            if key not in previous:
                # Allocated in this run: exactly the size the sizing rule gives.
                assert net.prefixlen == ktc_site.prefixlen_for(hosts[key], headroom), key
        previous = entries(ledger)


@PROFILE
@given(scenarios(max_new=0))
def test_ledger_is_deterministic_roundtrips_and_replans_to_itself(case):
    _, ledger, _ = plan(case.site)
    text = ktc_ipam.dump_ledger(ledger)
    _, again, _ = plan(copy.deepcopy(case.site))
    assert ktc_ipam.dump_ledger(again) == text
    loaded = ktc_ipam.load_ledger(text)
    assert loaded == ledger
    assert ktc_ipam.dump_ledger(loaded) == text
    _, replanned, report = plan(case.site, loaded)
    assert ktc_ipam.dump_ledger(replanned) == text
    assert report == EMPTY_REPORT


@PROFILE
@given(scenarios(), st.randoms(use_true_random=False))
def test_order_of_offices_and_segments_does_not_matter(case, rnd):
    _, ledger, _ = plan(case.site)
    text = ktc_ipam.dump_ledger(ledger)
    assert ktc_ipam.dump_ledger(plan(shuffled(case.site, rnd))[1]) == text
    _, same, report = plan(shuffled(case.site, rnd), ledger)
    assert ktc_ipam.dump_ledger(same) == text and report["allocated"] == []
    _, grown_a, _ = plan(shuffled(case.grown, rnd), ledger)
    _, grown_b, _ = plan(shuffled(case.grown, rnd), ledger)
    assert ktc_ipam.dump_ledger(grown_a) == ktc_ipam.dump_ledger(grown_b)
    assert_unchanged(ledger, grown_a)


@PROFILE
@given(scenarios(max_base=8, min_new=1, max_new=8))
def test_adding_offices_never_moves_existing_entries(case):
    _, ledger, _ = plan(case.site)
    _, grown, report = plan(case.grown, ledger)
    assert_unchanged(ledger, grown)
    added = set(hosts_of(case.grown)) - set(hosts_of(case.site))
    assert set(entries(grown)) == set(entries(ledger)) | added
    assert len(report["allocated"]) == len(added)


@PROFILE
@given(scenarios(min_removed=1))
def test_removed_offices_keep_their_space_until_released(case):
    _, ledger, _ = plan(case.site)
    _, kept, report = plan(case.kept, ledger)
    assert ktc_ipam.dump_ledger(kept) == ktc_ipam.dump_ledger(ledger) and report == EMPTY_REPORT
    _, evolved, _ = plan(case.evolved, kept)
    assert_unchanged(ledger, evolved)
    old = entries(ledger)
    removed = [entry for (office_id, _), entry in old.items() if office_id in case.removed_ids]
    for key, entry in entries(evolved).items():
        if key in old:
            continue
        net = IPNetwork(entry["prefix"])
        for gone in removed:
            assert not overlaps(net, IPNetwork(gone["prefix"])), "%s reuses %s" % (key, gone["prefix"])
            assert entry["vlan"] != gone["vlan"], "%s reuses VLAN %d" % (key, gone["vlan"])


@PROFILE
@given(scenarios(min_removed=1, min_new=1))
def test_release_frees_the_space_of_removed_offices_for_reuse(case):
    _, ledger, _ = plan(case.site)
    _, kept, _ = plan(case.kept, ledger)
    _, released, report = plan(case.kept, kept, release=case.removed_ids)
    gone = dict((key, entry) for key, entry in entries(ledger).items() if key[0] in case.removed_ids)
    assert not set(case.removed_ids) & set(released["offices"])
    assert sorted(report["released"]) == sorted("%s/%s" % key for key in gone)
    assert report["allocated"] == []
    assert entries(released) == dict((key, entry) for key, entry in entries(ledger).items() if key not in gone)

    # Re-adding the released offices gives each of them its old VLAN and prefix back: the freed space is free.
    _, readded, _ = plan(case.site, released)
    assert ktc_ipam.dump_ledger(readded) == ktc_ipam.dump_ledger(ledger)

    # A new office the size of the first released segment gets that segment's VLAN and prefix: after the release
    # they are the lowest free VLAN and the lowest free block of that size.
    first_key = min(gone, key=lambda key: gone[key]["vlan"])
    newcomer = {"id": case.new_offices[0]["id"], "name": "Kantor baru",
                "bandwidth": {"guaranteed_mbit": 1, "ceiling_mbit": 10},
                "segments": [{"name": "staff", "hosts": hosts_of(case.site)[first_key]}]}
    _, reused, _ = plan(dict(case.kept, offices=case.kept["offices"] + [newcomer]), released)
    assert reused["offices"][newcomer["id"]]["staff"] == {"vlan": gone[first_key]["vlan"],
                                                          "prefix": gone[first_key]["prefix"]}


@PROFILE
@given(scenarios(), st.data())
def test_releasing_what_is_still_in_site_yml_is_refused(case, data):
    _, ledger, _ = plan(case.site)
    office = data.draw(st.sampled_from(case.site["offices"]))
    segment = data.draw(st.sampled_from(office["segments"]))
    for item in (office["id"], "%s/%s" % (office["id"], segment["name"])):
        with pytest.raises(SiteError) as caught:
            ktc_ipam.plan(copy.deepcopy(case.site), ledger, [item])
        assert "still in site.yml" in str(caught.value) and item in str(caught.value)


def assert_reservations_sound(site, ledger):
    """Check every reservation's address in segment_facts; return {(office, segment, name): address}."""
    facts = ktc_ipam.segment_facts(ktc_site.validate_site(copy.deepcopy(site)), ledger)
    by_office = dict((office["id"], office) for office in site["offices"])
    addresses = {}
    for fact in facts:
        net = IPNetwork(fact["prefix"])
        wanted = dict((r["name"], r["mac"].lower()) for r in by_office[fact["office"]].get("reservations", [])
                      if r["segment"] == fact["segment"])
        assert dict((r["name"], r["mac"]) for r in fact["reservations"]) == wanted
        pools = IPSet(IPRange(pool["start"], pool["end"]) for pool in fact["dhcp_pools"])
        reserved = IPSet()
        for reservation in fact["reservations"]:
            address = IPAddress(reservation["address"])
            where = "%s/%s/%s %s" % (fact["office"], fact["segment"], reservation["name"], address)
            assert address in net, where
            assert address not in (net.network, net.broadcast, IPAddress(fact["gateway"])), where
            assert address not in pools, where + " is also in a DHCP pool"
            assert address not in reserved, where + " is reserved twice"
            reserved.add(address)
            addresses[(fact["office"], fact["segment"], reservation["name"])] = address
        # The DHCP pools hand out every other host address of the segment.
        assert pools | reserved | IPSet([net.network, net.broadcast, net.network + 1]) == IPSet([net.cidr])
    assert len(set(addresses.values())) == len(addresses)
    return addresses


@PROFILE
@given(scenarios(max_new=0, min_reservations=1), st.data())
def test_reservations_are_host_addresses_outside_dhcp_and_stay_put(case, data):
    _, ledger, _ = plan(case.site)
    before = assert_reservations_sound(case.site, ledger)

    # Add reservations to some offices (at most 5 per office in all, so a /29 still holds them).
    more = copy.deepcopy(case.site)
    macs = set(r["mac"].lower() for office in more["offices"] for r in office.get("reservations", []))
    added = 0
    for office in more["offices"]:
        taken = set(r["name"] for r in office.get("reservations", []))
        fresh = short_names.filter(lambda name, taken=taken: name not in taken)
        extra = [{"name": name, "segment": data.draw(st.sampled_from(office["segments"]))["name"]}
                 for name in data.draw(st.lists(fresh, max_size=2, unique=True))]
        give_macs([{"reservations": extra}], macs)
        office.setdefault("reservations", []).extend(extra)
        added += len(extra)
    _, grown, report = plan(more, ledger)
    after = assert_reservations_sound(more, grown)
    assert dict((key, after[key]) for key in before) == before
    assert len(report["reservations_added"]) == added and report["reservations_dropped"] == []
    assert report["allocated"] == []
