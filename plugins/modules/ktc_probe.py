#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_probe
short_description: Read a device's running state in one step and say what is wrong with it
version_added: "1.0.0"
description:
  - Runs the live checks of C(plugins/module_utils/ktc_live.py) against the files installed on the device (the same
    checks M(ktc_apply) runs against the rendered files on every converge and drift check), asks each DNS server
    for a name, and pings addresses; returns the results as data and one list of problems, computed here, so that
    a playbook only asserts that the list is empty.
  - Changes nothing; runs the same in check mode.
options:
  checks:
    description: The live checks, each as in M(ktc_apply)'s O(ktc_apply#module:activate[].live), read against the
      files on the device.
    type: list
    elements: dict
    default: []
    suboptions:
      check:
        description: The check's name.
        type: str
        required: true
        choices: [bridge, kea, networkd, nftables, services, shaping, sysctl, unbound]
      path:
        description: The installed file or directory that holds the intended state.
        type: path
        required: true
      args:
        description: What else the check needs.
        type: dict
      include:
        description: With a directory as O(checks[].path), the names of the files read (the roles' own).
        type: str
        default: "*"
  gateways:
    description:
      - The segments whose gateway must answer DNS for its own name (the wiring model's segment facts; C(gateway),
        C(gateway_fqdn), C(office) and C(segment) are read), asked from O(dns_source).
    type: list
    elements: dict
    default: []
  dns_source:
    description: The address the DNS questions are asked from (a guest gateway's own would be refused internal names).
    type: str
  uplinks:
    description: The uplinks (C(name), C(gateway)); the gateway of the one named in O(active_uplink_file) must answer a ping.
    type: list
    elements: dict
    default: []
  active_uplink_file:
    description: Where the uplink monitor writes the name of the uplink in use.
    type: path
    default: /run/ktc/uplink
  reachable:
    description: Other addresses that must answer a ping (C(address), and C(label) for the problem line).
    type: list
    elements: dict
    default: []
  pair:
    description:
      - On a server of a pair of core servers (C(ktc_model.core.pair)), reads whether it holds the gateways, its
        readiness file (1 ready, 0 not converged since it started, -1 freed for maintenance) and the state of Kea's
        HA hook (C(ha-heartbeat)). A server that is not ready is a problem, as is Kea's HA in any state but
        C(hot-standby).
      - The standby server reports the uplink monitor's C(standby) instead of an uplink in use, pings no uplink
        gateway, and asks its Unbound for the gateways' names on O(dns_source) (it does not hold the gateways).
    type: dict
    suboptions:
      ready_file:
        description: The readiness file keepalived tracks.
        type: path
        required: true
      gateway:
        description: The pair's management gateway, held by the active server only.
        type: str
        required: true
      kea_socket:
        description: Kea DHCPv4's control socket.
        type: path
        default: /run/kea/kea4-ctrl-socket
author:
  - Diskominfo KSB network team
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: ktc_apply
"""

EXAMPLES = r"""
- name: Probe core
  ktc_probe:
    checks:
      - {check: nftables, path: /etc/nftables.conf}
      - {check: services, path: /etc/kea/kea-dhcp4.conf, args: {units: [kea-dhcp4-server, unbound]}}
    gateways: "{{ ktc_served_segment_facts }}"
    dns_source: "{{ ktc_management_address }}"
    uplinks: "{{ ktc_uplinks }}"
  register: probe
"""

RETURN = r"""
checks:
  description: Each live check's result (check, what, differs, summary).
  returned: success
  type: list
  elements: dict
pair:
  description: With O(pair), what the server is in its pair.
  returned: when O(pair) is given
  type: dict
  contains:
    holds:
      description: Whether this server holds the gateways (the active one).
      type: bool
    ready:
      description: The readiness file's value (1, 0, -1), or null when it cannot be read.
      type: int
    dhcp_ha:
      description: The state Kea's HA hook reports (C(hot-standby) when the pair is in sync), or null.
      type: str
  sample: {holds: true, ready: 1, dhcp_ha: hot-standby}
problems:
  description: One line per thing that is wrong; empty when the device is healthy and runs what its files say.
  returned: success
  type: list
  elements: str
  sample: ["live ruleset differs from /etc/nftables.conf (- live, + repository): -accept"]
"""

import fnmatch
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text

try:
    from ansible.module_utils.ktc_live import CHECKS, kea_command, summary, use_cache
except ImportError:  # run as a script by the unit tests: the project's module_utils sit beside this directory
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
    from ktc_live import CHECKS, kea_command, summary, use_cache  # noqa: E402 pylint: disable=wrong-import-position


def installed(path, pattern="*"):
    """{path: content} of the file at ``path``, or of the files under the directory ``path`` whose name matches
    ``pattern`` (the project's own: a directory such as /etc/systemd/network also holds files nobody here wrote)."""
    paths = [path] if os.path.isfile(path) else [os.path.join(directory, name)
                                                  for directory, _, names in os.walk(path) for name in names
                                                  if fnmatch.fnmatch(name, pattern)]
    files = {}
    for name in sorted(paths):
        with open(name, "rb") as handle:
            files[name] = to_text(handle.read(), errors="surrogate_or_strict")
    return files


def pair_state(runner, spec):
    """{holds, ready, dhcp_ha} of a server of a pair (O(pair)) and the problems they show."""
    rc, out, _err = runner(["ip", "-o", "-4", "address", "show", "to", spec["gateway"] + "/32"])
    holds = rc == 0 and bool(out.strip())
    try:
        with open(spec["ready_file"]) as handle:
            ready = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        ready = None
    answer = kea_command(spec["kea_socket"], "ha-heartbeat") or {}
    dhcp_ha = (answer.get("arguments") or {}).get("state") if answer.get("result") == 0 else None
    problems = []
    if ready != 1:
        problems.append("core pair: this server is not ready to hold the gateways (%s says %s; 0: not converged "
                        "since it started, -1: freed for maintenance). Run the main job to give it back its place"
                        % (spec["ready_file"], "nothing" if ready is None else ready))
    if dhcp_ha != "hot-standby":
        problems.append("core pair: Kea's HA is in state %s, not hot-standby: the servers do not share their leases "
                        "(partner-down: the other server's Kea does not answer on its HA port)" % (dhcp_ha or "unknown"))
    return {"holds": holds, "ready": ready, "dhcp_ha": dhcp_ha}, problems


def main():
    module = AnsibleModule(
        argument_spec=dict(
            checks=dict(type="list", elements="dict", default=[], options=dict(
                check=dict(type="str", required=True, choices=sorted(CHECKS)),
                path=dict(type="path", required=True),
                args=dict(type="dict"),
                include=dict(type="str", default="*"),
            )),
            gateways=dict(type="list", elements="dict", default=[]),
            dns_source=dict(type="str"),
            uplinks=dict(type="list", elements="dict", default=[]),
            active_uplink_file=dict(type="path", default="/run/ktc/uplink"),
            reachable=dict(type="list", elements="dict", default=[]),
            pair=dict(type="dict", options=dict(
                ready_file=dict(type="path", required=True),
                gateway=dict(type="str", required=True),
                kea_socket=dict(type="path", default="/run/kea/kea4-ctrl-socket"),
            )),
        ),
        supports_check_mode=True,
    )

    def runner(argv):
        rc, out, err = module.run_command(argv)
        return rc, to_text(out), to_text(err)

    # The cache ktc_apply keeps of the states built in throwaway namespaces (ktc_live.use_cache): the same builds.
    use_cache("/var/lib/ktc-apply/.live-cache")
    problems, results = [], []
    for spec in module.params["checks"]:
        if not os.path.exists(spec["path"]):
            problems.append("%s: %s is missing" % (spec["check"], spec["path"]))
            continue
        try:
            files = installed(spec["path"], spec.get("include") or "*")
            result = CHECKS[spec["check"]](runner, files, spec["path"], spec.get("args") or {})
        except (IOError, OSError, RuntimeError, ValueError, KeyError) as exc:
            problems.append("%s: %s cannot be checked: %s" % (spec["check"], spec["path"], exc))
            continue
        line = summary(result, spec["path"]) if result["differs"] else None
        results.append({"check": spec["check"], "what": result["what"], "differs": result["differs"],
                        "summary": line})
        if line:
            problems.append(line)
    pair = None
    if module.params["pair"]:
        pair, found = pair_state(runner, module.params["pair"])
        problems.extend(found)
    source = ["-b", module.params["dns_source"]] if module.params["dns_source"] else []
    for segment in module.params["gateways"]:
        # The standby server of a pair does not hold the gateways (a query to one reaches the other server): its
        # Unbound, bound to them all the same (freebind), is asked on its own address.
        server = segment["gateway"] if pair is None or pair["holds"] else (module.params["dns_source"] or "127.0.0.1")
        rc, out, _err = runner(["dig", "+short", "+time=2", "+tries=2"] + source
                               + ["@" + server, segment["gateway_fqdn"], "A"])
        if rc != 0 or segment["gateway"] not in out.split():
            problems.append("%s/%s: Unbound on %s does not answer for %s" % (
                segment.get("office"), segment.get("segment"), server, segment["gateway_fqdn"]))
    if module.params["uplinks"]:
        try:
            with open(module.params["active_uplink_file"]) as handle:
                active = handle.read().strip()
        except (IOError, OSError):
            active = None
        uplink = next((u for u in module.params["uplinks"] if u.get("name") == active), None)
        if pair is not None and not pair["holds"]:
            # The standby server routes through the active one; its monitor says so.
            if active != "standby":
                problems.append("uplink monitor: says %r on the standby server of the pair (expected standby)" % active)
        elif uplink is None:
            problems.append("uplink monitor: no uplink in use (%s says %r)" % (module.params["active_uplink_file"], active))
        elif runner(["ping", "-n", "-c", "2", "-W", "2", uplink["gateway"]])[0] != 0:
            problems.append("uplink %s: its gateway %s does not answer" % (uplink["name"], uplink["gateway"]))
    for target in module.params["reachable"]:
        if runner(["ping", "-n", "-c", "2", "-W", "2", target["address"]])[0] != 0:
            problems.append("%s (%s) does not answer" % (target.get("label") or "address", target["address"]))
    extra = {"pair": pair} if pair is not None else {}
    module.exit_json(changed=False, checks=results, problems=problems, **extra)


if __name__ == "__main__":
    main()
