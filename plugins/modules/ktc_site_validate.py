#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_site_validate
short_description: Refuse a KTC site model, switch inventory or ledger that cannot be built, before any device is touched
version_added: "1.0.0"
description:
  - Checks the site model (C(ktc_site)) against its contract, the wiring of core and the access switches (office,
    platform, ports, management addresses, core ports) against the site model, the open events (every field against
    its grammar, their ports against the ports their switch declares), and the allocation ledger for hand edits that
    made it inconsistent.
  - Every value is checked against a grammar before any template, file or shell sees it; names are one printable
    line, interface names fit their platform (and Linux's 15 characters), host names are DNS labels.
  - Then allocates in memory, without writing anything, so that a segment that cannot fit in what is left of
    C(address_pool), or an exhausted C(vlan_pool), is refused here too.
  - Every problem is reported at once, one line each, naming the office, segment, switch or field and what to do.
  - Never changes anything; C(changed) is always false.
options:
  site:
    description: The site model, the value of C(ktc_site).
    type: dict
    required: true
  ledger_path:
    description: Path of the allocation ledger. A missing file is an empty ledger.
    type: path
    required: true
  events:
    description: Open events (C(ktc_events)); each must name a known office, one of that office's switches and ports
      that switch declares.
    type: list
    elements: dict
    default: []
  core:
    description: Core's wiring (host variables of the host of group C(core_routers)); omitted, it is not checked.
    type: dict
    suboptions:
      name:
        description: Inventory hostname of core.
        type: str
        required: true
      servers:
        description:
          - Every host of C(core_routers) (two for a pair of core servers, named in C(ktc_site.cores)), each with its
            own management address and uplinks; the pair's uplinks must be the same.
        type: list
        elements: dict
        suboptions:
          name:
            description: Inventory hostname of the server.
            type: str
            required: true
          management_address:
            description: The server's own address in the management prefix (C(ktc_management_address)).
            type: str
          uplinks:
            description: The server's C(ktc_uplinks).
            type: list
            elements: dict
      management_address:
        description: Core's address in the management prefix (C(ktc_management_address)).
        type: str
      uplinks:
        description: C(ktc_uplinks), one C({name, interface, address, gateway}) per uplink of C(ktc_site.uplinks).
        type: list
        elements: dict
  switches:
    description:
      - The access switches of the inventory, one entry per host of group C(access_switches).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Inventory hostname of the switch.
        type: str
        required: true
      office:
        description: The office whose segments bare names in C(access_ports) mean (host variable C(ktc_office)).
        type: str
      platform:
        description: C(linux_bridge) or C(cisco_ios) (host variable C(ktc_switch_platform)).
        type: str
      uplink:
        description: The switch's port towards its parent, or a list of ports for an LACP bond (C(ktc_switch_uplink)).
        type: raw
      uplink_bond:
        description: The name of that bond on the switch (C(ktc_switch_uplink_bond)).
        type: str
      parent:
        description: Core's inventory name, or the switch the uplink plugs into (C(ktc_parent)).
        type: str
      parent_port:
        description: The parent's port of the link, or a list of ports for an LACP bond (C(ktc_parent_port)).
        type: raw
      parent_bond:
        description: The name of that bond on the parent (C(ktc_parent_bond)).
        type: str
      access_ports:
        description: C(segment) (of C(office)) or C(office/segment) to list of access ports, as the inventory declares
          them (host variable C(ktc_switch_access_ports)); open events take some of them.
        type: dict
      management_address:
        description: The switch's address in the management prefix (C(ktc_management_address)).
        type: str
      core_port:
        description: The older form of C(parent=core) with C(parent_port) (C(ktc_core_port)).
        type: str
      uplink_standby:
        description:
          - Below a pair of core servers, the switch's port to the standby server (a list for an LACP bond), cabled to
            the same port(s) of it as C(parent_port) names on the preferred one (C(ktc_switch_uplink_standby)).
        type: raw
      uplink_standby_bond:
        description: The name of that bond on the switch (C(ktc_switch_uplink_standby_bond)).
        type: str
      planned:
        description: The switch is not installed yet (a host of group C(planned_switches)); validated and drawn, never
          configured.
        type: bool
      serves:
        description: Offices a switch will serve whose ports are not known yet (C(ktc_switch_offices)), for the plan.
        type: list
        elements: str
      ports:
        description:
          - Every port of the switch, names or ranges such as C(GigabitEthernet1/0/1-28) (C(ktc_switch_ports));
            required on C(cisco_ios), where the ports the inventory does not use are shut down.
        type: list
        elements: str
author:
  - Diskominfo KSB network team
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: ktc_ipam_allocate
"""

EXAMPLES = r"""
- name: Validate the site model, the switches and the ledger
  ktc_site_validate:
    site: "{{ ktc_site }}"
    ledger_path: "{{ inventory_dir }}/ipam.yml"
    switches:
      - {name: sw-dukcapil, office: dukcapil, platform: linux_bridge, uplink: eth1,
         access_ports: {staff: [eth2], wifi: [eth3]}}
"""

RETURN = r"""
offices:
  description: Number of offices in the site model.
  returned: success
  type: int
  sample: 3
segments:
  description: Number of segments in the site model.
  returned: success
  type: int
  sample: 4
pending:
  description: Segments that the next allocation would add to the ledger.
  returned: success
  type: list
  elements: str
  sample: ["bkpsdm/staff vlan 103 10.40.2.0/26"]
errors:
  description: On failure, one line per problem.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.ktc_site import SiteError, with_events
from ansible.module_utils.ktc_ipam import management_facts, plan, read_ledger, segment_facts
from ansible.module_utils.ktc_inventory import validate_switches
from ansible.module_utils.ktc_topology import build


def main():
    module = AnsibleModule(
        argument_spec=dict(
            site=dict(type="dict", required=True),
            ledger_path=dict(type="path", required=True),
            events=dict(type="list", elements="dict", default=[]),
            switches=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                office=dict(type="str"),
                platform=dict(type="str"),
                uplink=dict(type="raw"),
                access_ports=dict(type="dict"),
                management_address=dict(type="str"),
                core_port=dict(type="str"),
                parent=dict(type="str"),
                parent_port=dict(type="raw"),
                parent_bond=dict(type="str"),
                uplink_bond=dict(type="str"),
                uplink_standby=dict(type="raw"),
                uplink_standby_bond=dict(type="str"),
                planned=dict(type="bool"),
                serves=dict(type="list", elements="str"),
                ports=dict(type="list", elements="str"),
            )),
            core=dict(type="dict", options=dict(
                name=dict(type="str", required=True),
                servers=dict(type="list", elements="dict", options=dict(
                    name=dict(type="str", required=True),
                    management_address=dict(type="str"),
                    uplinks=dict(type="list", elements="dict"),
                )),
                management_address=dict(type="str"),
                uplinks=dict(type="list", elements="dict"),
            )),
        ),
        supports_check_mode=True,
    )
    path = module.params["ledger_path"]
    try:
        site, ledger, report = plan(with_events(module.params["site"], module.params["events"]), read_ledger(path)[1])
        validate_switches(site, module.params["switches"], module.params["events"], module.params["core"])
        # What only the whole model shows (a segment below two of core's trunks), with the ledger as allocated.
        build(site, segment_facts(site, ledger), module.params["core"], module.params["switches"], module.params["events"],
              management_facts(site, ledger))
    except SiteError as exc:
        module.fail_json(msg="The site model was refused; nothing was changed:\n- " + "\n- ".join(exc.errors),
                         errors=exc.errors)
    except (IOError, OSError, UnicodeError) as exc:
        module.fail_json(msg="Cannot read the ledger %s: %s" % (path, to_native(exc)))
    module.exit_json(changed=False, offices=len(site["offices"]),
                     segments=sum(len(office["segments"]) for office in site["offices"]),
                     pending=report["allocated"])


if __name__ == "__main__":
    main()
