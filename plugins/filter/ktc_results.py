# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_results
short_description: What the drift check and verify found, gathered from every device, as lines and as metrics
version_added: "1.0.0"
description:
  - C(ktc_drift_findings) reads, for every core and switch of the inventory, what the main job in check mode would
    change (each device's C(safe_apply_pending) per role, a Cisco switch's C(access_switch_ios_commands)) and the
    ledger entries not yet allocated; returns one line per device and role, which the drift check prints and fails on.
  - C(ktc_drift_textfile) and C(ktc_verify_textfile) write a run's result in Prometheus' text format for the node
    exporter's textfile collector on core (plugins/module_utils/ktc_metrics.py), which the NOC's page and the
    KtcDriftDetected alert read. Verify's has one series per device it probed (C(verify_probe)); a device it could not
    reach has none.
positional: groups, allocation
options:
  _input:
    description: C(hostvars) (ktc_drift_findings, ktc_verify_textfile), or the findings (ktc_drift_textfile).
    type: raw
    required: true
  groups:
    description: C(groups) of the inventory; its core_routers and access_switches are read.
    type: dict
  allocation:
    description: The allocation's result on the controller (C(ktc_allocation)), for the entries not yet allocated.
    type: dict
  timestamp:
    description: When the run happened (Unix time).
    type: int
"""

EXAMPLES = r"""
- name: List what drifted from the repository
  ansible.builtin.set_fact:
    ktc_drift: "{{ hostvars | ktc_drift_findings(groups, hostvars['localhost']['ktc_allocation'] | default({})) }}"

- name: The drift check's result for the node exporter
  ansible.builtin.debug:
    msg: "{{ ktc_drift | ktc_drift_textfile(now().timestamp()) }}"

- name: Verify's result for the node exporter
  ansible.builtin.debug:
    msg: "{{ hostvars | ktc_verify_textfile(groups, now().timestamp()) }}"
"""

RETURN = r"""
_value:
  description: >-
    ktc_drift_findings, a list of lines ("<device>: <role>: <files or functions>", "ledger: not yet allocated ...");
    the textfile filters, the file's text.
  type: raw
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
import ktc_metrics as metrics  # noqa: E402 pylint: disable=wrong-import-position


def _devices(groups):
    return list(groups.get("core_routers") or []) + list(groups.get("access_switches") or [])


def ktc_drift_findings(hostvars, groups, allocation=None):
    devices = _devices(groups)
    return metrics.drift_findings(
        list((allocation or {}).get("allocated") or []),
        dict((device, dict(hostvars[device].get("safe_apply_pending") or {})) for device in devices),
        dict((device, dict(hostvars[device].get("access_switch_ios_commands") or {})) for device in devices))


def ktc_drift_textfile(findings, timestamp):
    return metrics.drift_textfile(findings, timestamp)


def ktc_verify_textfile(hostvars, groups, timestamp):
    probes = dict((device, hostvars[device].get("verify_probe") or {}) for device in _devices(groups))
    return metrics.verify_textfile(dict((device, probe["problems"]) for device, probe in probes.items()
                                        if "problems" in probe), timestamp)


class FilterModule(object):
    def filters(self):
        return {"ktc_drift_findings": ktc_drift_findings, "ktc_drift_textfile": ktc_drift_textfile,
                "ktc_verify_textfile": ktc_verify_textfile}
