#!/usr/bin/env python
"""Benchmark of the KTC allocator (plugins/module_utils/ktc_ipam.py) against the obvious Jinja approach.

What it measures, for sites of N generated offices (default N = 30, 300 and 3000):

1. ktc_ipam from scratch: ``ktc_ipam.plan(site, ktc_ipam.empty_ledger())`` plus ``dump_ledger`` (the text of
   the ledger file), best of a few runs; total seconds and ms per office.
2. ktc_ipam incremental: from the ledger of the N offices, add one office (``--add`` offices) and run plan plus
   dump again; median of a few runs; ms per run and per office added.
3. The baseline, in the same process: the template a playbook author would write with ansible.utils.ipsubnet.
   A Jinja2 template, rendered by a plain ``jinja2.Environment`` whose ``ipsubnet`` filter is the real one from
   ``ansible_collections.ansible.utils.plugins.filter.ipsubnet``, loops over offices and segments, sizes each
   segment with the rule of ``ktc_site.prefixlen_for`` (hosts * 125 / 100 rounded up, + 3, next power of two,
   a /29 at least), aligns an address cursor to the block size, takes ``pool | ipsubnet(prefixlen, index)`` and
   counts VLANs up. Jinja keeps no ledger, so its "incremental" run is a full re-render for N + 1 offices. The
   template is compiled once, outside the timings; the timings are of ``render`` (text out, as for ktc_ipam).

Times are wall clock (time.perf_counter), the comparison table; a second table gives the CPU time of the same
runs (time.process_time), which other load on the machine skews less; the load average is printed too.

Before a size's timings are reported, every output is checked: one allocation per segment, distinct VLANs, distinct and
non-overlapping prefixes inside address_pool and outside the management prefix, each the size prefixlen_for
gives (so the two sides do the same work), and the incremental ledger keeps every earlier entry unchanged.

Sites are generated deterministically (random.Random(SEED)): ids office-0001, office-0002, ..., 1 to 3
segments per office (staff, guest of kind guest, cctv) with 10..200 hosts, address_pool 10.0.0.0/8, management
10.255.255.0/24 on VLAN 10, vlan_pool 2..4094 (4092 usable VLANs), bandwidth guaranteed 0 / ceiling 100 on a
100000 Mbit/s primary uplink. When N offices with up to 3 segments could need more VLANs than the pool has
(N = 3000), every office gets exactly 1 segment; the script says so.

Run from the repository root (``make bench`` runs ``python tests/bench/bench_allocate.py``)::

    python tests/bench/bench_allocate.py                 # N = 30, 300, 3000 (about 1 minute on 2 cores)
    python tests/bench/bench_allocate.py --sizes 30,300  # a subset

It needs PyYAML and netaddr (for ktc_ipam), and jinja2, ansible-core and the ansible.utils collection (for the
baseline). This is a script, not a pytest test: nothing here is collected by pytest.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "plugins", "module_utils")))

import jinja2  # noqa: E402
import netaddr  # noqa: E402
import yaml  # noqa: E402
from netaddr import IPNetwork  # noqa: E402

import ktc_ipam  # noqa: E402
import ktc_site  # noqa: E402  pylint: disable=wrong-import-position

SEED = 20260
POOL = "10.0.0.0/8"
MANAGEMENT = {"vlan": 10, "prefix": "10.255.255.0/24"}
VLAN_POOL = {"first": 2, "last": 4094}
SEGMENT_NAMES = ("staff", "guest", "cctv")
MAX_SEGMENTS_PER_OFFICE = len(SEGMENT_NAMES)
# VLANs the allocator can hand out: the pool minus the management VLAN when it lies inside the pool.
USABLE_VLANS = VLAN_POOL["last"] - VLAN_POOL["first"] + 1 - (VLAN_POOL["first"] <= MANAGEMENT["vlan"]
                                                              <= VLAN_POOL["last"])
# Seconds one measurement may take before it stops repeating (a first run over it is not repeated).
BUDGET_S = 20.0

# What a playbook author would write with ansible.utils.ipsubnet: walk offices and segments in order, size the
# block, align a cursor (an address offset into the pool) to it, take the index-th subnet of that size, count
# VLANs up (skipping the management VLAN). Output: a YAML list of allocations.
JINJA_TEMPLATE = """\
{%- set pool = ktc_site.address_pool -%}
{%- set ns = namespace(cursor=0, vlan=ktc_site.vlan_pool.first) -%}
allocations:
{% for office in ktc_site.offices %}
{% for segment in office.segments %}
{% set needed = (segment.hosts * 125 + 99) // 100 + 3 %}
{% set size = namespace(block=8, prefixlen=29) %}
{% for _ in range(29) %}
{% if size.block < needed %}
{% set size.block = size.block * 2 %}
{% set size.prefixlen = size.prefixlen - 1 %}
{% endif %}
{% endfor %}
{% set ns.cursor = ((ns.cursor + size.block - 1) // size.block) * size.block %}
{% if ns.vlan == ktc_site.management.vlan %}{% set ns.vlan = ns.vlan + 1 %}{% endif %}
  - office: {{ office.id }}
    segment: {{ segment.name }}
    kind: {{ segment.kind | default('office') }}
    vlan: {{ ns.vlan }}
    prefix: {{ pool | ipsubnet(size.prefixlen, ns.cursor // size.block) }}
{% set ns.cursor = ns.cursor + size.block %}
{% set ns.vlan = ns.vlan + 1 %}
{% endfor %}
{% endfor %}
"""


# --------------------------------------------------------------------------------------------
# The generated site
# --------------------------------------------------------------------------------------------


def one_segment_per_office(n_offices, added):
    """True when N (+ added) offices with up to 3 segments each could exhaust the VLAN pool."""
    return (n_offices + added) * MAX_SEGMENTS_PER_OFFICE > USABLE_VLANS


def generate_offices(count, single_segment):
    """``count`` offices, the same ones for the same arguments: office-0001 ... with their segments."""
    rng = random.Random(SEED)
    offices = []
    for index in range(1, count + 1):
        how_many = 1 if single_segment else rng.randint(1, MAX_SEGMENTS_PER_OFFICE)
        names = rng.sample(SEGMENT_NAMES, how_many)
        segments = []
        for name in names:
            segment = {"name": name, "hosts": rng.randint(10, 200)}
            if name == "guest":
                segment["kind"] = "guest"
            segments.append(segment)
        offices.append({
            "id": "office-%04d" % index,
            "name": "Office %d" % index,
            "bandwidth": {"guaranteed_mbit": 0, "ceiling_mbit": 100},
            "segments": segments,
        })
    return offices


def make_site(offices):
    return {
        "name": "KTC benchmark",
        "domain": "ktc.example.go.id",
        "address_pool": POOL,
        "vlan_pool": dict(VLAN_POOL),
        "management": dict(MANAGEMENT),
        "uplinks": [{"name": "primary", "bandwidth_mbit": 100000}],
        "offices": offices,
    }


def segment_count(site):
    return sum(len(office["segments"]) for office in site["offices"])


# --------------------------------------------------------------------------------------------
# The two sides
# --------------------------------------------------------------------------------------------


def ktc_run(site, ledger):
    """One allocator run as the ledger module does it: plan, then the ledger file's text."""
    _, new_ledger, _ = ktc_ipam.plan(site, ledger)
    return new_ledger, ktc_ipam.dump_ledger(new_ledger)


def jinja_template():
    """The baseline template in a plain Jinja2 environment with the real ansible.utils ipsubnet filter."""
    from ansible_collections.ansible.utils.plugins.filter.ipsubnet import FilterModule

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["ipsubnet"] = FilterModule().filters()["ipsubnet"]
    return env.from_string(JINJA_TEMPLATE)


def jinja_run(template, site):
    return template.render(ktc_site=site)


# --------------------------------------------------------------------------------------------
# Checks: both sides must hand out the same kind of result
# --------------------------------------------------------------------------------------------


class BenchCheckError(Exception):
    pass


def check_allocations(side, site, allocations):
    """``allocations``: (office, segment, vlan, prefix text). Raise BenchCheckError on any inconsistency."""
    hosts = dict(((o["id"], s["name"]), s["hosts"]) for o in site["offices"] for s in o["segments"])
    pool, mgmt = IPNetwork(site["address_pool"]), IPNetwork(site["management"]["prefix"])
    problems = []
    keys = [(office, segment) for office, segment, _, _ in allocations]
    if sorted(keys) != sorted(hosts):
        problems.append("%d allocations for %d segments (or other segments than the site's)"
                        % (len(keys), len(hosts)))
    vlans = [vlan for _, _, vlan, _ in allocations]
    if len(set(vlans)) != len(vlans):
        problems.append("%d VLANs, only %d distinct" % (len(vlans), len(set(vlans))))
    if site["management"]["vlan"] in vlans:
        problems.append("the management VLAN is handed out")
    spans = []
    for office, segment, vlan, prefix in allocations:
        try:
            net = IPNetwork(prefix)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            problems.append("%s/%s: %r is not a prefix" % (office, segment, prefix))
            continue
        if net.ip != net.network or net not in pool or net.first <= mgmt.last and mgmt.first <= net.last:
            problems.append("%s/%s: %s is not a network inside %s clear of %s" % (office, segment, net, pool, mgmt))
        wanted = ktc_site.prefixlen_for(hosts.get((office, segment), 1))
        if net.prefixlen != wanted:
            problems.append("%s/%s: %s is a /%d, prefixlen_for gives /%d" % (office, segment, net, net.prefixlen,
                                                                            wanted))
        spans.append((net.first, net.last, "%s/%s %s" % (office, segment, net)))
    spans.sort()
    distinct = len(set((first, last) for first, last, _ in spans))
    if distinct != len(spans):
        problems.append("%d prefixes, only %d distinct" % (len(spans), distinct))
    for (_, last_a, name_a), (first_b, _, name_b) in zip(spans, spans[1:]):
        if first_b <= last_a:
            problems.append("%s overlaps %s" % (name_a, name_b))
            break
    if problems:
        raise BenchCheckError("%s: %s" % (side, "; ".join(problems[:5])))
    return len(spans)


def ledger_allocations(ledger):
    return [(office, segment, entry["vlan"], entry["prefix"])
            for office, segments in ledger["offices"].items() for segment, entry in segments.items()]


def jinja_allocations(text):
    data = yaml.safe_load(text)
    return [(a["office"], a["segment"], a["vlan"], a["prefix"]) for a in data["allocations"] or []]


def check_ledger_text(ledger, text):
    if ktc_ipam.load_ledger(text) != ledger:
        raise BenchCheckError("ktc_ipam: dump_ledger text does not load back to the ledger")


def check_incremental(base, grown):
    moved = [(office, segment) for office, segments in base["offices"].items()
             for segment, entry in segments.items() if grown["offices"].get(office, {}).get(segment) != entry]
    if moved:
        raise BenchCheckError("ktc_ipam incremental: %d earlier entries changed, e.g. %s/%s"
                              % ((len(moved),) + moved[0]))


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def timed(func, *args):
    """(wall seconds by time.perf_counter, CPU seconds of this process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def repeat(func, args, runs, budget_s=BUDGET_S):
    """Up to ``runs`` timed calls, fewer when the next one would overrun ``budget_s``.

    Returns (wall times, CPU times, last result).
    """
    walls, cpus, result = [], [], None
    while len(walls) < runs:
        if walls and sum(walls) + max(walls) > budget_s:
            break
        wall, cpu, result = timed(func, *args)
        walls.append(wall)
        cpus.append(cpu)
    return walls, cpus, result


def describe(label, stat, walls, cpus, scale=1000.0, unit="ms"):
    """One progress line: the statistic of wall times (and of CPU times), then every run's wall time.

    Returns {"wall": statistic of the wall times, "cpu": statistic of the CPU times}.
    """
    print("  %s: %.1f %s %s wall, %.1f %s CPU (%d run%s: %s)"
          % (label, stat(walls) * scale, unit, "best" if stat is min else "median", stat(cpus) * scale, unit,
             len(walls), "" if len(walls) == 1 else "s", ", ".join("%.1f" % (t * scale) for t in walls)))
    sys.stdout.flush()
    return {"wall": stat(walls), "cpu": stat(cpus)}


def bench_size(n_offices, added, template):
    single = one_segment_per_office(n_offices, added)
    offices = generate_offices(n_offices + added, single)
    site, grown_site = make_site(offices[:n_offices]), make_site(offices)
    segments, grown_segments = segment_count(site), segment_count(grown_site)
    print("\nN=%d: %d segments (%s); incremental adds %d office(s), %d segment(s)"
          % (n_offices, segments, "1 segment per office, so N+%d offices fit %d usable VLANs" % (added, USABLE_VLANS)
             if single else "1..3 segments per office", added, grown_segments - segments))
    sys.stdout.flush()
    scratch_runs = 3 if n_offices <= 300 else 2

    # ktc_ipam from scratch.
    walls, cpus, (ledger, text) = repeat(ktc_run, (site, ktc_ipam.empty_ledger()), scratch_runs)
    check_ledger_text(ledger, text)
    ktc_count = check_allocations("ktc_ipam", site, ledger_allocations(ledger))
    ktc_scratch = describe("ktc_ipam from scratch (plan + dump_ledger)", min, walls, cpus)
    print("    %d allocations checked, ledger file %d bytes" % (ktc_count, len(text)))

    # ktc_ipam incremental: the same N-office ledger each time, plus the added office(s).
    base_text = ktc_ipam.dump_ledger(ledger)
    walls, cpus, (grown, grown_text) = repeat(ktc_run, (grown_site, ledger), 7)
    if ktc_ipam.dump_ledger(ledger) != base_text:
        raise BenchCheckError("ktc_ipam: plan() modified the ledger it was given")
    check_ledger_text(grown, grown_text)
    check_incremental(ledger, grown)
    check_allocations("ktc_ipam incremental", grown_site, ledger_allocations(grown))
    ktc_incr = describe("ktc_ipam incremental (N-office ledger + %d office)" % added, statistics.median, walls, cpus)

    # Jinja + ipsubnet from scratch.
    walls, cpus, out = repeat(jinja_run, (template, site), scratch_runs)
    jinja_count = check_allocations("jinja+ipsubnet", site, jinja_allocations(out))
    jinja_scratch = describe("jinja+ipsubnet from scratch (render)", min, walls, cpus)
    print("    %d allocations checked: distinct, non-overlapping, sized as prefixlen_for" % jinja_count)

    # Jinja + ipsubnet "incremental": no ledger, so a full re-render for N + added offices.
    walls, cpus, out = repeat(jinja_run, (template, grown_site), 3 if n_offices <= 300 else 2)
    check_allocations("jinja+ipsubnet incremental", grown_site, jinja_allocations(out))
    jinja_incr = describe("jinja+ipsubnet re-render for N+%d offices" % added, statistics.median, walls, cpus)

    return {
        "n": n_offices, "segments": segments, "single": single,
        "ktc_scratch_s": ktc_scratch, "ktc_incr_s": ktc_incr,
        "jinja_scratch_s": jinja_scratch, "jinja_incr_s": jinja_incr,
        "added": added,
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def nproc():
    try:
        return subprocess.check_output(["nproc"], universal_newlines=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "%s (os.cpu_count)" % os.cpu_count()


def ansible_versions():
    try:
        from ansible.module_utils.ansible_release import __version__ as core
    except ImportError:
        core = "not installed"
    utils = "not installed"
    try:
        import ansible_collections.ansible.utils as collection

        manifest = os.path.join(list(collection.__path__)[0], "MANIFEST.json")
        with open(manifest) as handle:
            utils = json.load(handle)["collection_info"]["version"]
    except (ImportError, OSError, ValueError, KeyError, IndexError):
        pass
    return core, utils


def load_average(label):
    """Other processes' load skews wall times; say how busy the machine was."""
    try:
        return "%s (1/5/15 min): %.2f %.2f %.2f" % ((label,) + os.getloadavg())
    except (AttributeError, OSError):
        return "%s: unknown" % label


def print_environment():
    core, utils = ansible_versions()
    print("Python %s (%s), netaddr %s, PyYAML %s (libyaml %s, ktc_ipam dumps with yaml.safe_dump), jinja2 %s"
          % (platform.python_version(), sys.executable, netaddr.__version__, yaml.__version__,
             "available" if getattr(yaml, "__with_libyaml__", False) else "absent", jinja2.__version__))
    print("ansible-core %s, ansible.utils collection %s; nproc %s; %s"
          % (core, utils, nproc(), platform.platform()))
    print(load_average("load average at start"))


def print_table(rows, clock):
    """The comparison table on ``clock``: "wall" (time.perf_counter) or "cpu" (time.process_time)."""
    header = ("N", "segments", "ktc scratch s", "ktc ms/office", "ktc incr ms/added office",
              "jinja scratch s", "jinja ms/office", "jinja re-render ms", "jinja/ktc scratch", "jinja/ktc incr")
    print("\n%s" % ("Wall-clock time (time.perf_counter): the comparison" if clock == "wall" else
                     "CPU time of this process (time.process_time): the same runs, less skewed by other load"))
    lines = []
    for row in rows:
        n = row["n"]
        lines.append((
            str(n), "%d%s" % (row["segments"], " (1/office)" if row["single"] else ""),
            "%.3f" % row["ktc_scratch_s"][clock], "%.2f" % (row["ktc_scratch_s"][clock] * 1000 / n),
            "%.1f" % (row["ktc_incr_s"][clock] * 1000 / row["added"]),
            "%.3f" % row["jinja_scratch_s"][clock], "%.2f" % (row["jinja_scratch_s"][clock] * 1000 / n),
            "%.1f" % (row["jinja_incr_s"][clock] * 1000),
            "%.1fx" % (row["jinja_scratch_s"][clock] / row["ktc_scratch_s"][clock]),
            "%.1fx" % (row["jinja_incr_s"][clock] / row["ktc_incr_s"][clock]),
        ))
    widths = [max(len(cell) for cell in column) for column in zip(header, *lines)]
    rule = "  ".join("-" * width for width in widths)
    print("  ".join(cell.rjust(width) for cell, width in zip(header, widths)))
    print(rule)
    for line in lines:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths)))


def parse_sizes(text):
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("--sizes takes whole numbers separated by commas, e.g. 30,300")
    if not sizes or min(sizes) < 1 or max(sizes) > 9999:
        raise argparse.ArgumentTypeError("--sizes: each N must be 1..9999 (office ids have 4 digits)")
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=[30, 300, 3000],
                        help="office counts to run, comma separated (default: 30,300,3000)")
    parser.add_argument("--add", type=int, default=1, help="offices added in the incremental run (default: 1)")
    args = parser.parse_args(argv)
    if args.add < 1:
        parser.error("--add must be 1 or more")
    for n in args.sizes:
        if n + args.add > USABLE_VLANS:
            parser.error("N=%d + %d offices need more VLANs than the pool's %d" % (n, args.add, USABLE_VLANS))

    print_environment()
    start = time.perf_counter()
    template = jinja_template()
    rows = []
    try:
        for n in args.sizes:
            rows.append(bench_size(n, args.add, template))
    except (BenchCheckError, ktc_site.SiteError) as exc:
        print("\nFAILED: %s" % exc, file=sys.stderr)
        return 1
    print_table(rows, "wall")
    print_table(rows, "cpu")
    print("scratch: best of up to 3 runs (ktc: plan + dump_ledger; jinja: render). incr: median; ktc: plan + "
          "dump_ledger of the N-office ledger plus the added office(s); jinja: full re-render of N+added offices "
          "(it keeps no ledger).")
    print("total wall time %.1f s; %s" % (time.perf_counter() - start, load_average("load average at end")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
