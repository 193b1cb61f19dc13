# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_reverse_zones
short_description: The in-addr.arpa zones that hold the PTR records of an IPv4 prefix
version_added: "1.0.0"
description:
  - Cuts the prefix at octet boundaries; a prefix longer than /24 lies in one /24 zone, a /22 spans four zones.
  - Used for prefixes that are not office segments (the management prefix); segments carry theirs in
    P(ktc_segments#filter).
options:
  _input:
    description: An IPv4 prefix in CIDR form.
    type: str
    required: true
"""

EXAMPLES = r"""
# ['255.40.10.in-addr.arpa']
management_zones: "{{ ktc_site.management.prefix | ktc_reverse_zones }}"
"""

RETURN = r"""
_value:
  description: Zone names without the trailing dot.
  type: list
  elements: str
  sample: ["0.40.10.in-addr.arpa", "1.40.10.in-addr.arpa"]
"""

import os
import sys

from ansible.errors import AnsibleFilterError

# Controller-side plugins cannot import from a configured module_utils path (only modules can).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
from ktc_ipam import reverse_zones  # noqa: E402 pylint: disable=wrong-import-position


def ktc_reverse_zones(prefix):
    try:
        return reverse_zones(prefix)
    except Exception as exc:  # netaddr raises several types for a bad prefix
        raise AnsibleFilterError("ktc_reverse_zones: %r is not an IPv4 prefix (%s)" % (prefix, exc))


class FilterModule(object):
    def filters(self):
        return {"ktc_reverse_zones": ktc_reverse_zones}
