"""The monthly report job (playbooks/report.yml) on the controller, against a real Prometheus (Debian's, the one core
runs; scripts/setup.sh takes it out of the package) holding a month of KTC's series, written with `promtool tsdb
create-blocks-from openmetrics`: three days of November 2026 in KTC's time zone (a month of samples takes promtool
minutes), dukcapil downloading 1 Mbit/s and 8 Mbit/s (its ceiling) from 10:00 to 11:00 WITA every day, bkpsdm
0.5 Mbit/s, the preferred uplink out of use for six hours on the 15th. The job runs with core as the controller
itself (its questions go to that Prometheus), and the numbers in the report are the ones those series give."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ElementTree

import pytest
import yaml

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "plugins", "module_utils"))
import ktc_report  # noqa: E402  pylint: disable=wrong-import-position

START, END = ktc_report.month_range(2026, 11)
DAYS = (START + 13 * 86400, START + 16 * 86400)                     # the 14th to the 16th, WITA
SAMPLE_S = 120
OUTAGE = (START + 14 * 86400, START + 14 * 86400 + 6 * 3600)       # the 15th, 00:00-06:00 WITA


def office_rate(office, direction, moment):
    """Bytes per second of the office's class at ``moment``."""
    if office == "bkpsdm":
        return 62500 if direction == "download" else 0
    busy = (moment - START) % 86400 // 3600 == 10                   # 10:00-11:00 WITA
    return (1000000 if busy else 125000) if direction == "download" else 12500


def openmetrics(path):
    moments = range(DAYS[0], DAYS[1], SAMPLE_S)
    labels = {(office, direction): 'direction="%s",kind="office",office="%s",uplink="primary"' % (direction, office)
              for office in ("bkpsdm", "dukcapil") for direction in ("download", "upload")}
    with open(path, "w") as out:
        out.write("# TYPE ktc_shaping_bytes_total gauge\n")
        for (office, direction), text in labels.items():
            total = 0
            for moment in moments:
                total += office_rate(office, direction, moment) * SAMPLE_S
                out.write("ktc_shaping_bytes_total{%s} %d %d\n" % (text, total, moment))
        out.write("# TYPE ktc_shaping_ceiling_bits_per_second gauge\n")
        for (office, direction), text in labels.items():
            for moment in moments:
                out.write("ktc_shaping_ceiling_bits_per_second{%s} %d %d\n"
                          % (text, 8000000 if office == "dukcapil" else 10000000, moment))
        out.write("# TYPE ktc_uplink_active gauge\n")
        for uplink in ("primary", "backup"):
            for moment in moments:
                out_of_use = OUTAGE[0] <= moment < OUTAGE[1]
                out.write('ktc_uplink_active{family="ipv4",uplink="%s"} %d %d\n'
                          % (uplink, int(out_of_use == (uplink == "backup")), moment))
        out.write("# EOF\n")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """Prometheus on loopback with the month's series; yields its URL."""
    binaries = [shutil.which(name) for name in ("prometheus", "promtool")]
    assert all(binaries), "prometheus or promtool is missing: scripts/setup.sh puts them in the venv"
    work = tmp_path_factory.mktemp("prometheus")
    openmetrics(work / "month.om")
    subprocess.run([binaries[1], "tsdb", "create-blocks-from", "openmetrics", str(work / "month.om"), str(work / "tsdb")],
                   check=True, capture_output=True, timeout=300)
    (work / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    process = subprocess.Popen([binaries[0], "--config.file=%s" % (work / "prometheus.yml"),
                                "--storage.tsdb.path=%s" % (work / "tsdb"), "--storage.tsdb.retention.time=100y",
                                "--web.listen-address=127.0.0.1:%d" % port], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(120):
            try:
                if urllib.request.urlopen(url + "/-/ready", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def core_here(tmp_path):
    """An inventory that puts the lab's core on the controller (local connection), beside the lab's own."""
    path = tmp_path / "core-here.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"lab_vms": {"children": {"core_routers": {"hosts": {"core": {
        "ansible_connection": "local", "ansible_become": False, "ansible_python_interpreter": sys.executable}}}}}}}}))
    return [os.path.join(REPO, "inventories", "lab"), str(path)]


def row(markdown, first):
    return next(line.split(" | ") for line in markdown.splitlines() if line.startswith("| %s |" % first))


def test_the_report_of_a_month_says_what_its_series_say(playbook, prometheus, core_here, tmp_path):
    run = playbook("report.yml", inventory=core_here, limit="core", extra_vars={
        "report_month": "2026-11", "report_dir": str(tmp_path / "reports"), "report_prometheus": prometheus})
    assert run.returncode == 0, run.stderr + str(run.data)[-3000:]
    month = tmp_path / "reports" / "2026-11"
    english = (month / "report.en.md").read_text()
    # dukcapil: 30 days of 23 h at 1 Mbit/s and 1 h at 8 Mbit/s = 418.5 GB down; 12.5 kB/s up = 32.4 GB.
    dukcapil = row(english, "dukcapil")
    # dukcapil: 3 days of 23 h at 1 Mbit/s and 1 h at 8 Mbit/s = 41.85 GB down; 12.5 kB/s up = 3.24 GB.
    assert re.match(r"41\.[6-9] GB", dukcapil[1]) and dukcapil[2].startswith("3.2"), dukcapil
    # Its busiest hour is 10:00 WITA; at its ceiling about 55 minutes a day (rate over 5 minutes rises into the busy
    # hour): 3 x 55 of the month's 43200 minutes, 0.38 %.
    assert dukcapil[3] == "10:00" and 0.35 <= float(dukcapil[4].split()[0]) <= 0.42, dukcapil
    bkpsdm = row(english, "bkpsdm")
    assert bkpsdm[1].startswith("16.") and float(bkpsdm[4].split()[0]) == 0, bkpsdm
    # The preferred uplink out of use for 6 of the 72 hours with samples; the internet reachable through one all along.
    preferred = float(row(english, "In use (preferred): primary")[1].split()[0])
    assert 91.0 <= preferred <= 92.0, preferred
    assert row(english, "Internet reachable through an uplink")[1].startswith("100.00")
    assert "Jam tersibuk" in (month / "report.id.md").read_text()
    chart = ElementTree.parse(month / "charts" / "dukcapil-hours.svg").getroot()
    heights = [float(bar.get("height")) for bar in chart.iter("{http://www.w3.org/2000/svg}rect")]
    assert len(heights) == 24 and heights.index(max(heights)) == 10


def test_a_month_that_is_not_one_is_refused_before_prometheus_is_asked(playbook, core_here, tmp_path):
    run = playbook("report.yml", inventory=core_here, limit="core", extra_vars={
        "report_month": "2026-11; rm -rf /", "report_dir": str(tmp_path / "reports"),
        "report_prometheus": "http://127.0.0.1:1"})
    assert run.returncode != 0
    assert "report_month: '2026-11; rm -rf /' is not a month such as 2026-11" in str(run.data)
    assert not (tmp_path / "reports").exists()
