# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monthly report per office (issue "See the network"), for Diskominfo's SPBE reporting: traffic each way, the
busiest hours of the day, the time spent at the ceiling, and the uplinks' availability, from the metrics Prometheus
stored on core; written as Markdown in English and Bahasa Indonesia, with an SVG chart of each office's hours.

The questions are PromQL over the month (:func:`queries`); the answers (Prometheus' "result" lists) are turned into
the report here, on the controller. No Ansible import: unit-tested on answers shaped like Prometheus' own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import html
import re

import ktc_site

STEP = 300      # seconds: the resolution of "time at the ceiling" and of the hours of the day
OFFICE_CLASSES = 'kind="office"'

TEXT = {
    "en": {"title": "KTC network: monthly report", "month": "Month", "office": "Office", "down": "Downloaded",
           "up": "Uploaded", "peak": "Busiest hour", "ceiling": "Time at ceiling", "uplinks": "Uplinks",
           "uplink": "Uplink", "share": "Share of the month", "in_use": "In use (preferred)", "internet": "Internet reachable through an uplink",
           "hours": "Traffic by hour of day (average bit/s, both ways)", "generated": "Generated from Prometheus on "
           "core; times in", "no_data": "no data"},
    "id": {"title": "Jaringan KTC: laporan bulanan", "month": "Bulan", "office": "OPD", "down": "Unduhan",
           "up": "Unggahan", "peak": "Jam tersibuk", "ceiling": "Waktu di batas atas", "uplinks": "Uplink",
           "uplink": "Uplink", "share": "Bagian dari bulan", "in_use": "Dipakai (utama)", "internet": "Internet terjangkau lewat satu uplink",
           "hours": "Lalu lintas per jam (rata-rata bit/s, dua arah)", "generated": "Dibuat dari Prometheus di core; "
           "waktu dalam", "no_data": "tidak ada data"},
}


def month_range(year, month, timezone="Asia/Makassar"):
    """(start, end) Unix times of the calendar month in the site's time zone."""
    from zoneinfo import ZoneInfo  # pylint: disable=import-outside-toplevel  (Python 3.9+, the controller's)
    zone = ZoneInfo(timezone)
    start = datetime.datetime(year, month, 1, tzinfo=zone)
    end = start + datetime.timedelta(days=calendar.monthrange(year, month)[1])
    return int(start.timestamp()), int(end.timestamp())


def queries(start, end, preferred_uplink, ceiling_ratio=0.95):
    """{name: (kind, promql, time)}: "instant" queries evaluated at ``end`` over the whole month, "range" queries
    sampled every STEP seconds from ``start`` to ``end``."""
    window = "%ds" % (end - start)
    rate = "rate(ktc_shaping_bytes_total{%s}[5m])" % OFFICE_CLASSES
    return {
        "bytes": ("instant", "sum by (office, direction) (increase(ktc_shaping_bytes_total{%s}[%s]))"
                  % (OFFICE_CLASSES, window)),
        "throughput": ("range", "sum by (office) (%s) * 8" % rate),
        "at_ceiling": ("range", "max by (office) ((%s * 8) >= bool (%s * ktc_shaping_ceiling_bits_per_second))"
                       % (rate, ceiling_ratio)),
        "preferred": ("instant", 'avg_over_time(ktc_uplink_active{family="ipv4",uplink="%s"}[%s])'
                      % (preferred_uplink, window)),
        "internet": ("instant", 'avg_over_time((max(ktc_uplink_active{family="ipv4"}))[%s:%ds])' % (window, STEP)),
    }


_MONTH_RE = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")


def month_of(text, now, timezone="Asia/Makassar"):
    """(year, month) of ``text`` ("YYYY-MM", report_month); empty: the month before the one ``now`` (Unix time) falls
    in at the site. Raises ValueError naming the field and the form."""
    if not text:
        from zoneinfo import ZoneInfo  # pylint: disable=import-outside-toplevel
        today = datetime.datetime.fromtimestamp(now, ZoneInfo(timezone))
        return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    match = _MONTH_RE.fullmatch(str(text))
    if not match:
        raise ValueError("report_month: %r is not a month such as 2026-11 (empty: last month)" % (text,))
    return int(match.group(1)), int(match.group(2))


def questions(year, month, preferred_uplink, timezone="Asia/Makassar"):
    """{start, end, month, questions}: :func:`queries` of the month as the ktc_prometheus_query module takes them."""
    start, end = month_range(year, month, timezone)
    found = {}
    for name, (kind, promql) in queries(start, end, preferred_uplink).items():
        found[name] = ({"kind": kind, "promql": promql, "start": start, "end": end, "step": STEP} if kind == "range"
                       else {"kind": kind, "promql": promql, "time": end})
    return {"start": start, "end": end, "month": "%04d-%02d" % (year, month), "questions": found}


def files(answers, asked, preferred_uplink, timezone="Asia/Makassar"):
    """[{path, content}] of the report from the ``answers`` to :func:`questions`' ``asked``: the report in English and
    in Bahasa Indonesia, and a chart per office (an office label that is not an office id is left out: read back,
    never trusted: the site model's grammar, ktc_site.ID_RE)."""
    data = dict(answers, start=asked["start"], end=asked["end"], preferred_uplink=preferred_uplink)
    report = build(data, timezone)
    report["offices"] = dict((office, found) for office, found in report["offices"].items()
                             if ktc_site.ID_RE.fullmatch(office))
    found = [{"path": "report.%s.md" % lang, "content": markdown(report, lang, timezone)} for lang in ("en", "id")]
    found += [{"path": "charts/%s-hours.svg" % office, "content": hours_svg(report["offices"][office]["hours"], office)}
              for office in sorted(report["offices"])]
    return found


def gather(query, query_range, start, end, preferred_uplink):
    """The answers to :func:`queries` (``query(promql, time)``, ``query_range(promql, start, end, step)``)."""
    data = {"start": start, "end": end, "preferred_uplink": preferred_uplink}
    for name, (kind, promql) in queries(start, end, preferred_uplink).items():
        data[name] = query_range(promql, start, end, STEP) if kind == "range" else query(promql, end)
    return data


def build(data, timezone="Asia/Makassar"):
    """{offices: {office: {down, up (bytes), hours [24 average bit/s], peak_hour, at_ceiling (share)}}, preferred,
    internet (shares of the month)} from :func:`gather`'s answers; hours in the site's time zone."""
    from zoneinfo import ZoneInfo  # pylint: disable=import-outside-toplevel
    zone = ZoneInfo(timezone)
    offices = {}

    def office(name):
        return offices.setdefault(name, {"down": 0, "up": 0, "hours": [0.0] * 24, "peak_hour": None,
                                         "at_ceiling": 0.0})

    for item in data["bytes"]:
        direction = "down" if item["metric"].get("direction") == "download" else "up"
        office(item["metric"].get("office", ""))[direction] = int(round(float(item["value"][1])))
    for item in data["throughput"]:
        sums, counts = [0.0] * 24, [0] * 24
        for moment, value in item["values"]:
            hour = datetime.datetime.fromtimestamp(float(moment), zone).hour
            sums[hour] += float(value)
            counts[hour] += 1
        found = office(item["metric"].get("office", ""))
        found["hours"] = [sums[h] / counts[h] if counts[h] else 0.0 for h in range(24)]
        if any(found["hours"]):
            found["peak_hour"] = max(range(24), key=lambda h: found["hours"][h])
    samples = max(1, (data["end"] - data["start"]) // STEP)
    for item in data["at_ceiling"]:
        office(item["metric"].get("office", ""))["at_ceiling"] = sum(
            1 for _moment, value in item["values"] if float(value) >= 1) / samples

    def share(result):
        return float(result[0]["value"][1]) if result else None
    return {"offices": offices, "preferred": share(data["preferred"]), "internet": share(data["internet"]),
            "preferred_uplink": data["preferred_uplink"], "start": data["start"], "end": data["end"]}


def _size(count):
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return "%.1f %s" % (count / size, unit)
    return "%d B" % count


def _share(value):
    return "-" if value is None else "%.2f %%" % (value * 100)


def hours_svg(hours, label):
    """A bar chart of the 24 hours of the day (average bit/s), an SVG document."""
    width, height, bar = 480, 140, 20
    top = max(hours + [1])
    bars = "".join('<rect x="%d" y="%.1f" width="%d" height="%.1f"><title>%02d:00 %d bit/s</title></rect>' % (
        hour * bar, height - 20 - value / top * (height - 30), bar - 2, value / top * (height - 30), hour, value)
        for hour, value in enumerate(hours))
    ticks = "".join('<text x="%d" y="%d" font-size="10">%02d</text>' % (hour * bar + 2, height - 6, hour)
                    for hour in range(0, 24, 3))
    return ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" '
            'aria-label="%s"><g fill="#1f77b4">%s</g>%s</svg>\n' % (width, height, width, height,
                                                                     html.escape(label, quote=True), bars, ticks))


def markdown(report, lang="en", timezone="Asia/Makassar", charts="charts"):
    """The report as Markdown in ``lang``; each office's chart is linked as ``charts``/<office>-hours.svg."""
    text = TEXT[lang if lang in TEXT else "en"]
    from zoneinfo import ZoneInfo  # pylint: disable=import-outside-toplevel
    month = datetime.datetime.fromtimestamp(report["start"], ZoneInfo(timezone)).strftime("%Y-%m")
    lines = ["# %s %s" % (text["title"], month), "",
             "| %s | %s | %s | %s | %s |" % (text["office"], text["down"], text["up"], text["peak"], text["ceiling"]),
             "| --- | ---: | ---: | ---: | ---: |"]
    for name in sorted(report["offices"]):
        found = report["offices"][name]
        lines.append("| %s | %s | %s | %s | %s |" % (
            name, _size(found["down"]), _size(found["up"]),
            "%02d:00" % found["peak_hour"] if found["peak_hour"] is not None else text["no_data"],
            _share(found["at_ceiling"])))
    lines += ["", "## %s" % text["uplinks"], "",
              "| %s | %s |" % (text["uplink"], text["share"]), "| --- | ---: |",
              "| %s: %s | %s |" % (text["in_use"], report["preferred_uplink"], _share(report["preferred"])),
              "| %s | %s |" % (text["internet"], _share(report["internet"])), "",
              "## %s" % text["hours"], ""]
    for name in sorted(report["offices"]):
        lines.append("### %s\n\n![%s](%s/%s-hours.svg)\n" % (name, name, charts, name))
    lines.append("%s %s." % (text["generated"], timezone))
    return "\n".join(lines) + "\n"
