# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of ktc_template_files (documented in plugins/modules/ktc_template_files.py): the per-item file list
that roles used to build in Jinja loops, rendered here in Python."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import string

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader

COMPONENT = re.compile(r"[A-Za-z0-9._@-]+")
SPEC_KEYS = frozenset(("path", "template", "mode", "validate", "each", "as"))


def _path(spec, item):
    """The spec's path with the item's fields put in, refused unless each field is one harmless path component."""
    fields = [name for _, name, _, _ in string.Formatter().parse(spec["path"]) if name]
    values = {}
    for name in fields:
        value = str((item or {}).get(name, ""))
        if not COMPONENT.fullmatch(value) or value in (".", ".."):
            raise AnsibleActionFail("ktc_template_files: %s: field %r is %r, not a file name component"
                                    % (spec["path"], name, value))
        values[name] = value
    path = spec["path"].format(**values)
    if not os.path.isabs(path) or os.path.normpath(path) != path:
        raise AnsibleActionFail("ktc_template_files: %r is not an absolute, normalised path" % path)
    return path


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "vars"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        specs = self._task.args.get("files")
        common = self._task.args.get("vars") or {}
        if not isinstance(specs, list) or not isinstance(common, dict):
            raise AnsibleActionFail("ktc_template_files: files must be a list and vars a dict")
        template = lookup_loader.get("ansible.builtin.template", loader=self._loader, templar=self._templar)
        rendered = []
        for spec in specs:
            unknown = set(spec) - SPEC_KEYS if isinstance(spec, dict) else None
            if unknown is None or unknown or not spec.get("path") or not spec.get("template"):
                raise AnsibleActionFail("ktc_template_files: a spec needs path and template and takes only %s: %r"
                                        % (", ".join(sorted(SPEC_KEYS)), spec))
            items = spec.get("each")
            for item in [None] if items is None else items:
                variables = dict(common)
                if item is not None:
                    variables.update({spec["as"]: item} if spec.get("as") else item)
                rendered.append({
                    "path": _path(spec, item),
                    "mode": spec.get("mode") or "0644",
                    "validate": spec.get("validate"),
                    "content": template.run([spec["template"]], variables=task_vars, template_vars=variables)[0],
                })
        result.update(changed=False, files=rendered)
        return result
