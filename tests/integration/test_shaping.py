"""Uplink shaping on core (functional, not timing): an HTB class per office on each uplink and on its IFB, with
the site model's rates, a fair leaf queue, and traffic of each office counted in its own class both ways."""

import json
import os
import re

import pytest

from conftest import CORE_VARS, REPO, SEGMENTS, SITE, classes

OFFICES = {office["id"]: office for office in SITE["offices"]}
PRIMARY_MBIT = SITE["uplinks"][0]["bandwidth_mbit"]
UPLINKS = [dict(uplink, mbit=next(u["bandwidth_mbit"] for u in SITE["uplinks"] if u["name"] == uplink["name"]))
           for uplink in CORE_VARS["ktc_uplinks"]]


def office_minor(office):
    return "%x" % min(f["vlan"] for (o, _), f in SEGMENTS.items() if o == office and f["kind"] != "event")


@pytest.mark.parametrize("uplink", UPLINKS, ids=[u["name"] for u in UPLINKS])
def test_every_office_has_its_class_on_both_directions_of_every_uplink(core, uplink):
    ingress = json.loads(core.check_output("tc -j filter show dev %s parent ffff:", uplink["interface"]))
    actions = json.dumps(ingress)
    assert "ctinfo" in actions and "ifb-%s" % uplink["name"] in actions, ingress
    scale = uplink["mbit"] / PRIMARY_MBIT
    for device in (uplink["interface"], "ifb-" + uplink["name"]):
        found = classes(core, device)
        assert found["1:1"]["rate"] == uplink["mbit"] * 1000 ** 2
        leaves = {q.get("parent"): q["kind"] for q in json.loads(core.check_output("tc -j qdisc show dev %s", device))}
        for office_id, office in OFFICES.items():
            handle = "1:" + office_minor(office_id)
            assert handle in found, (device, office_id)
            assert found[handle]["parent"] == "1:3"
            assert found[handle]["rate"] == int(office["bandwidth"]["guaranteed_mbit"] * 1000 * scale) * 1000
            assert found[handle]["ceil"] == int(min(office["bandwidth"]["ceiling_mbit"], uplink["mbit"] / scale)
                                                * 1000 * scale) * 1000
            assert leaves[handle] == "cake", (device, handle, leaves)


def test_each_prefix_is_marked_with_its_office_class(core):
    # An inet table on a site with IPv6 (its prefixes are in class_of_prefix6), ip otherwise.
    family = "inet" if SITE.get("ipv6") else "ip"
    listing = core.check_output("nft -j list map %s ktc_shaping class_of_prefix" % family)
    elements = json.loads(listing)["nftables"][1]["map"]["elem"]
    marks = {"%s/%d" % (e[0]["prefix"]["addr"], e[0]["prefix"]["len"]): e[1] for e in elements}
    for (office, _), facts in SEGMENTS.items():
        assert marks[facts["prefix"]] == int(office_minor(office), 16), facts["prefix"]
    if SITE.get("ipv6"):
        elements = json.loads(core.check_output("nft -j list map inet ktc_shaping class_of_prefix6"))["nftables"][1][
            "map"]["elem"]
        marks = {"%s/%d" % (e[0]["prefix"]["addr"], e[0]["prefix"]["len"]): e[1] for e in elements}
        for (office, _), facts in SEGMENTS.items():
            assert marks[facts["prefix6"]] == int(office_minor(office), 16), facts["prefix6"]


def test_traffic_of_an_office_is_counted_in_its_class_both_ways(core, addressed_clients):
    uplink = core.check_output("cat /run/ktc/uplink")
    interface = next(u["interface"] for u in UPLINKS if u["name"] == uplink)
    for client in {c.office: c for c in addressed_clients}.values():
        handle = "1:" + office_minor(client.office)
        before = [classes(core, device)[handle]["packets"] for device in (interface, "ifb-" + uplink)]
        assert client.run("ping -n -q -c 5 -i 0.2 -W 2 192.0.2.80").rc == 0, client
        after = [classes(core, device)[handle]["packets"] for device in (interface, "ifb-" + uplink)]
        assert after[0] - before[0] >= 5 and after[1] - before[1] >= 5, (client, before, after)


def test_the_shaper_reapplies_in_place(core):
    """A rerun (what a changed office triggers) succeeds and leaves every class as it was."""
    before = {d: classes(core, d) for d in (UPLINKS[0]["interface"], "ifb-" + UPLINKS[0]["name"])}
    result = core.run("/usr/local/sbin/ktc-shaping")
    assert result.rc == 0, result.stderr
    after = {d: classes(core, d) for d in before}
    strip = lambda found: {h: dict(c, packets=0) for h, c in found.items()}  # noqa: E731
    assert {d: strip(c) for d, c in after.items()} == {d: strip(c) for d, c in before.items()}


def test_a_class_number_that_changes_parent_is_moved(core):
    """tc cannot move a class (`class replace` keeps the parent it has): an office's class number taken by an event
    (an office left, an event got its VLAN: found by test_events.py) must be deleted and added again under the root,
    and back. The golden shaping scripts of the lab and of the lab with an event (tests/render) run in the mode of
    their own check (stand-in devices in a namespace), in a namespace the test keeps between the runs."""
    scripts = {}
    for scenario in ("lab", "lab-event"):
        with open(os.path.join(REPO, "tests", "render", scenario, "core", "usr", "local", "sbin", "ktc-shaping")) as handle:
            script = handle.read()
        for old, new in (('\tnamespace=ktc-shaping-check-$$\n', '\tnamespace=ktc-test-move\n'),
                         ('\tip netns add "$namespace"\n', '\tip netns add "$namespace" 2>/dev/null || true\n'),
                         ('\ttrap \'ip netns delete "$namespace"\' EXIT\n', '')):
            assert old in script
            script = script.replace(old, new)
        scripts[scenario] = re.sub(r"(\$ip link add eth\d type dummy)", r"\1 2>/dev/null || true", script)
    event = re.search(r"# event .*\nclass replace dev eth1 parent 1:1 classid (1:[0-9a-f]+) ", scripts["lab-event"]).group(1)
    tc = "tc -n ktc-test-move"
    try:
        core.check_output("cat > /tmp/shaper-lab <<'EOF'\n%sEOF\ncat > /tmp/shaper-event <<'EOF'\n%sEOF"
                          % (scripts["lab"], scripts["lab-event"]))
        core.check_output("sh /tmp/shaper-lab --check")
        # The event's class number as an office's class was, with its filter.
        core.check_output("%s class add dev eth1 parent 1:3 classid %s htb rate 1mbit ceil 10mbit && %s filter add dev "
                          "eth1 parent 1: protocol all prio 1 handle 0x%s fw classid %s" % (tc, event, tc, event[2:], event))
        core.check_output("sh /tmp/shaper-event --check")
        moved = core.check_output("%s class show dev eth1 classid %s" % (tc, event))
        assert " parent 1:1 " in moved and " rate 3Mbit " in moved, moved
        assert "classid %s" % event in core.check_output("%s filter show dev eth1 parent 1:" % tc)
        core.check_output("sh /tmp/shaper-lab --check")           # the event closed: its class goes
        assert core.check_output("%s class show dev eth1 classid %s" % (tc, event)) == ""
    finally:
        core.run("ip netns delete ktc-test-move; rm -f /tmp/shaper-lab /tmp/shaper-event")
