"""roles/metrics' exporter as a real process on the controller: it serves /metrics in Prometheus' text format, says
which of its sources it could not read (the controller runs no Kea, no Unbound and no shaper) instead of failing the
scrape, answers the page with 503 while Prometheus does not answer, and serves nothing else."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
EXPORTER = os.path.join(REPO, "roles", "metrics", "files", "usr", "local", "sbin", "ktc-exporter")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def exporter(tmp_path):
    port = free_port()
    config = tmp_path / "metrics.json"
    # Prometheus "at" a port nothing listens on.
    config.write_text(json.dumps({"listen": ["127.0.0.1", port], "prometheus": "http://127.0.0.1:%d" % free_port(),
                                  "classes": {"2": {"office": "", "kind": "unclassified"}},
                                  "subnets": {}, "uplinks": [{"name": "primary", "interface": "ktc-none0",
                                                              "ifb": "ifb-primary"}]}))
    process = subprocess.Popen([sys.executable, EXPORTER, str(config)],
                               env=dict(os.environ, PYTHONPATH=os.path.join(REPO, "plugins", "module_utils")))
    url = "http://127.0.0.1:%d" % port
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.time() < deadline, "the exporter did not start"
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(10)


def test_a_scrape_is_prometheus_text_with_each_collectors_state(exporter):
    with urllib.request.urlopen(exporter + "/metrics", timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        body = response.read().decode()
    families = dict((family.name, family) for family in text_string_to_metric_families(body))
    up = dict((sample.labels["collector"], sample.value) for sample in families["ktc_collector_up"].samples)
    assert set(up) == {"shaping", "dhcp", "dns", "conntrack", "uplink"}
    assert up["shaping"] == up["dhcp"] == 0          # no such device here, no Kea here
    assert up["uplink"] == 1                          # no monitor's file: no uplink in use, which is an answer
    assert [s.value for s in families["ktc_uplink_active"].samples] == [0, 0]


def test_the_page_without_prometheus_says_so_and_nothing_else_is_served(exporter):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(exporter + "/?lang=id", timeout=30)
    assert error.value.code == 503 and b"Prometheus does not answer" in error.value.read()
    for path in ("/etc/ktc/metrics.json", "/../metrics.json", "/metrics/x"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(exporter + path, timeout=30)
        assert error.value.code == 404, path
