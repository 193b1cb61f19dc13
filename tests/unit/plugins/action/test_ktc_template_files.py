"""ktc_template_files: the path of each rendered file takes the item's fields only as one harmless path component."""

import importlib.util
import os

import pytest
from ansible.errors import AnsibleActionFail

_SPEC = importlib.util.spec_from_file_location("action_ktc_template_files", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "action", "ktc_template_files.py"))
_ACTION = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_ACTION)

SPEC = {"path": "/etc/systemd/network/43-ktc-port-{name}.network", "template": "x.j2"}


def test_the_item_names_the_file():
    assert _ACTION._path(SPEC, {"name": "swp3"}) == "/etc/systemd/network/43-ktc-port-swp3.network"
    assert _ACTION._path({"path": "/etc/a.conf", "template": "a.j2"}, None) == "/etc/a.conf"


@pytest.mark.parametrize("name", ["../../../root/.ssh/authorized_keys", "swp3/x", "", "..", "swp3 x", "swp3\n"])
def test_a_field_that_is_not_one_path_component_is_refused(name):
    with pytest.raises(AnsibleActionFail, match="not a file name component"):
        _ACTION._path(SPEC, {"name": name})


def test_a_path_that_is_not_absolute_and_normalised_is_refused():
    with pytest.raises(AnsibleActionFail, match="absolute, normalised"):
        _ACTION._path({"path": "/etc/../root/{name}", "template": "x.j2"}, {"name": "x"})
