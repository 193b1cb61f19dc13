"""ktc_probe on this machine: the live checks against installed files, and one list of problems."""

import json
import os
import subprocess
import sys

MODULE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))), "plugins", "modules", "ktc_probe.py")


def probe(tmp_path, **args):
    path = tmp_path / "args.json"
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    completed = subprocess.run([sys.executable, MODULE, str(path)], capture_output=True, text=True)
    return json.loads(completed.stdout)


def test_a_kernel_setting_as_its_file_says_is_no_problem_and_another_is(tmp_path):
    with open("/proc/sys/net/ipv4/ip_forward") as handle:
        value = int(handle.read())
    (tmp_path / "same.conf").write_text("net.ipv4.ip_forward = %d\n" % value)
    (tmp_path / "other.conf").write_text("net.ipv4.ip_forward = %d\n" % (1 - value))
    result = probe(tmp_path, checks=[{"check": "sysctl", "path": str(tmp_path / "same.conf")}])
    assert result["problems"] == [] and result["checks"][0]["differs"] is False and result["changed"] is False
    result = probe(tmp_path, checks=[{"check": "sysctl", "path": str(tmp_path / "other.conf")}])
    assert result["problems"] == ["kernel state differs from %s (- live, + repository): -net.ipv4.ip_forward = %d; "
                                  "+net.ipv4.ip_forward = %d" % (tmp_path / "other.conf", value, 1 - value)]


def test_a_missing_or_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "kea.conf").write_text("garbage\n")
    result = probe(tmp_path, checks=[{"check": "unbound", "path": str(tmp_path / "absent.conf")},
                                     {"check": "kea", "path": str(tmp_path / "kea.conf")}])
    assert result["problems"][0] == "unbound: %s is missing" % (tmp_path / "absent.conf")
    assert result["problems"][1].startswith("kea: %s cannot be checked" % (tmp_path / "kea.conf"))


def _kea(tmp_path, state):
    """A control socket that answers ha-heartbeat as Kea's HA hook does, in ``state``."""
    import socket
    import threading

    path = str(tmp_path / ("kea-%s.sock" % state))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)

    def serve():
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            request = json.loads(client.recv(4096).decode())
            answer = {"result": 0, "arguments": {"state": state, "unsent-update-count": 0}} \
                if request["command"] == "ha-heartbeat" else {"result": 2}
            client.sendall(json.dumps(answer).encode())
            client.close()

    threading.Thread(target=serve, daemon=True).start()
    return path, server


def test_a_server_of_a_pair_is_ready_holds_the_gateways_and_shares_its_leases_or_says_which_it_does_not(tmp_path):
    ready = tmp_path / "ready"
    in_sync, first = _kea(tmp_path, "hot-standby")
    alone, second = _kea(tmp_path, "partner-down")
    active = tmp_path / "uplink"
    uplinks = [{"name": "primary", "gateway": "127.0.0.1"}]
    try:
        ready.write_text("1\n")
        active.write_text("primary\n")
        # 127.0.0.1 stands for the management gateway this host holds.
        result = probe(tmp_path, pair={"ready_file": str(ready), "gateway": "127.0.0.1", "kea_socket": in_sync},
                       uplinks=uplinks, active_uplink_file=str(active))
        assert result["pair"] == {"holds": True, "ready": 1, "dhcp_ha": "hot-standby"} and result["problems"] == []

        # The standby server: the gateway is elsewhere and the monitor says so; a monitor that routes is a problem.
        active.write_text("standby\n")
        result = probe(tmp_path, pair={"ready_file": str(ready), "gateway": "192.0.2.1", "kea_socket": in_sync},
                       uplinks=uplinks, active_uplink_file=str(active))
        assert result["pair"]["holds"] is False and result["problems"] == []
        active.write_text("primary\n")
        result = probe(tmp_path, pair={"ready_file": str(ready), "gateway": "192.0.2.1", "kea_socket": in_sync},
                       uplinks=uplinks, active_uplink_file=str(active))
        assert result["problems"] == ["uplink monitor: says 'primary' on the standby server of the pair "
                                      "(expected standby)"]

        # Freed for maintenance, its peer's Kea gone, or no Kea at all.
        ready.write_text("-1\n")
        result = probe(tmp_path, pair={"ready_file": str(ready), "gateway": "127.0.0.1", "kea_socket": alone})
        assert result["pair"] == {"holds": True, "ready": -1, "dhcp_ha": "partner-down"}
        assert [line.split(" (")[0] for line in result["problems"]] == [
            "core pair: this server is not ready to hold the gateways",
            "core pair: Kea's HA is in state partner-down, not hot-standby: the servers do not share their leases"]
        result = probe(tmp_path, pair={"ready_file": str(tmp_path / "absent"), "gateway": "127.0.0.1",
                                       "kea_socket": str(tmp_path / "none.sock")})
        assert result["pair"] == {"holds": True, "ready": None, "dhcp_ha": None} and len(result["problems"]) == 2
        assert "says nothing" in result["problems"][0] and "state unknown" in result["problems"][1]
    finally:
        first.close()
        second.close()
