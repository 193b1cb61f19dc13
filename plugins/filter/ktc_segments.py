# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_segments
short_description: Every office segment of KTC with the facts its devices need, read from the ledger
version_added: "1.0.0"
description:
  - Joins the site model and the allocation ledger into one list, one item per segment, in the order of the
    site model. Templates read these items and never compute an address themselves.
  - Fails, naming them, when segments of the site model are not in the ledger yet (run the allocation first).
positional: site, events
options:
  _input:
    description: The ledger, as returned by M(ktc_ipam_allocate) (C(ledger)) or read from C(ipam.yml).
    type: dict
    required: true
  site:
    description: The site model, C(ktc_site).
    type: dict
    required: true
  events:
    description: Open events (C(ktc_events)), each a segment of kind C(event) of its office.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Show each segment's VLAN interface and gateway
  ansible.builtin.debug:
    msg: "{{ item.interface }} {{ item.gateway_cidr }} {{ item.office }}/{{ item.segment }}"
  loop: "{{ ktc_ledger | ktc_segments(ktc_site) }}"

# Only the guest segments
# ktc_ledger | ktc_segments(ktc_site) | selectattr('kind', 'equalto', 'guest')
"""

RETURN = r"""
_value:
  description: One dict per segment.
  type: list
  elements: dict
  contains:
    office: {description: Office id., type: str}
    office_name: {description: Office's full name., type: str}
    noc: {description: Whether the office is a NOC (may reach the management plane)., type: bool}
    segment: {description: Segment name., type: str}
    kind: {description: "office, guest, event, or services (the site's one segment of shared servers).", type: str}
    hosts: {description: Hosts the segment must serve (from the site model)., type: int}
    vlan: {description: VLAN ID from the ledger., type: int}
    interface: {description: Name of the router's VLAN interface (vlanN)., type: str}
    prefix: {description: The segment's prefix (CIDR)., type: str}
    network: {description: Network address., type: str}
    prefixlen: {description: Prefix length., type: int}
    netmask: {description: Netmask., type: str}
    broadcast: {description: Broadcast address., type: str}
    gateway: {description: Router address (first host)., type: str}
    gateway_cidr: {description: Router address with prefix length., type: str}
    dhcp_pools: {description: "Ranges {start, end} a DHCP server may lease: hosts minus gateway and reservations.", type: list}
    reverse_zones: {description: in-addr.arpa zones holding the segment's PTR records., type: list}
    fqdn: {description: "Segment's DNS name: segment.office.domain.", type: str}
    gateway_fqdn: {description: Gateway's DNS name (gw.segment.office.domain)., type: str}
    reservations: {description: "Reserved devices {name, mac, address, fqdn} with their ledger addresses.", type: list}
    services:
      description: >-
        The shared services (ktc_site.services) in this segment, each {name, mac, address, fqdn, ports} at its ledger
        address; empty but in the services segment. C(mac) is null for a server configured by hand.
      type: list
    service_endpoints: {description: "Firewall set elements 'address . protocol . port' of those services.", type: list}
    dhcp_reservations: {description: "What DHCP hands out by MAC, {name, mac, address}: devices and services.", type: list}
    dns_records: {description: "Internal A/PTR records {name, address}: gateway, devices and services.", type: list}
    reserved_mbit: {description: Uplink capacity reserved for an event segment (0 for others)., type: int}
    shaping_class:
      description: >-
        The uplink shaper's class (tc minor, hex): the office's lowest VLAN for all its segments, the segment's own
        VLAN for an event.
      type: str
  sample:
    - {office: bkpsdm, segment: staff, kind: office, vlan: 103, interface: vlan103, prefix: 10.40.2.0/26,
       gateway: 10.40.2.1, dhcp_pools: [{start: 10.40.2.2, end: 10.40.2.62}]}
"""

import os
import sys

from ansible.errors import AnsibleFilterError

# Controller-side plugins cannot import from a configured module_utils path (only modules can),
# so the pure-Python core is put on sys.path explicitly.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from ktc_site import SiteError, validate_site, with_events  # noqa: E402 pylint: disable=wrong-import-position
from ktc_ipam import segment_facts  # noqa: E402 pylint: disable=wrong-import-position


def ktc_segments(ledger, site, events=None):
    try:
        return segment_facts(validate_site(with_events(site, events)), ledger)
    except SiteError as exc:
        raise AnsibleFilterError("ktc_segments: " + "; ".join(exc.errors))


class FilterModule(object):
    def filters(self):
        return {"ktc_segments": ktc_segments}
