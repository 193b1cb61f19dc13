"""ktc_host_keys: the lines of an inventory's known_hosts for one device, plain or hashed, and refusals of lines that
cannot be read (the file is the reviewed truth, so nothing in it is skipped silently)."""

import base64
import hashlib
import hmac
import importlib.util
import os

import pytest
from ansible.errors import AnsibleFilterError

# Loaded from its file: plugins/filter on sys.path would shadow the module_utils of the same names (ktc_topology).
_SPEC = importlib.util.spec_from_file_location("filter_ktc_host_keys", os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter", "ktc_host_keys.py"))
_FILTER = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_FILTER)
ktc_host_keys = _FILTER.ktc_host_keys

KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIKtcKtcKtcKtcKtcKtcKtcKtcKtcKtcKtcKtcKtcKtcK"
OTHER = "AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOtherOth"


def _hashed(name):
    salt = b"0123456789abcdefghij"
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return "|1|%s|%s" % (base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def test_the_device_line_is_found_and_others_are_not():
    text = "# comment\n10.40.255.11 ssh-ed25519 %s\n10.40.255.12 ssh-ed25519 %s\n" % (KEY, OTHER)
    assert ktc_host_keys(text, "10.40.255.11") == [{"name": "10.40.255.11", "key": "10.40.255.11 ssh-ed25519 " + KEY}]
    assert ktc_host_keys(text, "10.40.255.13") == []


def test_a_port_other_than_22_is_part_of_the_name():
    text = "[10.40.255.11]:2222 ssh-ed25519 %s\n10.40.255.11 ssh-ed25519 %s\n" % (KEY, OTHER)
    assert ktc_host_keys(text, "10.40.255.11", 2222) == [
        {"name": "[10.40.255.11]:2222", "key": "[10.40.255.11]:2222 ssh-ed25519 " + KEY}]


def test_hashed_and_comma_separated_names_match():
    text = "%s ssh-ed25519 %s\nsw-setda,10.40.255.12 ssh-rsa %s\n" % (_hashed("10.40.255.11"), KEY, OTHER)
    assert [k["key"] for k in ktc_host_keys(text, "10.40.255.11")] == ["10.40.255.11 ssh-ed25519 " + KEY]
    assert [k["key"] for k in ktc_host_keys(text, "10.40.255.12")] == ["10.40.255.12 ssh-rsa " + OTHER]


@pytest.mark.parametrize("line", [
    "@cert-authority * ssh-ed25519 " + KEY,
    "10.40.255.11 ssh-dss " + KEY,
    "10.40.255.11 ssh-ed25519 not*base64",
    "10.40.255.11 ssh-ed25519",
])
def test_a_line_that_cannot_be_read_is_refused_with_its_number(line):
    with pytest.raises(AnsibleFilterError, match="line 2"):
        ktc_host_keys("# keys\n%s\n" % line, "10.40.255.11")


@pytest.mark.parametrize("address", ["10.40.255.11 evil", "$(touch x)", ""])
def test_an_address_that_is_no_address_is_refused(address):
    with pytest.raises(AnsibleFilterError):
        ktc_host_keys("", address)
