# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grammar every value from outside must match before it reaches a template, a file or a shell.

Values come from operators (site.yml, hosts.yml), from AWX surveys and from the events file that jobs write
back to git. Each checker returns None when the value is acceptable, or the reason it is not (a phrase the
callers put after the field's name). Pure Python, no Ansible import.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import unicodedata

try:
    import zoneinfo
except ImportError:  # Python < 3.9 (not supported by the project, but keep the import harmless)
    zoneinfo = None

# Linux interface names: IFNAMSIZ is 16 with the terminating NUL; no '/', no white space, no ':' (alias syntax).
LINUX_IFNAME_MAX = 15
LINUX_IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Cisco IOS interface names as the resource modules take them: GigabitEthernet1/0/1, Gi1/0/1, Port-channel1, Vlan10.
IOS_IFNAME_RE = re.compile(
    r"^(Gi|GigabitEthernet|Fa|FastEthernet|Te|TenGigabitEthernet|Tw|TwoGigabitEthernet|Fi|FiveGigabitEthernet|"
    r"Twe|TwentyFiveGigE|Fo|FortyGigabitEthernet|Hu|HundredGigE|Eth|Ethernet|Po|Port-channel)"
    r"[0-9]{1,4}(/[0-9]{1,4}){0,3}(\.[0-9]{1,4})?$", re.IGNORECASE)
# Inventory host names: DNS labels, optionally dotted (they are printed into files and SSH configs).
HOST_RE = re.compile(r"^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
# Event times: compared as text by close-ended, so exactly one spelling.
TIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$")
# Every character a line of text may not hold: C0/C1 controls, DEL, and the Unicode line and paragraph separators.
_LINE_BREAKERS = frozenset(u"\u2028\u2029\x85")


def text_line(value, longest=120):
    """A printable line of text (names people read: the site's, an office's)."""
    if not isinstance(value, str) or not value.strip():
        return "must be a line of text"
    if len(value) > longest:
        return "is %d characters long; at most %d" % (len(value), longest)
    for char in value:
        if char in _LINE_BREAKERS or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            return "holds the control character %r; give one printable line" % char
    return None


IOS_BOND_RE = re.compile(r"(Po|Port-channel)[1-9][0-9]{0,2}", re.IGNORECASE)


def bond(value, platform="linux_bridge"):
    """The name of an LACP bond of ``platform``: a Linux interface name, or an IOS port-channel (Port-channel1)."""
    if platform == "cisco_ios":
        if not isinstance(value, str) or not IOS_BOND_RE.fullmatch(value):
            return "is not an IOS port-channel such as Port-channel1"
        return None
    return interface(value, platform)


def interface(value, platform="linux_bridge"):
    """A port or interface name of ``platform`` (linux_bridge and core are Linux; cisco_ios is IOS)."""
    if not isinstance(value, str) or not value:
        return "must be an interface name"
    if platform == "cisco_ios":
        if not IOS_IFNAME_RE.fullmatch(value):
            return "is not an IOS interface name such as GigabitEthernet1/0/1"
        return None
    if not LINUX_IFNAME_RE.fullmatch(value) or value in (".", ".."):
        return "is not a Linux interface name (letters, digits, '_', '.', '-', starting with a letter or digit)"
    if len(value) > LINUX_IFNAME_MAX:
        return "is %d characters long; Linux interface names have at most %d" % (len(value), LINUX_IFNAME_MAX)
    return None


def host(value):
    if not isinstance(value, str) or not HOST_RE.fullmatch(value):
        return "is not a host name (lower-case letters, digits and '-', dot-separated labels, at most 63 characters)"
    return None


def timezone(value):
    """A zone of the tz database, such as Asia/Makassar."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}", value):
        return "is not a time zone of the tz database such as Asia/Makassar"
    if zoneinfo is not None:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            return "is not a time zone of the tz database such as Asia/Makassar"
    return None


def event_time(value):
    """Empty, or a time written 2026-12-01 07:00 (a real date and time)."""
    if value in ("", None):
        return None
    match = TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return "must be written like 2026-12-01 07:00, or left empty"
    year, month, day, hour, minute = (int(part) for part in match.groups())
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    if not (1 <= month <= 12 and 1 <= day <= days[month - 1] and hour < 24 and minute < 60):
        return "is not a real date and time"
    return None


def mac(value):
    """A unicast MAC address of a device: six octets, not all zero, not multicast or broadcast."""
    text = value.lower() if isinstance(value, str) else None
    if text is None or not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", text):
        return "is not a MAC address like 02:00:00:00:10:01 (quote it in YAML)"
    if text == "00:00:00:00:00:00":
        return "is the all-zero address; give the device's own MAC"
    if int(text[:2], 16) & 1:
        return "is a multicast (or broadcast) address; a device's MAC has an even first octet"
    return None
