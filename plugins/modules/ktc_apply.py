#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ktc_apply
short_description: Install a role's rendered files in one step, validated, atomically, with a rollback the host runs by itself
version_added: "1.0.0"
description:
  - Compares the rendered files with what is on the host and, only when something differs, stages the new
    versions, runs each file's validator on the staged copy (C(nft -c -f), C(kea-dhcp4 -t), C(unbound-checkconf),
    ...), keeps the previous versions, installs the new ones by atomic rename, removes files that are no
    longer rendered (O(purge)), and runs the activation commands (atomic C(nft -f), C(networkctl reload),
    a Kea C(config-reload), ...).
  - Commit confirmed. With O(confirm_timeout) above 0 it first arms a systemd timer on the host that restores the
    previous files and re-runs the activation (after O(activate_timeout) plus O(confirm_timeout) seconds), and once
    the activation and its live checks are done, replaces it with one that does so after O(confirm_timeout) seconds.
    The controller cancels it over a new connection by running RV(confirm_command) (or the module with
    O(confirm=true), which runs the same script); if the change cut the controller off, the host comes back on its
    previous configuration by itself.
  - A change not yet confirmed survives no reboot. While it waits, a marker C(pending) is kept in the bundle's state
    directory, and the boot unit C(ktc-apply-boot.service) (installed by this module) restores the previous files of
    every pending bundle early at boot, before the network, the firewall and the daemons start with them.
  - A confirm and a rollback never overlap. Both take the lock of the bundle's state directory, so a confirm arriving
    while a rollback runs waits for it and then fails with C(ROLLBACK); a rollback whose confirm came first does
    nothing.
  - If an activation command fails, the previous files are restored and activated at once and the module fails.
  - C(changed) is true only when a file's content, mode or presence changes, or when the running state of a function
    checked live (O(activate[].live)) differs from its file; nothing is activated otherwise.
options:
  name:
    description: Name of the bundle (usually the role); keys the saved previous versions and the rollback timer.
    type: str
    required: true
  files:
    description: The complete set of files of the bundle.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute destination path.
        type: path
        required: true
      content:
        description: The file's full content.
        type: str
        required: true
      mode:
        description: File mode.
        type: str
        default: "0644"
      validate:
        description: Command that checks the staged file before anything is installed; C(%s) is its path.
        type: str
  purge:
    description: Files matching these globs that are not in O(files) are removed (configs of removed segments).
    type: list
    elements: str
    default: []
  activate:
    description: Commands run in order after installing, when something changed.
    type: list
    elements: dict
    default: []
    suboptions:
      command:
        description: Shell command.
        type: str
        required: true
      when_changed:
        description: Globs; run only if a changed file matches one (all changes when omitted).
        type: list
        elements: str
      units:
        description:
          - The systemd units the command starts or restarts. Before the command, systemd reloads its unit files only
            when one of these changed since systemd read it, and enables only the units not enabled yet. A reload takes
            seconds on a small or emulated host (and C(systemctl enable) reloads each time it runs, twice more for a
            unit with an init script), so a command never calls C(daemon-reload) or C(enable) itself.
        type: list
        elements: str
      live:
        description:
          - The functions this command activates, checked live. The module compares the device's running state with
            the state the rendered files under O(activate[].live[].path) give (see C(plugins/module_utils/ktc_live.py)),
            and runs the command also when no file changed but the running state differs (changed, reported in
            C(live_drift)); what a check can undo by itself (an address nobody declared) it undoes first. After the
            command ran, the running state must equal the repository's within 30 seconds, or the module fails (and
            restores the previous files when it installed any).
          - The states built in a throwaway network namespace (the ruleset, the shaper) are kept in
            C(<state_dir>/.live-cache), keyed by the file's content, the kernel and the tool, so that an unchanged
            file is not built again on every run.
        type: list
        elements: dict
        suboptions:
          check:
            description:
              - "C(nftables): the running ruleset against the file loaded in a throwaway network namespace."
              - "C(networkd): the running interfaces (kind, VLAN id and parent, bond or bridge, addresses) against the
                systemd-networkd files under the path; an undeclared address or VLAN device is removed before the
                command runs. O(activate[].live[].args.moving) lists C({interface, address}) that keepalived adds on
                the active server of a pair (neither required nor removed)."
              - "C(sysctl): the kernel's values against the C(key = value) lines of the files under the path."
              - "C(services): the units named in O(activate[].live[].args.units) are active (a oneshot: exited
                successfully)."
              - "C(kea): Kea's running configuration (config-get on the control socket the file names) against the
                file: interfaces, subnets, pools, reservations, options."
              - "C(bridge): the VLANs (PVID, untagged) of every bridge port and the port flags against the networkd
                files under the path; a VLAN nobody declared is deleted, a missing one or a flag put back."
              - "C(shaping): the shaper's queues, classes and filters on the uplinks (O(activate[].live[].args.uplinks))
                against the script of the path run in a throwaway network namespace on dummy uplinks."
              - "C(unbound): Unbound's local zones and records (unbound-control) against the server clause of the file."
            type: str
            required: true
            choices: [bridge, kea, networkd, nftables, services, shaping, sysctl, unbound]
          path:
            description: The file or directory of O(files) that holds the intended state.
            type: path
            required: true
          args:
            description: What the check needs beyond the files (C(units) for services).
            type: dict
  confirm_timeout:
    description: Seconds after which the host restores the previous files unless confirmed; 0 disables.
    type: int
    default: 0
  activate_timeout:
    description:
      - With O(confirm_timeout) above 0, the seconds the activation and its live checks may take. The timer armed
        before the activation fires after O(confirm_timeout) plus these (an activation that never returns, or a module
        killed halfway, is undone then); once the activation is done it is replaced by the confirm window of
        O(confirm_timeout). A first activation takes a few seconds on a server and one to two minutes on the lab's
        emulated VMs.
    type: int
    default: 300
  confirm:
    description:
      - Confirm the last apply of O(name) (cancel its rollback timer) instead of applying. Fails with the rollback's
        time and reason when the host already rolled back.
    type: bool
    default: false
  state_dir:
    description: Where previous versions and rollback markers are kept on the host.
    type: path
    default: /var/lib/ktc-apply
