# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live state of a device against what the repository says, one function at a time (runtime drift).

Files on disk can match the repository while the running state does not: a rule inserted with `nft insert`, an
address added with `ip addr add`. Each check here reads the running state, builds the state the repository's files
give, and returns the differences, so that ktc_apply re-activates a function whose live state drifted (even when no
file changed) and the drift check reports it. Each check takes ``run(argv) -> (rc, stdout, stderr)`` (the module's
run_command) and returns {"check", "what", "differs", "live", "intended"}; ``live`` and ``intended`` are listings
normalised so that equal states compare equal (no counters, no handles, no elements a rule adds at run time).

No Ansible import: the checks are unit-tested with captured listings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os
import re
import tempfile

_COUNTER = re.compile(r"counter packets \d+ bytes \d+")


def normalise_nft(text):
    """An `nft list ruleset` listing without run-time state: counter values, and the elements of sets that rules fill
    at run time (flags dynamic or a timeout: the per-source connection counts)."""
    out, block, in_set = [], [], False
    for line in text.splitlines():
        stripped = line.strip()
        if not in_set and re.match(r"(set|map) \S+ \{$", stripped):
            in_set, block = True, [line]
            continue
        if in_set:
            block.append(line)
            if stripped == "}" and line.startswith("\t}"):
                out.extend(_set_without_runtime_elements(block))
                in_set = False
            continue
        out.append(_COUNTER.sub("counter", line))
    return "\n".join(out + block if in_set else out) + "\n"


def _set_without_runtime_elements(block):
    runtime = any(line.strip().startswith("flags") and ("dynamic" in line or "timeout" in line) for line in block) \
        or any(line.strip().startswith("timeout ") for line in block)
    if not runtime:
        return block
    kept, skipping = [], False
    for line in block[:-1]:
        stripped = line.strip()
        if not skipping and stripped.startswith("elements = {"):
            skipping = not stripped.endswith("}")
            continue
        if skipping:
            skipping = not stripped.endswith("}")
            continue
        kept.append(line)
    # The blank line nft prints between a set's properties and its elements, left alone without them.
    while kept and not kept[-1].strip():
        kept.pop()
    return kept + [block[-1]]


def nftables(run, content):
    """The running ruleset against ``content`` (a whole ruleset file, with `flush ruleset`) loaded in a throwaway
    network namespace by the same nft: any rule, set element, chain or table added, changed or deleted by hand shows."""
    handle, path = tempfile.mkstemp(prefix=".ktc-live-", suffix=".nft")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(content)
        rc, intended, err = run(["unshare", "--net", "sh", "-c", 'nft -f "$1" && nft list ruleset', "ktc-live", path])
    finally:
        os.unlink(path)
    if rc != 0:
        raise RuntimeError("cannot load the ruleset in a throwaway network namespace: %s" % (err or intended).strip())
    rc, live, err = run(["nft", "list", "ruleset"])
    if rc != 0:
        raise RuntimeError("nft list ruleset failed: %s" % err.strip())
    return _result("nftables", "live ruleset", normalise_nft(live), normalise_nft(intended))


def _result(check, what, live, intended):
    return {"check": check, "what": what, "differs": live != intended, "live": live, "intended": intended}


def summary(result, source, lines=6):
    """One line for the drift report: what differs, and the first lines of the difference (live -> intended)."""
    diff = [line for line in difflib.unified_diff(result["live"].splitlines(), result["intended"].splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    shown = "; ".join(line[0] + line[1:].strip() for line in diff[:lines]) + (" (+%d more)" % (len(diff) - lines)
                                                                if len(diff) > lines else "")
    return "%s differs from %s (- live, + repository): %s" % (result["what"], source, shown)


CHECKS = {"nftables": nftables}
