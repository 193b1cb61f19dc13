# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_topology
short_description: What every trunk of KTC carries, and what each device must be, from the wiring and the ledger
version_added: "1.0.0"
description:
  - Builds the wiring model once (plugins/module_utils/ktc_topology.py) from the inventory's wiring (C(ktc_wiring)),
    the site model, the ledger and the open events. A trunk carries exactly the VLANs of the segments that have an
    access port below it; core has one VLAN interface per such segment, on the trunk (or bond) that leads to it.
  - Fails, listing every problem, when the wiring cannot be built (see M(ktc_site_validate), which refuses it first).
positional: site, ledger, events
options:
  _input:
    description: The wiring, C(groups | ktc_wiring(hostvars)).
    type: dict
    required: true
  site:
    description: The site model, C(ktc_site).
    type: dict
    required: true
  ledger:
    description: The ledger.
    type: dict
    required: true
  events:
    description: Open events (C(ktc_events)).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Show core's trunks and the VLANs each carries
  ansible.builtin.debug:
    msg: "{{ item.interface }}: {{ item.vlans }}"
  loop: "{{ (ktc_wiring | ktc_topology(ktc_site, ktc_ledger, ktc_events)).core.trunks }}"
"""

RETURN = r"""
_value:
  description: The model.
  type: dict
  contains:
    core:
      description: >-
        C(name); C(trunks), each {switch, interface (the port, or the bond), members, bond, segments (facts as the
        C(ktc_segments) filter gives them), vlans}; C(segments), the facts of every segment core serves, in site order;
        C(management), {prefix, vlan, reverse_zones} and on an IPv6 site its /64 (prefix6, gateway6: core's address,
        gateway6_cidr, reverse_zone6), else those are null; C(reverse_zones), every in-addr.arpa and ip6.arpa zone of
        the ledger's segments and management, sorted.
      type: dict
    switches:
      description: >-
        Per switch name: its wiring (as C(ktc_wiring)) plus C(depth) below core, C(access) [{port, office, segment,
        vlan}] (open events applied), C(uplink) and C(downlinks) (links as in C(trunks)), C(vlans) of its subtree.
      type: dict
    order:
      description: Switch names, parents before children.
      type: list
      elements: str
"""

import os
import sys

from ansible.errors import AnsibleFilterError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from ktc_site import SiteError, validate_site, with_events  # noqa: E402 pylint: disable=wrong-import-position
from ktc_ipam import management_facts, segment_facts  # noqa: E402 pylint: disable=wrong-import-position
from ktc_topology import build  # noqa: E402 pylint: disable=wrong-import-position


def ktc_topology(wiring, site, ledger, events=None):
    try:
        site = validate_site(with_events(site, events))
        return build(site, segment_facts(site, ledger), wiring.get("core"), wiring.get("switches") or [], events or [],
                     management_facts(site, ledger))
    except SiteError as exc:
        raise AnsibleFilterError("ktc_topology: " + "; ".join(exc.errors))


class FilterModule(object):
    def filters(self):
        return {"ktc_topology": ktc_topology}
