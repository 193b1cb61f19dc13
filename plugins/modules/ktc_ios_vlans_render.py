#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_ios_vlans_render
short_description: The commands cisco.ios.ios_vlans renders for a VLAN list, without a device
version_added: "1.0.0"
description:
  - Runs the VLAN resource engine of C(cisco.ios.ios_vlans) (its argument spec, its config class and its command
    templates) in state C(rendered) on the controller, and returns the same C(rendered) list.
  - Exists because C(cisco.ios.ios_vlans) itself asks the device whether it is a layer-2 switch before it looks at
    C(state), so even C(state=rendered) needs a live C(network_cli) connection (cisco.ios issue 888; still so in
    cisco.ios 11.1.1). This module skips only that question. Every other resource module of C(cisco.ios) renders
    offline by itself.
  - Run it on the controller (C(delegate_to=localhost)). It never connects to a device and changes nothing.
options:
  config:
    description:
      - The VLANs, exactly as the C(config) option of C(cisco.ios.ios_vlans) (C(vlan_id), C(name), C(state),
        C(shutdown), ...), validated by that module's own argument spec.
    type: list
    elements: dict
    required: true
  state:
    description: Always C(rendered); present because the resource engine reads it.
    type: str
    choices: [rendered]
    default: rendered
author:
  - Diskominfo KSB network team
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: cisco.ios.ios_vlans
"""

EXAMPLES = r"""
- name: Render the VLAN commands of a switch on the controller
  ktc_ios_vlans_render:
    config:
      - {vlan_id: 10, name: management}
      - {vlan_id: 103, name: setda-staff}
  delegate_to: localhost
  register: vlans
"""

RETURN = r"""
rendered:
  description: The commands, as C(cisco.ios.ios_vlans) in state C(rendered) returns them.
  returned: success
  type: list
  elements: str
  sample: ["vlan 10", "name management", "vlan 103", "name setda-staff"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cisco.ios.plugins.module_utils.network.ios.argspec.vlans.vlans import VlansArgs
from ansible_collections.cisco.ios.plugins.module_utils.network.ios.config.vlans.vlans import Vlans


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config=dict(VlansArgs.argument_spec["config"], required=True),
            state=dict(type="str", choices=["rendered"], default="rendered"),
        ),
        supports_check_mode=True,
    )
    result = Vlans(module).execute_module()
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
