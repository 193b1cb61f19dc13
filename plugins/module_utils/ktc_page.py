# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NOC's page of the network (issue "See the network"): per-office throughput over the last 24 hours against its
guarantee and ceiling, the uplink in use, DHCP pool use, open events, the last drift check and verify, the alerts
firing; in English or Bahasa Indonesia.

One self-contained HTML document (inline CSS and SVG, no script, nothing fetched from elsewhere: the NOC's browser may
have no internet), rendered on core by the exporter from Prometheus' HTTP API. Every value printed is escaped: label
values come from the site model, but the page treats them as text, never as markup.

No Ansible import: the exporter runs it on core; the unit tests feed it answers of Prometheus' API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import html

# What the page asks Prometheus: (instant or range, PromQL).
QUERIES = {
    "throughput": ("range", 'sum by (office, direction) (rate(ktc_shaping_bytes_total{kind=~"office|event"}[5m])) * 8'),
    "guaranteed": ("instant", 'max by (office, direction) (ktc_shaping_guaranteed_bits_per_second{kind=~"office|event"})'),
    "ceiling": ("instant", 'max by (office, direction) (ktc_shaping_ceiling_bits_per_second{kind=~"office|event"})'),
    "uplink": ("instant", "ktc_uplink_active == 1"),
    "gateways_down": ("instant", "ktc_uplink_gateway_up == 0"),
    "assigned": ("instant", "ktc_dhcp_addresses_assigned"),
    "total": ("instant", "ktc_dhcp_addresses_total"),
    "events": ("instant", "ktc_event_ends_timestamp_seconds"),
    "drift": ("instant", "ktc_drift_findings"),
    "drift_time": ("instant", "ktc_drift_check_timestamp_seconds"),
    # Every device verify checked (one series each, labelled device): the problems summed, the oldest check.
    "verify": ("instant", "sum(ktc_verify_problems)"),
    "verify_time": ("instant", "min(ktc_verify_timestamp_seconds)"),
    "alerts": ("instant", 'ALERTS{alertstate="firing"}'),
    # A server of a pair: whether it holds the gateways, its readiness, Kea's HA state (none with one core).
    "core_active": ("instant", "ktc_core_active"),
    "core_ready": ("instant", "ktc_core_ready"),
    "dhcp_ha": ("instant", "ktc_dhcp_ha_state == 1"),
}
HOURS = 24
STEP = 600      # seconds between the points of a 24-hour chart

TEXT = {
    "en": {"title": "KTC network", "updated": "Updated", "offices": "Offices: throughput, last 24 hours",
           "download": "download", "upload": "upload", "guaranteed": "guaranteed", "ceiling": "ceiling",
           "uplink": "Uplink in use", "none": "none",
           "gateway_down": "Gateway not answering", "pools": "DHCP pools", "segment": "Segment",
           "used": "used", "of": "of", "events": "Open events", "ends": "ends", "no_events": "No open event.",
           "checks": "Last checks", "drift": "Drift check", "verify": "Verify", "differences": "difference(s)",
           "problems": "problem(s)", "ok": "OK", "never": "no result yet", "alerts": "Alerts firing",
           "no_alerts": "No alert.", "other": "Bahasa Indonesia", "other_lang": "id", "no_data": "no data",
           "core": "This core server", "active": "active: holds the gateways", "standby": "standby",
           "ready": {1: "ready", 0: "not converged since it started: run the main job",
                     -1: "freed for maintenance: run the main job when done"},
           "dhcp_ha": "DHCP HA"},
    "id": {"title": "Jaringan KTC", "updated": "Diperbarui", "offices": "OPD: lalu lintas, 24 jam terakhir",
           "download": "unduh", "upload": "unggah", "guaranteed": "dijamin", "ceiling": "batas atas",
           "uplink": "Uplink yang dipakai", "none": "tidak ada",
           "gateway_down": "Gateway tidak menjawab", "pools": "Pool DHCP", "segment": "Segmen",
           "used": "terpakai", "of": "dari", "events": "Acara berjalan", "ends": "berakhir",
           "no_events": "Tidak ada acara.", "checks": "Pemeriksaan terakhir", "drift": "Pemeriksaan drift",
           "verify": "Verifikasi", "differences": "perbedaan", "problems": "masalah", "ok": "OK",
           "never": "belum ada hasil", "alerts": "Peringatan aktif", "no_alerts": "Tidak ada peringatan.",
           "other": "English", "other_lang": "en", "no_data": "tidak ada data",
           "core": "Server core ini", "active": "aktif: memegang gateway", "standby": "siaga",
           "ready": {1: "siap", 0: "belum di-converge sejak menyala: jalankan job utama",
                     -1: "dibebaskan untuk pemeliharaan: jalankan job utama setelah selesai"},
           "dhcp_ha": "HA DHCP"},
}


