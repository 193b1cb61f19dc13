# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_wiring
short_description: The inventory's wiring (core and every access switch) as plain data
version_added: "1.0.0"
description:
  - "Reads, for core (every host of C(core_routers), one or a pair named in C(ktc_site.cores)) and every host of
    C(access_switches) and of C(planned_switches) (switches not installed yet, marked C(planned)), the inventory
    variables that describe how KTC is wired, and returns them as plain dicts, so that no play or role scans
    C(hostvars) itself. M(ktc_site_validate) checks the result; the C(ktc_topology) filter builds the model from it."
  - "Per switch: C(ktc_switch_platform), C(ktc_management_address), C(ktc_parent), C(ktc_parent_port) (a list for an
    LACP bond, named C(ktc_parent_bond)), C(ktc_switch_uplink) (a list for a bond, C(ktc_switch_uplink_bond)),
    C(ktc_office), C(ktc_switch_access_ports), C(ktc_switch_ports), C(ktc_switch_offices) (the offices a planned
    switch will serve), C(ktc_switch_uplink_standby) and C(ktc_switch_uplink_standby_bond) (below a pair of core
    servers, the link to the standby one), and the older C(ktc_core_port)."
positional: hostvars
options:
  _input:
    description: The inventory's C(groups).
    type: dict
    required: true
  hostvars:
    description: The inventory's C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Show how each switch hangs off its parent
  ansible.builtin.debug:
    msg: "{{ (groups | ktc_wiring(hostvars)).switches | map(attribute='parent') }}"
"""

RETURN = r"""
_value:
  description: The wiring.
  type: dict
  contains:
    core:
      description: >-
        Core's {name, management_address, uplinks} (its first server's), with servers, the same of each host of
        core_routers; null without core_routers.
      type: dict
    switches:
      description: >-
        One dict per access switch: name, platform, management_address, parent, parent_port, parent_bond, uplink,
        uplink_bond, uplink_standby, uplink_standby_bond, office, access_ports, ports, serves, planned, core_port
        (null where the inventory does not set them).
      type: list
      elements: dict
    paths:
      description: >-
        Per switch, the switch and every switch on its way to core: what a change below it converges (each trunk
        there carries the segments below it). playbooks/event.yml narrows a converge to it.
      type: dict
    office_switches:
      description: >-
        Per office, the installed switches with a port of it and every switch on their way to core
        (playbooks/onboard.yml converges those).
      type: dict
"""

import os
import sys

# Controller-side plugins cannot import from a configured module_utils path (only modules can).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from ktc_topology import wiring_from_inventory  # noqa: E402 pylint: disable=wrong-import-position


def ktc_wiring(groups, hostvars):
    return wiring_from_inventory(hostvars, groups)


class FilterModule(object):
    def filters(self):
        return {"ktc_wiring": ktc_wiring}
