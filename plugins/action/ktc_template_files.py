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

from ansible._internal._templating._engine import TemplateOptions
from ansible._internal._templating._template_vars import generate_ansible_template_vars
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import lookup_loader
from ansible.template import trust_as_template

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


class _Renderer(object):
    """Renders a template of the role as the template lookup does, but without its deep copy of every task variable
    for each file (most of the time of a core with hundreds of segment files): the variables are shared, read-only,
    and each file's own (the item) laid over them."""

    def __init__(self, action, task_vars):
        self.action, self.task_vars = action, task_vars
        self.lookup = lookup_loader.get("ansible.builtin.template", loader=action._loader, templar=action._templar)
        self.cache = {}

    def __call__(self, name, variables):
        if name not in self.cache:
            path = self.lookup.find_file_in_search_path(self.task_vars, "templates", name)
            if not path:
                raise AnsibleActionFail("ktc_template_files: the template %s could not be found" % name)
            searchpath = [os.path.dirname(path)]
            for entry in self.task_vars.get("ansible_search_path", []):
                searchpath += [os.path.join(entry, "templates"), entry]
            self.cache[name] = (path, trust_as_template(self.action._loader.get_text_file_contents(path)), searchpath)
        path, data, searchpath = self.cache[name]
        layered = dict(self.task_vars)
        layered.update(generate_ansible_template_vars(path=name, fullpath=path,
                                                      include_ansible_managed="ansible_managed" not in layered))
        layered.update(variables)
        templar = self.action._templar.copy_with_new_env(available_variables=layered, searchpath=searchpath)
        return templar._engine.template(data, options=TemplateOptions(escape_backslashes=False))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("files", "vars"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        specs = self._task.args.get("files")
        common = self._task.args.get("vars") or {}
        if not isinstance(specs, list) or not isinstance(common, dict):
            raise AnsibleActionFail("ktc_template_files: files must be a list and vars a dict")
        render = _Renderer(self, task_vars)
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
                    "content": render(spec["template"], variables),
                })
        result.update(changed=False, files=rendered)
        return result