def gather(query, query_range, now):
    """Everything the page shows: ``query(promql)`` and ``query_range(promql, start, end, step)`` give the "result" of
    Prometheus' /api/v1/query and /api/v1/query_range; ``now`` is Unix time."""
    data = {"now": now}
    for name, (kind, promql) in QUERIES.items():
        if kind == "range":
            data[name] = query_range(promql, now - HOURS * 3600, now, STEP)
        else:
            data[name] = query(promql)
    return data


def _when(moment, zone=None):
    """A time as the site reads it: in its time zone (``zone``, a ZoneInfo; WITA at KTC), or UTC."""
    return datetime.datetime.fromtimestamp(float(moment), zone or datetime.timezone.utc).strftime("%Y-%m-%d %H:%M %Z")


def _e(value):
    return html.escape(str(value), quote=True)


def _rate(bits):
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits >= size:
            return "%.1f %s" % (bits / size, unit)
    return "%d bit/s" % bits


def _instant(result, *keys):
    """{(label values of ``keys``): value} of an instant query's result."""
    return dict((tuple(item["metric"].get(key, "") for key in keys), float(item["value"][1])) for item in result)


def _chart(office, series, guaranteed, ceiling, now, text):
    """An SVG chart of one office: download and upload over 24 hours, with its guarantee and ceiling (per direction,
    the highest of the two drawn)."""
    width, height = 480, 120
    top = max([ceiling.get((office, d), 0) for d in ("download", "upload")] +
              [value for points in series.values() for _t, value in points] + [1])
    start = now - HOURS * 3600

    def x(moment):
        return round((moment - start) / (HOURS * 3600) * width, 1)

    def y(value):
        return round(height - value / top * (height - 4), 1)

    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" '
             'aria-label="%s">' % (width, height, width, height, _e(office))]
    for name, value, css in (("ceiling", max(ceiling.get((office, d), 0) for d in ("download", "upload")), "ceil"),
                             ("guaranteed", max(guaranteed.get((office, d), 0) for d in ("download", "upload")),
                              "guar")):
        if value:
            parts.append('<line class="%s" x1="0" x2="%d" y1="%s" y2="%s"><title>%s %s</title></line>'
                         % (css, width, y(value), y(value), _e(text[name]), _e(_rate(value))))
    for direction in ("download", "upload"):
        points = series.get(direction) or []
        if points:
            parts.append('<polyline class="%s" points="%s"><title>%s</title></polyline>' % (
                direction, " ".join("%s,%s" % (x(moment), y(value)) for moment, value in points),
                _e(text[direction])))
    parts.append("</svg>")
    return "".join(parts)


STYLE = """body{font-family:sans-serif;margin:1em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.2em}
.office{display:inline-block;margin:0 1em 1em 0;vertical-align:top}svg{border:1px solid #ccc;background:#fafafa}
polyline{fill:none;stroke-width:1.5}.download{stroke:#1f77b4}.upload{stroke:#ff7f0e}line.ceil{stroke:#d62728;
stroke-dasharray:4 3}line.guar{stroke:#2ca02c;stroke-dasharray:4 3}table{border-collapse:collapse}td,th{padding:2px 8px;
border-bottom:1px solid #ddd;text-align:left}.bad{color:#b00020;font-weight:bold}.key span{margin-right:1em}"""