author:
  - Diskominfo KSB network team
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Install and load the firewall, rolled back by the host unless confirmed within 60 s
  ktc_apply:
    name: firewall
    files:
      - path: /etc/nftables.conf
        content: "{{ lookup('ansible.builtin.template', 'etc/nftables.conf.j2') }}"
        validate: nft -c -f %s
    activate:
      - command: nft -f /etc/nftables.conf
        units: [nftables]
    confirm_timeout: 60
  register: firewall_apply

- name: Confirm over a new connection
  ktc_apply:
    name: firewall
    confirm: true
"""

RETURN = r"""
changed_files:
  description: Paths installed or removed by this run.
  returned: success
  type: list
  elements: str
  sample: ["/etc/nftables.conf"]
activated:
  description: Activation commands that ran.
  returned: success
  type: list
  elements: str
live_drift:
  description: For each function whose running state differed from the repository, what differs (also in check mode).
  returned: success
  type: list
  elements: str
  sample: ["live ruleset differs from /etc/nftables.conf (- live, + repository): -accept"]
rollback_armed:
  description: Whether a rollback timer now waits for confirmation.
  returned: success
  type: bool
confirm_command:
  description:
    - With RV(rollback_armed), the command that confirms the change on the host (a shell script in the bundle's state,
      run as root). Exit 0 confirmed; 3 the host had rolled back, its record printed. A confirm costs no Python start
      on the host that way (C(ansible.builtin.raw)); O(confirm=true) runs the same script.
  returned: when the rollback is armed
  type: str
  sample: /bin/sh /var/lib/ktc-apply/firewall/confirm.sh
rolled_back:
  description: With O(confirm), the host's record of a rollback (time and reason), if one happened.
  returned: when a rollback happened
  type: str
"""

import fnmatch
import glob
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text

try:
    from ansible.module_utils.ktc_live import CHECKS, summary, use_cache
except ImportError:  # run as a script by the unit tests: the project's module_utils sit beside this directory
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils"))
    from ktc_live import CHECKS, summary, use_cache  # noqa: E402 pylint: disable=wrong-import-position

ROLLBACK_SCRIPT = """#!/bin/sh
# Written by ktc_apply: restore the previous files of bundle {name} and activate them again.
# rollback.sh [--boot] [REASON]: with --boot (ktc-apply-boot.service, before the network and the daemons start), the
# files only: what starts later reads them.
boot=no
if [ "${{1:-}}" = --boot ]; then boot=yes; shift; fi
reason=${{1:-"not confirmed within {timeout} s"}}
# Under the bundle's lock, and only while the change is still pending: a confirm that came first wins.
exec 9>>{state}/lock
flock 9
[ -e {state}/pending ] || exit 0
cd {previous} && find . -type f | while read -r file; do
  mkdir -p "/$(dirname "$file")" && cp -a "$file" "/$file"
