# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ktc_host_keys
short_description: "The host keys of one device, read from the known_hosts of an inventory"
version_added: "1.0.0"
description:
  - Returns the keys a known_hosts text (OpenSSH format, plain or hashed host names) holds for one address, as
    C(name) (the address, C([address]:port) for a port other than 22) and C(key) (the whole line, host name first),
    ready for M(ansible.builtin.known_hosts).
  - Lines with markers (C(@revoked), C(@cert-authority)), unknown key types or a key that is not base64 are
    refused, because the file is the reviewed truth of which key each device has, so a line that cannot be read is
    an error, not something to skip.
positional: address, port
options:
  _input:
    description: The text of the known_hosts file.
    type: str
    required: true
  address:
    description: The address Ansible connects to (C(ansible_host)).
    type: str
    required: true
  port:
    description: The SSH port.
    type: int
    default: 22
"""

EXAMPLES = r"""
- name: Put the inventory's key for this switch into ~/.ssh/known_hosts
  ansible.builtin.known_hosts:
    name: "{{ item.name }}"
    key: "{{ item.key }}"
  loop: "{{ lookup('ansible.builtin.file', inventory_dir ~ '/known_hosts') | ktc_host_keys(ansible_host) }}"
"""

RETURN = r"""
_value:
  description: The keys for the address, in file order (empty when it has none).
  type: list
  elements: dict
  contains:
    name: {description: The host name as known_hosts spells it for this address and port., type: str}
    key: {description: "The line: name, key type, base64 key.", type: str}
"""

import base64
import binascii
import hashlib
import hmac
import re

from ansible.errors import AnsibleFilterError

KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
ADDRESS = re.compile(r"^[A-Za-z0-9.:-]{1,253}$")


def _matches(pattern, name):
    if pattern.startswith("|1|"):
        try:
            salt, digest = (base64.b64decode(part, validate=True) for part in pattern[3:].split("|", 1))
        except (ValueError, binascii.Error):
            return False
        return hmac.compare_digest(hmac.new(salt, name.encode(), hashlib.sha1).digest(), digest)
    return pattern == name


def ktc_host_keys(text, address, port=22):
    address = str(address)
    if not ADDRESS.match(address):
        raise AnsibleFilterError("ktc_host_keys: %r is not a host name or address" % address)
    name = address if int(port) == 22 else "[%s]:%d" % (address, int(port))
    keys = []
    for number, line in enumerate(str(text).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if line.startswith("@") or len(fields) < 3 or fields[1] not in KEY_TYPES:
            raise AnsibleFilterError("known_hosts line %d is not '<host> <key type> <base64 key>': %s" % (number, line))
        try:
            base64.b64decode(fields[2], validate=True)
        except (ValueError, binascii.Error):
            raise AnsibleFilterError("known_hosts line %d: the key is not base64" % number)
        if any(_matches(pattern, name) for pattern in fields[0].split(",")):
            keys.append({"name": name, "key": " ".join([name] + fields[1:3])})
    return keys


class FilterModule(object):
    def filters(self):
        return {"ktc_host_keys": ktc_host_keys}
