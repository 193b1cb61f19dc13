# -*- coding: utf-8 -*-
# Copyright: Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_port_map
short_description: A switch's port map while events are open
version_added: "1.0.0"
description:
  - Returns the switch's C(ktc_switch_access_ports), segment name to list of ports, with the ports of every open
    event on this switch moved out of their segment into the event's own segment (named like the event). When the
    event closes, the ports are back in their segment.
positional: switch, events
options:
  _input:
    description: The switch's port map, C(ktc_switch_access_ports).
    type: dict
    required: true
  switch:
    description: The switch's inventory name.
    type: str
    required: true
  events:
    description: Open events (C(ktc_events)); only those whose C(switch) is this switch count.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
# {staff: [swp1, swp2]} with an event cat-asn on sw-bkpsdm's swp2 -> {staff: [swp1], cat-asn: [swp2]}
- name: Show the ports of this switch
  ansible.builtin.debug:
    msg: "{{ ktc_switch_access_ports | ktc_port_map(inventory_hostname, ktc_events) }}"
"""

RETURN = r"""
_value:
  description: The port map in effect, segment name to list of ports; segments left with no port are dropped.
  type: dict
"""

import os
import sys

# Controller-side plugins cannot import from a configured module_utils path (only modules can),
# so the pure-Python core is put on sys.path explicitly.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from ktc_ipam import port_map_with_events  # noqa: E402 pylint: disable=wrong-import-position


def ktc_port_map(access_ports, switch, events=None):
    return port_map_with_events(switch, access_ports, events)


class FilterModule(object):
    def filters(self):
        return {"ktc_port_map": ktc_port_map}
