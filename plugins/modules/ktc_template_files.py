#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_template_files
short_description: Render a role's whole set of files on the controller, one per item of the model
version_added: "1.0.0"
description:
  - Renders each template of C(files) on the controller, as M(ansible.builtin.template) would (the role's
    C(templates/) directory, the task's variables), and returns the files for M(ktc_apply) or M(ktc_render)
    without touching the device.
  - "A spec with C(each) renders its template once per item of that list (one file per trunk, bond member, segment,
    port, from the lists of the wiring model); the item's fields fill the C({field}) placeholders of C(path), and the
    item is given to the template as the variable named by C(as), or, without C(as), as its variables."
  - Every path is checked before anything is rendered (absolute, normalised, and each placeholder value one path
    component of letters, digits, C(.), C(_), C(@) and C(-)), so a name from the inventory cannot point outside the
    directory its spec names.
  - This is an action plugin; no module runs on the device. C(changed) is always false.
options:
  files:
    description: The specs of the files to render.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: "The file's absolute path on the device; C({field}) placeholders take the item's fields."
        type: str
        required: true
      template:
        description: The template, relative to the role's C(templates/) directory.
        type: str
        required: true
      mode:
        description: The file's mode.
        type: str
        default: "0644"
      validate:
        description: The command that validates the file on the device, C(%s) for its path (see M(ktc_apply)).
        type: str
      each:
        description: Render once per item of this list of dicts.
        type: list
        elements: dict
      as:
        description: The template variable that holds the item; without it, the item's keys are the variables.
        type: str
  vars:
    description: Variables given to every template (besides the task's).
    type: dict
    default: {}
author:
  - Diskominfo KSB network team
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
seealso:
  - module: ktc_apply
  - module: ktc_render
"""

EXAMPLES = r"""
- name: Render core's network configuration on the controller
  ktc_template_files:
    files:
      - {path: /etc/sysctl.d/60-ktc-router.conf, template: etc/sysctl.d/60-ktc-router.conf.j2}
      - path: /etc/systemd/network/30-ktc-{interface}.netdev
        template: etc/systemd/network/30-ktc-segment.netdev.j2
        each: "{{ ktc_model.core.segments }}"
        as: segment
  register: core_router_render
"""

RETURN = r"""
files:
  description: The rendered files, in spec order, each as M(ktc_apply) takes them.
  returned: success
  type: list
  elements: dict
  sample: [{path: /etc/sysctl.d/60-ktc-router.conf, mode: "0644", validate: null, content: "net.ipv4.ip_forward = 1\n"}]
"""