done
while read -r file; do rm -f "$file"; done < {state}/added.list
sync
if [ $boot = no ]; then
{activate}
fi
echo "$(date -Is) $reason" > {state}/rolled-back
rm -f {state}/pending
sync
logger -t ktc-apply "bundle {name}: rolled back to the previous files: $reason" || true
"""

CONFIRM_SCRIPT = """#!/bin/sh
# Written by ktc_apply: confirm the change of bundle {name}, i.e. cancel its rollback timers, unless the host has
# rolled back already. Exit 0 confirmed; 3 rolled back (the record printed). Under the bundle's lock, as the rollback.
exec 9>>{state}/lock
flock 9
systemctl stop {timers} 2>/dev/null
systemctl reset-failed {units} 2>/dev/null
if [ -e {state}/rolled-back ]; then
  echo "ROLLBACK of bundle {name}: the host rolled back to its previous files at $(cat {state}/rolled-back)"
  exit 3
fi
rm -f {state}/pending
echo "bundle {name}: confirmed"
"""

# Early at boot: every bundle whose change was never confirmed gets its previous files back before anything reads them.
BOOT_UNIT_PATH = "/etc/systemd/system/ktc-apply-boot.service"
BOOT_UNIT = """# Written by ktc_apply: a change not confirmed before a reboot is rolled back before the network comes up.
[Unit]
Description=KTC: roll back the changes not confirmed before the reboot
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target systemd-sysctl.service systemd-udev-trigger.service systemd-networkd.service network-pre.target
Before=nftables.service kea-dhcp4-server.service unbound.service
Wants=network-pre.target

[Service]
Type=oneshot
# ($$ and %% are systemd's escapes of $ and %.)
ExecStart=/bin/sh -c 'for pending in {state_dir}/*/pending; do [ -e "$$pending" ] || continue; /bin/sh "$${{pending%%/pending}}/rollback.sh" --boot "the host restarted before the change was confirmed"; done; true'

