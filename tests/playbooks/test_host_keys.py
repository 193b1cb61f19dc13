"""Host keys of the network_cli devices (the Cisco switches): a job checks the key the inventory's known_hosts holds,
through the same network_cli, libssh and paramiko as production. The device is an SSH server on the loopback whose
host key the test controls (there is no Cisco switch in the lab): a shell that answers with an IOS prompt."""

import grp
import os
import pwd
import socket
import subprocess
import threading

import paramiko
import pytest
import yaml

from conftest import REPO

PROMPT = b"\r\nsw-peer#"
NSS_WRAPPER = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"  # Debian's libnss-wrapper (scripts/setup.sh)


class _Device(paramiko.ServerInterface):
    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL

    def get_allowed_auths(self, username):
        return "password"

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args):
        return True

    def check_channel_shell_request(self, channel):
        return True


def _cli(channel):
    """An IOS-like shell: each line echoed, then its output and the prompt."""
    channel.sendall(PROMPT)
    line = b""
    while True:
        data = channel.recv(1024)
        if not data:
            return
        line += data
        while b"\r" in line or b"\n" in line:
            command, _, line = line.replace(b"\r\n", b"\n").replace(b"\r", b"\n").partition(b"\n")
            output = b"Cisco IOS Software, peer of the host key test" if command.startswith(b"show version") else b""
            channel.sendall(command + b"\r\n" + output + PROMPT)


class SshDevice:
    """An SSH server on 127.0.0.1 with its own ECDSA host key (paramiko cannot generate ed25519); counts the connections that got past the key check."""

    def __init__(self):
        self.key = paramiko.ECDSAKey.generate()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.sessions = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def known_hosts_line(self, key=None):
        key = key or self.key
        return "[127.0.0.1]:%d %s %s\n" % (self.port, key.get_name(), key.get_base64())

    def _serve(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(client,), daemon=True).start()

    def _session(self, client):
        transport = paramiko.Transport(client)
        transport.add_server_key(self.key)
        try:
            transport.start_server(server=_Device())
            channel = transport.accept(30)
            if channel is not None:
                self.sessions += 1
                _cli(channel)
        except (paramiko.SSHException, EOFError, OSError):
            pass
        finally:
            transport.close()

    def close(self):
        self.listener.close()


@pytest.fixture
def device():
    server = SshDevice()
    yield server
    server.close()


def _other_key():
    return paramiko.ECDSAKey.generate()


def _run(tmp_path, device, known_hosts, ssh_type, stale_line=""):
    """site.yml's host key play, then a command on the device, as an AWX job would run them: the production inventory's
    Cisco group variables, ANSIBLE_HOST_KEY_CHECKING=False in the environment, a HOME of its own."""
    with open(os.path.join(REPO, "inventories", "production", "hosts.yml")) as handle:
        cisco = yaml.safe_load(handle)["all"]["children"]["access_switches"]["children"]["cisco_access_switches"]["vars"]
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    host = {"ansible_host": "127.0.0.1", "ansible_port": device.port, "ansible_user": "ktcadmin",
            "ansible_password": "peer", "ansible_network_cli_ssh_type": ssh_type, "ansible_connect_timeout": 10,
            "ansible_command_timeout": 20}
    connection = {key: cisco[key] for key in ("ansible_connection", "ansible_network_os", "ansible_host_key_checking")}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"access_switches": {"vars": connection, "hosts": {"sw-peer": host}}}}}))
    (inventory / "known_hosts").write_text(known_hosts)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    # libssh finds ~ in the password database, paramiko and Ansible in $HOME: the same directory on a laptop and in
    # AWX's execution environment (its entrypoint writes $HOME into /etc/passwd). nss_wrapper (libssh's own test
    # tool) gives this job a password database whose entry for the test's user has the test's HOME.
    (tmp_path / "passwd").write_text("%s:x:%d:%d::%s:/bin/sh\n" % (
        pwd.getpwuid(os.getuid()).pw_name, os.getuid(), os.getgid(), home))
    (tmp_path / "group").write_text("%s:x:%d:\n" % (grp.getgrgid(os.getgid()).gr_name, os.getgid()))
    (home / ".ssh" / "known_hosts").write_text(stale_line)
    playbook = tmp_path / "job.yml"
    playbook.write_text(yaml.safe_dump([
        {"name": "Host keys", "ansible.builtin.import_playbook": os.path.join(REPO, "playbooks", "host_keys.yml")},
        {"name": "A command on the device", "hosts": "access_switches", "gather_facts": False, "tasks": [
            {"name": "Show version", "ansible.netcommon.cli_command": {"command": "show version"},
             "register": "version"},
            {"name": "Print it", "ansible.builtin.debug": {"msg": "{{ version.stdout }}"}}]}]))
    env = dict(os.environ, HOME=str(home), ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_PERSISTENT_CONTROL_PATH_DIR=str(tmp_path / "pc"),
               LD_PRELOAD=NSS_WRAPPER, NSS_WRAPPER_PASSWD=str(tmp_path / "passwd"),
               NSS_WRAPPER_GROUP=str(tmp_path / "group"))
    completed = subprocess.run(["ansible-playbook", "-i", str(inventory), "-e",
                                "ktc_known_hosts_file=%s" % (inventory / "known_hosts"), str(playbook)],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    return completed.returncode, completed.stdout + completed.stderr, (home / ".ssh" / "known_hosts").read_text()


@pytest.mark.parametrize("ssh_type", ["libssh", "paramiko"])
def test_a_switch_with_the_inventorys_key_is_reached_even_where_the_controller_remembered_another(
        tmp_path, device, ssh_type):
    returncode, output, written = _run(tmp_path, device, device.known_hosts_line(), ssh_type,
                                       stale_line=device.known_hosts_line(_other_key()))
    assert returncode == 0, output[-3000:]
    assert "Cisco IOS Software, peer of the host key test" in output
    assert written.strip() == device.known_hosts_line().strip()


@pytest.mark.parametrize("ssh_type", ["libssh", "paramiko"])
def test_a_switch_whose_key_changed_fails_the_job_naming_it(tmp_path, device, ssh_type):
    # The controller remembered the device's real key; the inventory (the reviewed truth) says another: refused.
    returncode, output, _ = _run(tmp_path, device, device.known_hosts_line(_other_key()), ssh_type,
                                 stale_line=device.known_hosts_line())
    assert returncode != 0
    assert "fatal: [sw-peer]" in output, output[-3000:]
    assert "Cisco IOS Software" not in output and device.sessions == 0
    assert "host key" in output.lower() or "hostkey" in output.lower(), output[-3000:]


def test_a_switch_missing_from_known_hosts_is_refused_before_any_connection(tmp_path, device):
    returncode, output, written = _run(tmp_path, device, "# no key yet\n", "libssh")
    assert returncode != 0
    assert "sw-peer: no host key for 127.0.0.1" in output, output[-3000:]
    assert device.sessions == 0 and written == ""
