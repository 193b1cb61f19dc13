# -*- coding: utf-8 -*-
# Copyright: Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_ios_config
short_description: What a Cisco IOS access switch must be, as cisco.ios resource-module data and guard lines
version_added: "1.1.0"
description:
  - Computes, from the site model and the switch's entry of the wiring model, the C(config) of
    cisco.ios.ios_vlans, ios_interfaces, ios_l2_interfaces, ios_l3_interfaces and ios_static_routes, and the
    first-hop security lines those modules cannot express (DHCP snooping with the uplink trusted, dynamic ARP
    inspection, IPv6 RA guard and DHCPv6 guard, port security), for cisco.ios.ios_config.
  - Every port of C(ports) that is neither the uplink nor an access port is shut down, described C(unused) and put
    in the parking VLAN (C(ktc_site.parking_vlan), 999 when not given), which is suspended and on no trunk.
positional: switch, gateway, max_macs, mac_timeout_s, dhcp_per_s
options:
  _input:
    description: The site model, C(ktc_site).
    type: dict
    required: true
  switch:
    description:
      - The switch as the wiring model gives it (C(ktc_model.switches[inventory_hostname]), the C(ktc_topology)
        filter), with its uplink and downlinks and the segments each carries, its access ports with open events applied,
        C(ports) (the inventory's C(ktc_switch_ports)) and C(management_address).
    type: dict
    required: true
  gateway:
    description: The management prefix's router (core's management address).
    type: str
    required: true
  max_macs:
    description: Most MACs one access port may use (port security).
    type: int
    required: true
  mac_timeout_s:
    description: Seconds without a frame after which a port forgets a MAC (rounded up to whole minutes).
    type: int
    required: true
  dhcp_per_s:
    description: DHCP packets per second one access port may send (DHCP snooping rate limit).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Show what the switch must be
  ansible.builtin.debug:
    msg: >-
      {{ ktc_site | ktc_ios_config(ktc_model.switches[inventory_hostname], '10.40.255.1', 4, 1800, 5) }}
"""

RETURN = r"""
_value:
  description:
    - C(vlans), C(interfaces), C(l2_interfaces), C(l3_interfaces), C(static_routes) in the form of each module's
      C(config); C(guard_global) (global lines), C(guard_interfaces) (port to its lines) and C(guard_rendered)
      (all guard commands, each port's after its C(interface) line).
  type: dict
"""

import os
import sys

# Controller-side plugins cannot import from a configured module_utils path (only modules can),
# so the pure-Python core is put on sys.path explicitly.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from ktc_ios import switch_config  # noqa: E402 pylint: disable=wrong-import-position


def ktc_ios_config(site, switch, gateway, max_macs, mac_timeout_s, dhcp_per_s):
    return switch_config(site, switch, gateway, int(max_macs), int(mac_timeout_s), int(dhcp_per_s))


class FilterModule(object):
    def filters(self):
        return {"ktc_ios_config": ktc_ios_config}