[Install]
WantedBy=sysinit.target
"""


UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]*")
# A bundle's name goes into unit names, paths and scripts.
BUNDLE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def with_units(spec):
    """The activation's shell command, preceded by what its units need (O(activate[].units)): one daemon-reload only
    when a unit's file or drop-in changed under a loaded unit or a unit did not load (a file removed while it ran, and
    now back), and C(enable --no-reload) only for the units not enabled; a unit systemd never loaded is read on
    demand. Also run by the rollback script, so that a restored unit file is read again before its command."""
    units = spec.get("units") or []
    if not units:
        return spec["command"]
    names = " ".join(shlex.quote(unit) for unit in units)
    return ("(for unit in {names}; do case \"$(systemctl show -p LoadState -p NeedDaemonReload -- \"$unit\" | sort "
            "| tr '\\n' ' ')\" in 'LoadState=loaded NeedDaemonReload=no ') ;; *) systemctl daemon-reload; break ;; "
            "esac; done; "
            "enable=$(for unit in {names}; do systemctl is-enabled -q -- \"$unit\" || echo \"$unit\"; done); "
            "[ -z \"$enable\" ] || systemctl enable -q --no-reload -- $enable) && {command}"
            .format(names=names, command=spec["command"]))


def unit_name(name):
    return "ktc-rollback-%s" % name


def read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def current_mode(path):
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


def run(module, command):
    rc, out, err = module.run_command(command, use_unsafe_shell=True)
    return rc, to_text(out) + to_text(err)


def guard_name(name):
    """The timer that covers the activation itself (O(activate_timeout)), before the confirm window opens."""
    return "ktc-rollback-%s-activation" % name


def arm(module, unit, seconds, script, reason=None):
    return run(module, "systemd-run --quiet --unit=%s --on-active=%ds --timer-property=AccuracySec=1s /bin/sh %s%s"
               % (unit, seconds, script, " " + shlex.quote(reason) if reason else ""))


def disarm(module, name, units=None):
    for unit in units or (unit_name(name), guard_name(name)):
        module.run_command(["systemctl", "stop", unit + ".timer"])
        module.run_command(["systemctl", "reset-failed", unit + ".timer", unit + ".service"])


def write_confirm_script(module, state):
    name = module.params["name"]
    units = [unit_name(name), guard_name(name)]
    script = os.path.join(state, "confirm.sh")
    with open(script, "w") as handle:
        handle.write(CONFIRM_SCRIPT.format(name=name, state=shlex.quote(state),
                                           timers=" ".join(unit + ".timer" for unit in units),
                                           units=" ".join(unit + suffix for unit in units
                                                          for suffix in (".timer", ".service"))))
    os.chmod(script, 0o700)
    return "/bin/sh %s" % shlex.quote(script)


def confirm(module, state):
    if not os.path.isdir(state):
        module.exit_json(changed=False, confirmed=True)
    # The script the controller runs over a new connection (RV(confirm_command)); written again here, so that a state
    # left by an older ktc_apply is confirmed the same way.
    rc, output = run(module, write_confirm_script(module, state))
    if rc == 3:
        record = to_text(read(os.path.join(state, "rolled-back")) or b"").strip()
        module.fail_json(msg=output.strip(), rolled_back=record)
    if rc != 0:
        module.fail_json(msg="bundle %s: the confirm failed (rc=%d): %s" % (module.params["name"], rc, output.strip()))
    module.exit_json(changed=False, confirmed=True)


def ensure_boot_unit(module):
    """Install and enable ktc-apply-boot.service (no daemon-reload needed: it matters at the next boot)."""
    content = BOOT_UNIT.format(state_dir=module.params["state_dir"])
    if read(BOOT_UNIT_PATH) != to_bytes(content):
        handle, temp = tempfile.mkstemp(prefix=".ktc-", dir=os.path.dirname(BOOT_UNIT_PATH))
        with os.fdopen(handle, "w") as out:
            out.write(content)
        os.chmod(temp, 0o644)
        os.rename(temp, BOOT_UNIT_PATH)
    wants = os.path.join(os.path.dirname(BOOT_UNIT_PATH), "sysinit.target.wants")
    link = os.path.join(wants, os.path.basename(BOOT_UNIT_PATH))
    if not os.path.islink(link):
        if not os.path.isdir(wants):
            os.makedirs(wants, 0o755)
        os.symlink(BOOT_UNIT_PATH, link)


def plan(module):
    """What differs: (changes [(path, new_bytes or None, mode)], diffs)."""
    changes, diffs, wanted = [], [], set()
    for spec in module.params["files"]:
        path, content = spec["path"], to_bytes(spec["content"])
        mode = int(spec["mode"], 8)
        wanted.add(path)
        before = read(path)
        if before != content or current_mode(path) != mode:
            changes.append((path, content, mode, spec.get("validate")))
            diffs.append(dict(before_header=path, after_header=path, before=to_text(before or b""),
                              after=to_text(content)))
    for pattern in module.params["purge"]:
        for path in sorted(glob.glob(pattern)):
            if path not in wanted and os.path.isfile(path):
                changes.append((path, None, None, None))
                diffs.append(dict(before_header=path, after_header="(removed)", before=to_text(read(path)),
                                  after=""))
    return changes, diffs


def live_drift(module, keys=None):
    """{(activation index, check index): (check result, source path)} of the live checks whose function runs
    differently from its files (only ``keys`` when given)."""
    contents = dict((spec["path"], spec["content"]) for spec in module.params["files"])

    def runner(argv):
        rc, out, err = module.run_command(argv)
        return rc, to_text(out), to_text(err)

    drift = {}
    for index, spec in enumerate(module.params["activate"]):
        for number, live in enumerate(spec.get("live") or []):
            if keys is not None and (index, number) not in keys:
                continue
            if not any(path == live["path"] or path.startswith(live["path"].rstrip("/") + "/") for path in contents):
                module.fail_json(msg="bundle %s: the live check of `%s` names %s, which the bundle does not render"
                                 % (module.params["name"], spec["command"], live["path"]))
            try:
                result = CHECKS[live["check"]](runner, contents, live["path"], live.get("args") or {})
            except RuntimeError as exc:
                module.fail_json(msg="bundle %s: live check %s: %s" % (module.params["name"], live["check"], exc))
            if result["differs"]:
                drift[(index, number)] = (result, live["path"])
    return drift


def still_drift(module, keys, result, fail=True, settle=30):
    """After activation, the running state of each function whose check ran must be the repository's. Some settle
    after the command returns (networkd creates devices and addresses on its own time): asked again each second for
    up to ``settle`` seconds."""
    deadline = time.time() + settle
    found = live_drift(module, set(keys))
    while found and time.time() < deadline:
        time.sleep(1)
        found = live_drift(module, set(found))
    still = [summary(result_, source) for result_, source in found.values()]
    if still and fail:
        module.fail_json(msg="bundle %s: after activation %s" % (module.params["name"], "; ".join(still)), **result)
    return still


def stage(module, changes):
    """Write each new file beside its destination and validate it there; return {path: staged_path}."""
    staged = {}
    try:
        for path, content, mode, validate in changes:
            if content is None:
                continue
            directory = os.path.dirname(path)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            handle, temp = tempfile.mkstemp(prefix=".ktc-", dir=directory)
            with os.fdopen(handle, "wb") as out:
                out.write(content)
            os.chmod(temp, mode)
            staged[path] = temp
            if validate:
                rc, output = run(module, validate % temp)
                if rc != 0:
                    raise ValueError("%s was refused by `%s` (rc=%d); nothing was installed:\n%s"
                                     % (path, validate % path, rc, output.replace(temp, path)))
    except ValueError as exc:
        for temp in staged.values():
            os.unlink(temp)
        module.fail_json(msg=str(exc))
    return staged


def save_previous(module, state, changes, activate_commands):
    previous = os.path.join(state, "previous")
    if os.path.isdir(previous):
        shutil.rmtree(previous)
    os.makedirs(previous)
    added = []
    for path, _content, _mode, _validate in changes:
        if os.path.exists(path):
            target = os.path.join(previous, path.lstrip("/"))
            if not os.path.isdir(os.path.dirname(target)):
                os.makedirs(os.path.dirname(target))
            shutil.copy2(path, target)
        else:
            added.append(path)
    with open(os.path.join(state, "added.list"), "w") as handle:
        handle.write("".join(p + "\n" for p in added))
    script = os.path.join(state, "rollback.sh")
    with open(script, "w") as handle:
        handle.write(ROLLBACK_SCRIPT.format(name=module.params["name"], timeout=module.params["confirm_timeout"],
                                            previous=previous, state=state,
                                            activate="\n".join(activate_commands)))
    os.chmod(script, 0o700)
    return script


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
                validate=dict(type="str"),
            )),
            purge=dict(type="list", elements="str", default=[]),
            activate=dict(type="list", elements="dict", default=[], options=dict(
                command=dict(type="str", required=True),
                when_changed=dict(type="list", elements="str"),
                units=dict(type="list", elements="str"),
                live=dict(type="list", elements="dict", options=dict(
                    check=dict(type="str", required=True, choices=sorted(CHECKS)),
                    path=dict(type="path", required=True),
                    args=dict(type="dict"),
                )),
            )),
            confirm_timeout=dict(type="int", default=0),
            activate_timeout=dict(type="int", default=300),
            confirm=dict(type="bool", default=False),
            state_dir=dict(type="path", default="/var/lib/ktc-apply"),
        ),
        supports_check_mode=True,
    )
    name = module.params["name"]
    if not BUNDLE.fullmatch(name):
        module.fail_json(msg="`%s` is not a bundle name: 1 to 32 of [a-z0-9_-], starting with a letter or digit" % name)
    state = os.path.join(module.params["state_dir"], name)
    # The intended state the live checks build in throwaway namespaces, kept per content (ktc_live.use_cache).
    use_cache(os.path.join(module.params["state_dir"], ".live-cache"))
    for spec in module.params["activate"]:
        for unit in spec.get("units") or []:
            if not UNIT.fullmatch(unit):
                module.fail_json(msg="bundle %s: `%s` is not a systemd unit name (activate[].units of `%s`)"
                                 % (name, unit, spec["command"]))
    if module.params["confirm"]:
        if module.check_mode:
            module.exit_json(changed=False, confirmed=False)
        confirm(module, state)

    changes, diffs = plan(module)
    drift = live_drift(module)
    result = dict(changed=bool(changes or drift), changed_files=[c[0] for c in changes], activated=[],
                  rollback_armed=False, live_drift=[summary(found, source) for found, source in drift.values()])
    if module._diff:
        result["diff"] = diffs + [dict(before_header="%s (running)" % found["what"], after_header=source,
                                       before=found["live"], after=found["intended"])
                                  for found, source in drift.values()]
    if not (changes or drift) or module.check_mode:
        module.exit_json(**result)

    changed_paths = [c[0] for c in changes]
    # A command runs when a file it activates changed, or when its function's running state drifted.
    drifted = set(index for index, _number in drift)
    to_run = [index for index, spec in enumerate(module.params["activate"])
              if (changes and not spec.get("when_changed")) or index in drifted
              or any(fnmatch.fnmatch(path, pattern) for path in changed_paths for pattern in spec.get("when_changed") or [])]
    # After the commands, every live check of the activations that ran must hold.
    checked = [(index, number) for index in to_run for number in range(len(module.params["activate"][index].get("live") or []))]
    commands = [with_units(module.params["activate"][index]) for index in to_run]
    # What a check knows how to undo (an address or a VLAN device nobody declared) goes first.
    repairs = [argv for found, _source in drift.values() for argv in found["repairs"]]
    if not changes:
        for argv in repairs:
            rc, out, err = module.run_command(argv)
            result["activated"].append(" ".join(argv))
        # The files are the repository's already: only the running state is put back, nothing to roll back to.
        for command in commands:
            rc, output = run(module, command)
            result["activated"].append(command)
            if rc != 0:
                module.fail_json(msg="bundle %s: `%s` failed (rc=%d) putting back the running state:\n%s"
                                 % (name, command, rc, output), **result)
        still_drift(module, checked, result)
        module.exit_json(**result)
    all_commands = [with_units(spec) for spec in module.params["activate"]]

    staged = stage(module, changes)
    if not os.path.isdir(state):
        os.makedirs(state, 0o700)
    disarm(module, name)
    if os.path.exists(os.path.join(state, "rolled-back")):
        os.unlink(os.path.join(state, "rolled-back"))
    script = save_previous(module, state, changes, all_commands)

    if module.params["confirm_timeout"] > 0:
        # Armed before anything changes, so that even an activation that cuts the controller off is undone, and
        # pending before the timer, so that a reboot before the confirmation undoes it too.
        ensure_boot_unit(module)
        with open(os.path.join(state, "pending"), "w") as marker:
            marker.write(time.strftime("%Y-%m-%dT%H:%M:%S%z\n"))
        # The previous files and the marker reach the disk before anything changes: a power cut is a reboot too.
        os.sync()
        guard = module.params["confirm_timeout"] + module.params["activate_timeout"]
        rc, output = arm(module, guard_name(name), guard, script,
                         "the activation was not done and confirmed within %d s" % guard)
        if rc != 0:
            for temp in staged.values():
                os.unlink(temp)
            os.unlink(os.path.join(state, "pending"))
            module.fail_json(msg="cannot arm the rollback timer, nothing was installed: %s" % output)
        result["rollback_armed"] = True
        result["confirm_command"] = write_confirm_script(module, state)

    for path, content, _mode, _validate in changes:
        if content is None:
            os.unlink(path)
        else:
            os.rename(staged[path], path)

    for argv in repairs:
        module.run_command(argv)
        result["activated"].append(" ".join(argv))
    for command in commands:
        rc, output = run(module, command)
        result["activated"].append(command)
        if rc != 0:
            disarm(module, name)
            open(os.path.join(state, "pending"), "a").close()   # the script restores only a pending change
            run(module, "/bin/sh %s %s" % (script, "'activation failed: %s'" % command.replace("'", "")))
            module.fail_json(msg="bundle %s: `%s` failed (rc=%d); the previous files were restored and activated:\n%s"
                             % (name, command, rc, output), **result)
    still = still_drift(module, checked, result, fail=False)
    if still:
        disarm(module, name)
        open(os.path.join(state, "pending"), "a").close()
        run(module, "/bin/sh %s 'running state differs from the files after activation'" % script)
        module.fail_json(msg="bundle %s: after activation %s; the previous files were restored and activated"
                         % (name, "; ".join(still)), **result)
    if result["rollback_armed"]:
        # The controller's window to confirm opens now that the activation is done (as a commit confirmed counts from
        # the end of the commit); the guard armed before it only undoes an activation that never returns. Armed before
        # the guard is stopped, so that no moment goes uncovered.
        rc, output = arm(module, unit_name(name), module.params["confirm_timeout"], script)
        if rc != 0:
            module.fail_json(msg="bundle %s: cannot arm the confirm timer; the activation guard rolls back in %d s: %s"
                             % (name, module.params["confirm_timeout"] + module.params["activate_timeout"], output),
                             **result)
        disarm(module, name, [guard_name(name)])
    result["applied_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
