#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_render
short_description: Write a role's rendered files into a directory on the controller instead of onto a device
version_added: "1.0.0"
description:
  - The render-only twin of M(ktc_apply). It takes the same C(files) list and writes each file to
    C(<dest>/<path>) with its mode, in one step, plus C(manifest) (the bundle's validators and activation
    commands) to C(<dest>/ktc-bundle-<name>.txt). Nothing is validated, activated or rolled back.
  - Used by the golden render tests (C(scripts/render.sh), C(tests/render/)) through C(safe_apply_render_dir).
  - Run it on the controller (C(delegate_to=localhost)). C(changed) is true when a file's content or mode differed.
options:
  name:
    description: The bundle's name (the role), as given to M(ktc_apply).
    type: str
    required: true
  dest:
    description: The host's directory; each file goes to C(dest) followed by its absolute path.
    type: path
    required: true
  files:
    description: The bundle's files, each C({path, content, mode, validate}) as given to M(ktc_apply).
    type: list
    elements: dict
    required: true
  manifest:
    description: Text written to C(<dest>/ktc-bundle-<name>.txt); none when omitted.
    type: str
author:
  - Diskominfo KSB network team
attributes:
  check_mode:
    support: none
  diff_mode:
    support: none
seealso:
  - module: ktc_apply
"""

EXAMPLES = r"""
- name: Render the files of the firewall bundle
  ktc_render:
    name: firewall
    dest: /tmp/render/lab/core
    files: "{{ firewall_rendered }}"
    manifest: "{{ lookup('ansible.builtin.template', 'ktc-bundle.txt.j2') }}"
  delegate_to: localhost
"""

RETURN = r"""
written:
  description: The paths (on the device) whose rendered file changed in C(dest).
  returned: success
  type: list
  elements: str
  sample: [/etc/nftables.conf]
"""

import os

from ansible.module_utils.basic import AnsibleModule


def _write(path, content, mode):
    """Write ``content`` to ``path`` with ``mode`` unless both are already so; return whether anything changed."""
    data = content.encode("utf-8")
    if os.path.isfile(path) and not os.path.islink(path):
        with open(path, "rb") as handle:
            same = handle.read() == data
        if same and (os.stat(path).st_mode & 0o7777) == mode:
            return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            files=dict(type="list", elements="dict", required=True),
            manifest=dict(type="str"),
        ),
        supports_check_mode=False,
    )
    dest = os.path.abspath(module.params["dest"])
    written = []
    for item in module.params["files"]:
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/") or ".." in path.split("/"):
            module.fail_json(msg="ktc_render: file path %r is not an absolute path without '..'" % (path,))
        if _write(dest + path, item.get("content") or "", int(str(item.get("mode") or "0644"), 8)):
            written.append(path)
    changed = bool(written)
    if module.params["manifest"] is not None:
        manifest = os.path.join(dest, "ktc-bundle-%s.txt" % module.params["name"])
        changed = _write(manifest, module.params["manifest"], 0o644) or changed
    module.exit_json(changed=changed, written=written)


if __name__ == "__main__":
    main()
