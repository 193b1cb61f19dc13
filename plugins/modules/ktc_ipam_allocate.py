#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_ipam_allocate
short_description: Allocate VLAN IDs, IPv4 prefixes and reserved addresses for KTC offices into the ledger
version_added: "1.0.0"
description:
  - Reads the site model (C(ktc_site)) and the allocation ledger (C(inventories/<env>/ipam.yml)), validates
    both, and gives every office segment that is not yet in the ledger a VLAN ID from C(vlan_pool) and the
    smallest aligned prefix of C(address_pool) that holds its hosts plus headroom, gateway, network and
    broadcast addresses. Reservations get a stable address from the top of their segment.
  - Entries already in the ledger never move. Entries of offices or segments removed from the site model stay
    in the ledger (their space is not reused) until they are named in O(release).
  - The ledger is rewritten atomically and only when its content changes; otherwise the file stays
    byte-identical and the result is C(changed=false).
  - Runs on the controller, in a play on C(localhost) or delegated to it.
options:
  site:
    description: The site model, the value of C(ktc_site).
    type: dict
    required: true
  ledger_path:
    description: Path of the ledger file. A missing file is an empty ledger.
    type: path
    required: true
  events:
    description:
      - Open events (C(ktc_events), written by C(playbooks/event.yml)), each allocated as a segment of kind
        C(event) of its office. A closed event's segment is freed with O(release) (C(office/event)).
    type: list
    elements: dict
    default: []
  release:
    description:
      - Ledger entries to free, as C(office) or C(office/segment). Each must already be gone from O(site);
        its VLAN and prefix become free for later allocations.
      - C(ipv6) frees every IPv6 /64 at once (management's too), to renumber into a new C(ktc_site.ipv6.prefix); the
        same run allocates them again there, with the same subnet IDs where they fit.
    type: list
    elements: str
    default: []
author:
  - Diskominfo KSB network team
notes:
  - Supports check mode and diff mode; in check mode nothing is written.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
seealso:
  - module: ktc_site_validate
"""

EXAMPLES = r"""
- name: Allocate what site.yml asks for
  ktc_ipam_allocate:
    site: "{{ ktc_site }}"
    ledger_path: "{{ inventory_dir }}/ipam.yml"
  register: ktc_allocation

- name: Free the VLAN and prefix of an office that left KTC
  ktc_ipam_allocate:
    site: "{{ ktc_site }}"
    ledger_path: "{{ inventory_dir }}/ipam.yml"
    release: [dispar]
"""

RETURN = r"""
ledger:
  description: The ledger after allocation (what the file holds, or would hold in check mode).
  returned: success
  type: dict
  sample: {ktc_ipam_ledger_version: 1, offices: {bkpsdm: {staff: {vlan: 103, prefix: 10.40.2.0/26}}}}
allocated:
  description: Segments allocated by this run, as C(office/segment vlan N prefix).
  returned: success
  type: list
  elements: str
  sample: ["bkpsdm/staff vlan 103 10.40.2.0/26"]
released:
  description: Ledger entries freed by this run.
  returned: success
  type: list
  elements: str
reservations_added:
  description: Reservations given an address by this run, as C(office/segment/name address).
  returned: success
  type: list
  elements: str
reservations_dropped:
  description: Reservations removed from the ledger because the site model no longer lists them there.
  returned: success
  type: list
  elements: str
errors:
  description: On failure, one line per problem, each naming the office, segment or field and the fix.
  returned: failure
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.ktc_site import SiteError, with_events
from ansible.module_utils.ktc_ipam import dump_ledger, plan, read_ledger


def write_atomically(module, path, text):
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp_path = tempfile.mkstemp(prefix=".ipam.", dir=directory)
    with os.fdopen(handle, "wb") as temp:
        temp.write(to_bytes(text))
    module.atomic_move(temp_path, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            site=dict(type="dict", required=True),
            ledger_path=dict(type="path", required=True),
            release=dict(type="list", elements="str", default=[]),
            events=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
    )
    path = module.params["ledger_path"]
    try:
        before, ledger = read_ledger(path)
        _site, ledger, report = plan(with_events(module.params["site"], module.params["events"]), ledger,
                                     module.params["release"])
    except SiteError as exc:
        module.fail_json(msg="Nothing was allocated or written:\n- " + "\n- ".join(exc.errors), errors=exc.errors)
    except (IOError, OSError, UnicodeError) as exc:
        module.fail_json(msg="Cannot read the ledger %s: %s" % (path, to_native(exc)))

    after = dump_ledger(ledger)
    changed = after != before
    if changed and not module.check_mode:
        write_atomically(module, path, after)
    result = dict(changed=changed, ledger=ledger, **report)
    if module._diff:
        result["diff"] = dict(before=before, after=after, before_header=path, after_header=path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