def render(data, lang="en", timezone=None):
    """The page (an HTML document) in ``lang`` ("en" or "id") from :func:`gather`'s data, its times in the site's
    ``timezone`` (a tz database name, checked by the controller; UTC when not given)."""
    from zoneinfo import ZoneInfo  # pylint: disable=import-outside-toplevel  (Python 3.9+: core's and the controller's)
    zone = ZoneInfo(timezone) if timezone else None
    lang = lang if lang in TEXT else "en"     # what a visitor asks for is never printed back
    text = TEXT[lang]
    now = data["now"]
    series = {}
    for item in data["throughput"]:
        office, direction = item["metric"].get("office", ""), item["metric"].get("direction", "")
        series.setdefault(office, {})[direction] = [(float(t), float(v)) for t, v in item["values"]]
    guaranteed = _instant(data["guaranteed"], "office", "direction")
    ceiling = _instant(data["ceiling"], "office", "direction")
    offices = sorted(set(office for office, _d in list(guaranteed) + list(ceiling)) | set(series))
    moment = _when(now, zone)
    out = ['<!DOCTYPE html><html lang="%s"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head><body>'
           % (_e(lang), _e(text["title"]), STYLE),
           '<h1>%s</h1><p>%s %s · <a href="?lang=%s">%s</a></p>' % (
               _e(text["title"]), _e(text["updated"]), _e(moment), _e(text["other_lang"]), _e(text["other"]))]
    uplinks = ["%s (%s)" % (item["metric"].get("uplink", ""), item["metric"].get("family", ""))
               for item in data["uplink"]]
    out.append('<h2>%s</h2><p id="uplink">%s</p>' % (_e(text["uplink"]), _e(", ".join(uplinks) or text["none"])))
    if data.get("core_ready"):
        item = data["core_ready"][0]
        ready = int(float(item["value"][1]))
        active = bool(data.get("core_active")) and float(data["core_active"][0]["value"][1]) == 1
        states = sorted(entry["metric"].get("state", "") for entry in data.get("dhcp_ha") or [])
        out.append('<h2>%s</h2><p id="core"%s>%s: %s · %s · %s %s</p>' % (
            _e(text["core"]), "" if ready == 1 and states == ["hot-standby"] else ' class="bad"',
            _e(item["metric"].get("server", "")), _e(text["active"] if active else text["standby"]),
            _e(text["ready"].get(ready, str(ready))), _e(text["dhcp_ha"]), _e(", ".join(states) or text["no_data"])))
    down = sorted("%s (%s)" % (item["metric"].get("uplink", ""), item["metric"].get("family", ""))
                  for item in data["gateways_down"])
    if down:
        out.append('<p id="gateways" class="bad">%s: %s</p>' % (_e(text["gateway_down"]), _e(", ".join(down))))
    alerts = sorted("%s %s" % (item["metric"].get("alertname", ""), " ".join(
        "%s=%s" % (key, value) for key, value in sorted(item["metric"].items())
        if key not in ("__name__", "alertname", "alertstate", "severity"))) for item in data["alerts"])
    out.append('<h2>%s</h2>%s' % (_e(text["alerts"]), "<ul>%s</ul>" % "".join(
        '<li class="bad">%s</li>' % _e(alert) for alert in alerts) if alerts else "<p>%s</p>" % _e(text["no_alerts"])))
    out.append('<h2>%s</h2><p class="key"><span class="download">― %s</span><span class="upload">― %s</span>'
               '<span>- - %s / %s</span></p>' % (_e(text["offices"]), _e(text["download"]), _e(text["upload"]),
                                                 _e(text["guaranteed"]), _e(text["ceiling"])))
    for office in offices:
        now_rates = " · ".join("%s %s" % (_e(text[d]), _e(_rate(series[office][d][-1][1])))
                               for d in ("download", "upload") if series.get(office, {}).get(d))
        out.append('<div class="office" id="office-%s"><b>%s</b> %s<br>%s</div>' % (
            _e(office), _e(office), now_rates or _e(text["no_data"]),
            _chart(office, series.get(office, {}), guaranteed, ceiling, now, text)))
    total = _instant(data["total"], "office", "segment")
    assigned = _instant(data["assigned"], "office", "segment")
    rows = []
    for key in sorted(total):
        share = assigned.get(key, 0) / total[key] if total[key] else 0
        rows.append('<tr%s><td>%s/%s</td><td>%d %s %d %s (%d%%)</td></tr>' % (
            ' class="bad"' if share > 0.9 else "", _e(key[0]), _e(key[1]), assigned.get(key, 0), _e(text["of"]),
            total[key], _e(text["used"]), round(share * 100)))
    out.append('<h2>%s</h2><table id="pools"><tr><th>%s</th><th></th></tr>%s</table>' % (
        _e(text["pools"]), _e(text["segment"]), "".join(rows)))
    events = sorted((float(item["value"][1]), item["metric"].get("office", ""), item["metric"].get("event", ""))
                    for item in data["events"])
    out.append('<h2>%s</h2>%s' % (_e(text["events"]), "<ul>%s</ul>" % "".join(
        "<li>%s/%s: %s %s</li>" % (_e(office), _e(event), _e(text["ends"]),
                                   _e(_when(ends, zone)))
        for ends, office, event in events) if events else "<p>%s</p>" % _e(text["no_events"])))
    checks = []
    for name, found, when, unit in (("drift", "drift", "drift_time", "differences"),
                                    ("verify", "verify", "verify_time", "problems")):
        if not data[when]:
            checks.append("<li>%s: %s</li>" % (_e(text[name]), _e(text["never"])))
            continue
        count = int(float(data[found][0]["value"][1])) if data[found] else 0
        stamp = _when(data[when][0]["value"][1], zone)
        checks.append('<li%s>%s: %s (%s)</li>' % (' class="bad"' if count else "", _e(text[name]),
                                                  _e("%d %s" % (count, text[unit]) if count else text["ok"]), _e(stamp)))
    out.append('<h2>%s</h2><ul id="checks">%s</ul></body></html>' % (_e(text["checks"]), "".join(checks)))
    return "\n".join(out) + "\n"
