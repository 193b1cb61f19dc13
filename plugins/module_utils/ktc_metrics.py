# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Diskominfo Kabupaten Sumbawa Barat
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What core measures, per office and per segment, in Prometheus' text format (issue "See the network").

The exporter on core reads the shaper's classes (``tc -s class show``), Kea's statistics (``statistic-get-all`` on
its control socket), Unbound's counters (``unbound-control stats_noreset``), the connection table's size and the
uplink the monitor chose, and labels every series with the office and segment the model gives them: the labels come
from :func:`exporter_config`, computed on the controller from the segment facts and written to the host as JSON, so
that the host never works out which class or subnet belongs to whom.

No Ansible import: the exporter runs it on core, and the unit tests feed it listings captured in the lab.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress
import re

# The shaper's class of the traffic no office or event was marked for (core itself, management).
UNCLASSIFIED = "2"

HELP = {
    "ktc_shaping_bytes_total": ("counter", "Bytes sent through the class of an office or event, per uplink and "
                                           "direction."),
    "ktc_shaping_packets_total": ("counter", "Packets sent through the class of an office or event."),
    "ktc_shaping_drops_total": ("counter", "Packets the class dropped (its queue was full, or its fair queue chose "
                                           "them)."),
    "ktc_shaping_overlimits_total": ("counter", "Times the class was over its rate and had to wait or borrow."),
    "ktc_shaping_guaranteed_bits_per_second": ("gauge", "The class's guaranteed rate on this uplink (HTB rate)."),
    "ktc_shaping_ceiling_bits_per_second": ("gauge", "The class's ceiling on this uplink (HTB ceil)."),
    "ktc_dhcp_addresses_assigned": ("gauge", "Addresses Kea has leased in the segment."),
    "ktc_dhcp_addresses_total": ("gauge", "Addresses Kea may lease in the segment (its pools)."),
    "ktc_dns_queries_total": ("counter", "Queries Unbound answered."),
    "ktc_dns_cache_hits_total": ("counter", "Queries Unbound answered from its cache."),
    "ktc_conntrack_entries": ("gauge", "Connections in core's connection table."),
    "ktc_conntrack_limit": ("gauge", "The connection table's size (nf_conntrack_max)."),
    "ktc_uplink_active": ("gauge", "1 for the uplink the monitor routes the family through, 0 for the others."),
    "ktc_core_active": ("gauge", "1 while this core server routes through the uplinks (one core, or the active server "
                                 "of a pair), 0 on the standby server of a pair."),
    "ktc_core_ready": ("gauge", "A server of a pair: its readiness file, 1 once the converge has brought it up to date, "
                                "0 after it started until then, -1 while freed for maintenance (it stands by)."),
    "ktc_dhcp_ha_state": ("gauge", "A server of a pair: 1 for the state Kea's HA hook is in (hot-standby while the "
                                   "servers share their leases; partner-down when the other does not answer)."),
    "ktc_uplink_gateway_up": ("gauge", "1 while the uplink's gateway answers the monitor's pings, 0 once it missed "
                                       "enough in a row to count as down."),
    "ktc_uplink_switches_total": ("counter", "Times the monitor moved the family's default route to another uplink "
                                             "since it started."),
    "ktc_event_ends_timestamp_seconds": ("gauge", "When an open event ends (Unix time), as the events file says."),
    "ktc_collector_up": ("gauge", "1 when the collector could read its source, 0 when it failed (its service is "
                                  "down)."),
    # Written by the jobs (playbooks/drift_check.yml, verify.yml) to the node exporter's textfiles on core.
    "ktc_drift_findings": ("gauge", "Differences from the repository the last drift check found (0: none)."),
    "ktc_drift_check_timestamp_seconds": ("gauge", "When the last drift check ran (Unix time)."),
    "ktc_verify_problems": ("gauge", "Problems the last verify found on the device (0: none)."),
    "ktc_verify_timestamp_seconds": ("gauge", "When verify last ran (Unix time)."),
}

_LABEL_ESCAPES = {"\\": "\\\\", "\"": "\\\"", "\n": "\\n"}


def exporter_config(segment_facts, uplinks, events=(), timezone="Asia/Makassar", listen=("127.0.0.1", 9469),
                    pair=None):
    """What the exporter needs to label its series, from the segment facts (ktc_ipam.segment_facts, open events
    included), the uplinks (ktc_uplinks, the preferred first) and the open events (ktc_events, their times in the
    site's ``timezone``): the shaper's class of each office and event, Kea's subnet of each segment (its id is the
    VLAN), each uplink's devices (egress on the uplink, ingress on its IFB), when each event ends, and where to listen.
    ``pair`` ({server, ready_file}) on a server of a pair of core servers: its name and readiness file."""
    classes = {UNCLASSIFIED: {"office": "", "kind": "unclassified"}}
    subnets = {}
    for fact in segment_facts:
        classes[fact["shaping_class"]] = {"office": fact["office"],
                                          "kind": "event" if fact["kind"] == "event" else "office"}
        subnets[str(fact["vlan"])] = {"office": fact["office"], "segment": fact["segment"], "kind": fact["kind"]}
    return {
        "listen": list(listen),
        "timezone": timezone,
        "classes": classes,
        "subnets": subnets,
        "uplinks": [{"name": uplink["name"], "interface": uplink["interface"], "ifb": "ifb-%s" % uplink["name"]}
                    for uplink in uplinks],
        "events": [{"office": event["office"], "event": event["name"], "ends": event_time(event["ends"], timezone)}
                   for event in events],
        "pair": pair,
    }


def event_time(text, timezone):
    """Unix time of an event's "YYYY-MM-DD HH:MM" (already checked by ktc_grammar.event_time) in ``timezone``."""
    from zoneinfo import ZoneInfo  # pylint: disable=import-outside-toplevel  (Python 3.9+, the controller's)
    moment = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(timezone))
    return int(moment.timestamp())


def event_samples(config):
    return [("ktc_event_ends_timestamp_seconds", {"office": event["office"], "event": event["event"]}, event["ends"])
            for event in config.get("events") or []]


_TC_CLASS = re.compile(r"^class htb 1:([0-9a-f]+) .*?\brate (\S+) ceil (\S+)")
_TC_SENT = re.compile(r"^\s*Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)")
_RATE_UNITS = {"bit": 1, "Kbit": 10 ** 3, "Mbit": 10 ** 6, "Gbit": 10 ** 9, "Tbit": 10 ** 12}


def tc_rate(text):
    """Bits per second of a rate as tc prints it (``2Mbit``, ``1500Kbit``, ``800bit``; SI multiples)."""
    match = re.match(r"^(\d+(?:\.\d+)?)([KMGT]?bit)$", text)
    if not match:
        raise ValueError("not a tc rate: %r" % text)
    return int(round(float(match.group(1)) * _RATE_UNITS[match.group(2)]))


def shaping_samples(listing, uplink, direction, config):
    """Samples of the HTB classes in ``tc -s class show dev D`` (iproute2 prints no JSON for HTB classes) that the
    config names: ``direction`` is "upload" on the uplink's own device and "download" on its IFB."""
    samples, labels = [], None
    for line in listing.splitlines():
        match = _TC_CLASS.match(line)
        if match:
            known = config["classes"].get(match.group(1))
            labels = None
            if known is not None:
                labels = {"uplink": uplink, "direction": direction, "office": known["office"], "kind": known["kind"]}
                samples.append(("ktc_shaping_guaranteed_bits_per_second", labels, tc_rate(match.group(2))))
                samples.append(("ktc_shaping_ceiling_bits_per_second", labels, tc_rate(match.group(3))))
            continue
        match = _TC_SENT.match(line)
        if match and labels is not None:
            for name, value in zip(("ktc_shaping_bytes_total", "ktc_shaping_packets_total", "ktc_shaping_drops_total",
                                    "ktc_shaping_overlimits_total"), match.groups()):
                samples.append((name, labels, int(value)))
            labels = None
    return samples


_KEA_SUBNET = re.compile(r"^subnet\[(\d+)\]\.(assigned-addresses|total-addresses)$")


def kea_samples(statistics, config):
    """Samples of Kea's ``statistic-get-all`` answer (its "arguments": {name: [[value, time], ...]}) for the
    segments the config names: leased and leasable addresses per segment."""
    samples = []
    for name, values in sorted(statistics.items()):
        match = _KEA_SUBNET.match(name)
        if not match or match.group(1) not in config["subnets"] or not values:
            continue
        known = config["subnets"][match.group(1)]
        metric = "ktc_dhcp_addresses_assigned" if match.group(2) == "assigned-addresses" else "ktc_dhcp_addresses_total"
        samples.append((metric, {"office": known["office"], "segment": known["segment"], "kind": known["kind"]},
                        int(values[0][0])))
    return samples


def unbound_samples(text):
    """Samples of ``unbound-control stats_noreset`` (lines name=value): queries and cache hits of every thread."""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return [("ktc_dns_queries_total", {}, int(float(values["total.num.queries"]))),
            ("ktc_dns_cache_hits_total", {}, int(float(values["total.num.cachehits"])))]


def conntrack_samples(count, limit):
    """Samples of the connection table: the contents of nf_conntrack_count and nf_conntrack_max."""
    return [("ktc_conntrack_entries", {}, int(count)), ("ktc_conntrack_limit", {}, int(limit))]


def uplink_samples(active, config, answering=None, switches=None):
    """Samples of the uplink in use per family (``active``: {"ipv4": name, "ipv6": name}, what the monitor wrote to
    /run/ktc/uplink and /run/ktc/uplink6; a family missing or "none" has no uplink in use), whether each gateway
    answers (``answering``: {(family, uplink): "1" or "0"}, the monitor's /run/ktc/gateway<4|6>-<uplink>; a gateway
    without a file, an uplink without IPv6, has no sample) and the switches per family (``switches``: {family: text}).
    The standby server of a pair (the monitor writes "standby") uses no uplink: ktc_core_active 0, and no uplink or
    gateway samples, so that its Prometheus raises no failover alert for the uplinks the other server holds."""
    counted = [("ktc_uplink_switches_total", {"family": family}, int(text))
               for family, text in sorted((switches or {}).items()) if (text or "").strip().isdigit()]
    if active.get("ipv4") == "standby":
        return [("ktc_core_active", {}, 0)] + counted
    samples = [("ktc_core_active", {}, 1)] + [("ktc_uplink_active", {"uplink": uplink["name"], "family": family},
                                               1 if active.get(family) == uplink["name"] else 0)
                                              for family in ("ipv4", "ipv6") for uplink in config["uplinks"]]
    for (family, name), text in sorted((answering or {}).items()):
        if (text or "").strip() in ("0", "1"):
            samples.append(("ktc_uplink_gateway_up", {"uplink": name, "family": family}, int(text)))
    return samples + counted


def pair_samples(server, ready, heartbeat):
    """Samples of a server of a pair: its readiness file's text (``ready``; None when the file is missing, which
    keepalived counts as 0) and Kea's answer to ha-heartbeat (``heartbeat``); None when neither can be read (the
    collector is down)."""
    samples = []
    if ready is None:
        samples.append(("ktc_core_ready", {"server": server}, 0))
    elif ready.strip().lstrip("-").isdigit():
        samples.append(("ktc_core_ready", {"server": server}, int(ready.strip())))
    state = (heartbeat or {}).get("arguments", {}).get("state") if (heartbeat or {}).get("result") == 0 else None
    if state:
        samples.append(("ktc_dhcp_ha_state", {"server": server, "state": state}, 1))
    return samples or None


# Where core keeps what the collectors read (the packages' and the roles' own paths).
SOURCES = {"kea_socket": "/run/kea/kea4-ctrl-socket", "unbound_config": "/etc/unbound/unbound.conf",
           "conntrack": "/proc/sys/net/netfilter/nf_conntrack_count",
           "conntrack_max": "/proc/sys/net/netfilter/nf_conntrack_max",
           "uplink": {"ipv4": "/run/ktc/uplink", "ipv6": "/run/ktc/uplink6"},
           "gateway": "/run/ktc/gateway%s-%s", "switches": "/run/ktc/switches%s"}
FAMILIES = {"ipv4": "4", "ipv6": "6"}


def collect(config, run, read, kea):
    """Every sample of one scrape. ``run(argv)`` gives (rc, stdout) of a command, ``read(path)`` a file's text or None,
    ``kea(socket, command)`` Kea's answer or None. A source that fails gives ktc_collector_up 0 and no samples of its
    own, the others still report: a scrape never fails because one service is down."""
    samples = []

    def collector(name, gather):
        try:
            found = gather()
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            found = None
        samples.extend(found or [])
        samples.append(("ktc_collector_up", {"collector": name}, 0 if found is None else 1))

    def shaping():
        found = []
        for uplink in config["uplinks"]:
            for device, direction in ((uplink["interface"], "upload"), (uplink["ifb"], "download")):
                rc, listing = run(["tc", "-s", "class", "show", "dev", device])
                if rc != 0:
                    return None
                found += shaping_samples(listing, uplink["name"], direction, config)
        return found

    def dhcp():
        answer = kea(SOURCES["kea_socket"], "statistic-get-all")
        if not answer or answer.get("result") != 0:
            return None
        return kea_samples(answer["arguments"], config)

    def dns():
        rc, text = run(["unbound-control", "-c", SOURCES["unbound_config"], "stats_noreset"])
        return unbound_samples(text) if rc == 0 else None

    def conntrack():
        count, limit = read(SOURCES["conntrack"]), read(SOURCES["conntrack_max"])
        return conntrack_samples(count, limit) if count and limit else None

    def uplinks():
        return uplink_samples(
            dict((family, (read(path) or "").strip()) for family, path in SOURCES["uplink"].items()), config,
            dict(((family, uplink["name"]), read(SOURCES["gateway"] % (number, uplink["name"])))
                 for family, number in FAMILIES.items() for uplink in config["uplinks"]),
            dict((family, read(SOURCES["switches"] % number)) for family, number in FAMILIES.items()))

    def pair():
        return pair_samples(config["pair"]["server"], read(config["pair"]["ready_file"]),
                            kea(SOURCES["kea_socket"], "ha-heartbeat"))

    for name, gather in (("shaping", shaping), ("dhcp", dhcp), ("dns", dns), ("conntrack", conntrack),
                         ("uplink", uplinks)) + ((("pair", pair),) if config.get("pair") else ()):
        collector(name, gather)
    return samples + event_samples(config)


# The alerts' thresholds (roles/metrics' defaults say them again, for the operator).
ALERT_DEFAULTS = {"pool_full_ratio": 0.9, "pool_full_for": "5m", "failover_for": "1m", "ceiling_ratio": 0.95,
                  "ceiling_for": "15m", "loss_ratio": 0.01, "loss_for": "10m", "down_for": "2m",
                  "event_notice_seconds": 3600, "pair_for": "5m", "not_ready_for": "30m"}


def _checked_thresholds(thresholds):
    """``thresholds`` (metrics_alert_thresholds, from the inventory) checked before any reaches a rule's expression:
    ratios are numbers above 0 up to 1, durations Prometheus' (5m, 1h), the event notice whole seconds."""
    errors = []
    for key, value in sorted(thresholds.items()):
        field = "metrics_alert_thresholds.%s" % key
        if key not in ALERT_DEFAULTS:
            errors.append("%s is not a threshold (known: %s)" % (field, ", ".join(sorted(ALERT_DEFAULTS))))
        elif key.endswith("_ratio"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                errors.append("%s: %r must be a number above 0 up to 1, such as 0.9" % (field, value))
        elif key.endswith("_for"):
            if not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]{0,3}[smh]", value):
                errors.append("%s: %r must be a duration such as 30s, 5m or 1h" % (field, value))
        elif isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errors.append("%s: %r must be a whole number of seconds above 0" % (field, value))
    if errors:
        raise ValueError("; ".join(errors))
    return thresholds


def alert_rules(config, thresholds=None):
    """Prometheus' alerting rules (a rule file's data) for the site in ``config`` (:func:`exporter_config`): a DHCP pool
    nearly full, the preferred uplink not in use, an office at its ceiling for long, an office or event losing
    packets in its class, a collector or scrape target down, drift found by the last drift check (the node
    exporter's textfile ktc_drift.prom), an event ending soon; on a server of a pair, its leases no longer shared with
    the other (Kea's HA not in hot-standby) and the server not ready for long (not converged since it came back, or
    left freed after maintenance). Each alert names the office, segment, uplink or server."""
    t = dict(ALERT_DEFAULTS, **_checked_thresholds(thresholds or {}))
    preferred = config["uplinks"][0]["name"]

    def rule(name, expr, duration, severity, summary, summary_id):
        found = {"alert": name, "expr": expr, "labels": {"severity": severity},
                 "annotations": {"summary": summary, "summary_id": summary_id}}
        if duration:
            found["for"] = duration
        return found

    rules = [
        rule("KtcDhcpPoolNearlyFull",
             "ktc_dhcp_addresses_assigned / ktc_dhcp_addresses_total > %s" % t["pool_full_ratio"],
             t["pool_full_for"], "warning",
             "{{ $labels.office }}/{{ $labels.segment }}: DHCP pool {{ $value | humanizePercentage }} used",
             "{{ $labels.office }}/{{ $labels.segment }}: pool DHCP terpakai {{ $value | humanizePercentage }}"),
        rule("KtcUplinkFailedOver",
             'ktc_uplink_active{family="ipv4",uplink="%s"} == 0' % preferred, t["failover_for"], "critical",
             "KTC runs without its %s uplink: the monitor moved the traffic away from it" % preferred,
             "KTC berjalan tanpa uplink %s: monitor memindahkan lalu lintas darinya" % preferred),
        rule("KtcOfficeAtCeiling",
             'rate(ktc_shaping_bytes_total{kind="office"}[5m]) * 8 >= %s * ktc_shaping_ceiling_bits_per_second'
             % t["ceiling_ratio"], t["ceiling_for"], "info",
             "{{ $labels.office }} uses its whole ceiling ({{ $labels.direction }}, {{ $labels.uplink }})",
             "{{ $labels.office }} memakai seluruh batas atasnya ({{ $labels.direction }}, {{ $labels.uplink }})"),
        rule("KtcClassLosingPackets",
             'rate(ktc_shaping_drops_total{kind=~"office|event"}[5m]) / rate(ktc_shaping_packets_total[5m]) > %s'
             % t["loss_ratio"], t["loss_for"], "warning",
             "{{ $labels.office }} loses {{ $value | humanizePercentage }} of its packets in its class "
             "({{ $labels.direction }}, {{ $labels.uplink }})",
             "{{ $labels.office }} kehilangan {{ $value | humanizePercentage }} paketnya di kelasnya "
             "({{ $labels.direction }}, {{ $labels.uplink }})"),
        rule("KtcServiceDown", "ktc_collector_up == 0 or up == 0", t["down_for"], "critical",
             "{{ with $labels.collector }}{{ . }}{{ else }}{{ $labels.job }}{{ end }} on core does not answer",
             "{{ with $labels.collector }}{{ . }}{{ else }}{{ $labels.job }}{{ end }} di core tidak menjawab"),
        rule("KtcDriftDetected", "ktc_drift_findings > 0", None, "warning",
             "The last drift check found {{ $value }} difference(s) from the repository: run the main job or fix the "
             "repository",
             "Pemeriksaan drift terakhir menemukan {{ $value }} perbedaan dari repositori: jalankan job utama atau "
             "perbaiki repositori"),
        rule("KtcEventEndingSoon",
             "ktc_event_ends_timestamp_seconds - time() < %d and ktc_event_ends_timestamp_seconds - time() > 0"
             % t["event_notice_seconds"], None, "info",
             "Event {{ $labels.event }} of {{ $labels.office }} ends in {{ $value | humanizeDuration }}: close it "
             "then (AWX: KTC event, close)",
             "Acara {{ $labels.event }} milik {{ $labels.office }} berakhir dalam {{ $value | humanizeDuration }}: "
             "tutup saat itu (AWX: KTC event, close)"),
    ]
    if config.get("pair"):
        rules += [
            rule("KtcCorePairLeasesNotShared", 'ktc_dhcp_ha_state{state!="hot-standby"} == 1', t["pair_for"], "critical",
                 "{{ $labels.server }}: Kea's HA is in {{ $labels.state }}, the leases are not shared with the other "
                 "core server: if it fails, its clients' leases are not on this one",
                 "{{ $labels.server }}: HA Kea dalam keadaan {{ $labels.state }}, lease tidak dibagi dengan server "
                 "core lainnya: jika server itu gagal, lease kliennya tidak ada di server ini"),
            rule("KtcCoreNotReady", "ktc_core_ready < 1", t["not_ready_for"], "warning",
                 "{{ $labels.server }} stands by and will not take the gateways back (readiness {{ $value }}: 0 not "
                 "converged since it started, -1 freed for maintenance): run the main job (KTC converge)",
                 "{{ $labels.server }} bersiaga dan tidak akan mengambil kembali gateway (kesiapan {{ $value }}: 0 belum "
                 "di-converge sejak menyala, -1 dibebaskan untuk pemeliharaan): jalankan job utama (KTC converge)"),
        ]
    return {"groups": [{"name": "ktc", "rules": rules}]}


_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SMARTHOST_RE = re.compile(r"[A-Za-z0-9.-]+:[0-9]{1,5}")
_BOT_TOKEN_RE = re.compile(r"[0-9]{5,12}:[A-Za-z0-9_-]{30,50}")
_URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


class AlertingError(ValueError):
    """What is wrong with the alert receivers, each problem naming its field and the fix."""

    def __init__(self, errors):
        ValueError.__init__(self, "; ".join(errors))
        self.errors = errors


# How Alertmanager groups and repeats notifications (metrics_alert_timing): the first of a group after group_wait,
# news of a group already notified after group_interval, an alert still firing again after repeat_interval.
TIMING_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


def alertmanager_config(receivers, timing=None):
    """Alertmanager's configuration (data) delivering every alert to the receivers given: ``receivers`` is
    {email: {to, from, smarthost, username, password} or None, telegram: {bot_token, chat_id} or None, webhook: URL or
    None} (the secrets from ansible-vault); ``timing`` overrides TIMING_DEFAULTS. Every value is checked first: a bad
    one raises AlertingError naming the field. At least one receiver is required: alerts nobody receives are not
    alerts."""
    errors = []
    # What the role's argument spec leaves unset arrives as None: the default.
    timing = dict((key, value) for key, value in (timing or {}).items() if value is not None)
    for key, value in sorted(timing.items()):
        if key not in TIMING_DEFAULTS:
            errors.append("metrics_alert_timing.%s is not a setting (known: %s)" % (key, ", ".join(sorted(TIMING_DEFAULTS))))
        elif not isinstance(value, str) or not re.fullmatch(r"[1-9][0-9]{0,3}[smh]", value):
            errors.append("metrics_alert_timing.%s: %r must be a duration such as 30s, 5m or 4h" % (key, value))
    timing = dict(TIMING_DEFAULTS, **timing)
    receiver = {"name": "noc"}
    email = receivers.get("email")
    if email:
        for field in ("to", "from"):
            if not isinstance(email.get(field), str) or not _EMAIL_RE.fullmatch(email[field]):
                errors.append("metrics_alert_email.%s: %r is not an e-mail address such as noc@sumbawabaratkab.go.id"
                              % (field, email.get(field)))
        if not isinstance(email.get("smarthost"), str) or not _SMARTHOST_RE.fullmatch(email["smarthost"]):
            errors.append("metrics_alert_email.smarthost: %r must be host:port of the mail server, such as "
                          "mail.sumbawabaratkab.go.id:587" % (email.get("smarthost"),))
        found = {"to": email.get("to"), "from": email.get("from"), "smarthost": email.get("smarthost"),
                 "send_resolved": True, "require_tls": True}
        if email.get("username"):
            found.update(auth_username=str(email["username"]), auth_password=str(email.get("password") or ""))
        receiver["email_configs"] = [found]
    telegram = receivers.get("telegram")
    if telegram:
        if not isinstance(telegram.get("bot_token"), str) or not _BOT_TOKEN_RE.fullmatch(telegram["bot_token"]):
            # The token itself is never printed: it is a secret.
            errors.append("metrics_alert_telegram.bot_token: not a Telegram bot token (digits, a colon, then the "
                          "secret, as @BotFather gives it); keep it in ansible-vault")
        chat = telegram.get("chat_id")
        if isinstance(chat, bool) or not isinstance(chat, int) or chat == 0:
            errors.append("metrics_alert_telegram.chat_id: %r must be the group's chat id, a whole number (negative "
                          "for a group, such as -1001234567890)" % (chat,))
        receiver["telegram_configs"] = [{"bot_token": telegram.get("bot_token"), "chat_id": chat,
                                         "send_resolved": True, "parse_mode": ""}]
    webhook = receivers.get("webhook")
    if webhook:
        if not isinstance(webhook, str) or not _URL_RE.fullmatch(webhook):
            errors.append("metrics_alert_webhook: %r is not an http(s) URL such as http://10.40.0.5:9099/alerts"
                          % (webhook,))
        receiver["webhook_configs"] = [{"url": webhook, "send_resolved": True}]
    if len(receiver) == 1:
        errors.append("metrics: no alert receiver. Fix: set metrics_alert_email or metrics_alert_telegram (secrets in "
                      "ansible-vault), or metrics_alert_webhook")
    if errors:
        raise AlertingError(errors)
    return {"route": {"receiver": "noc", "group_by": ["alertname", "office", "segment", "uplink"],
                      "group_wait": timing["group_wait"], "group_interval": timing["group_interval"],
                      "repeat_interval": timing["repeat_interval"]},
            "receivers": [receiver]}


# Where the services on core listen: all on loopback; the page reaches the NOC through the exporter's port only.
PROMETHEUS, ALERTMANAGER, NODE_EXPORTER = "127.0.0.1:9090", "127.0.0.1:9093", "127.0.0.1:9100"
RULES_PATH = "/etc/prometheus/ktc-rules.yml"
# The node exporter's textfile directory (Debian's): the drift check and verify write their last results there.
TEXTFILES = "/var/lib/prometheus/node-exporter"


def page_listen(address, port):
    """(address, port) where KTC's exporter and the NOC's page listen: core's management address (the firewall lets
    management and the NOC's segments reach that port, nothing else) or loopback; checked before it reaches a file."""
    try:
        address = str(ipaddress.IPv4Address(str(address)))
    except ValueError:
        raise ValueError("ktc_management_address: %r is not an IPv4 address (the page listens there)" % (address,))
    if isinstance(port, bool) or not isinstance(port, int) and not str(port).isdigit() or not 1024 <= int(port) <= 65535:
        raise ValueError("metrics_port: %r must be a port from 1024 to 65535" % (port,))
    return address, int(port)


# What the node exporter collects: the host's health and the textfile. Debian's package turns on the systemd
# collector, and netclass reads every one of core's interfaces (a VLAN per segment): on the emulated lab core they
# took 8 s of each 15-second scrape, and they answer nothing the page or the alerts ask.
NODE_COLLECTORS = ("cpu", "filesystem", "loadavg", "meminfo", "netdev", "pressure", "textfile", "time")


def service_arguments(retention="400d"):
    """Each daemon's ARGS in /etc/default/<package> (an environment file systemd reads): every one on loopback only,
    Alertmanager without its cluster port, Prometheus keeping ``retention`` of series."""
    if not re.fullmatch(r"[1-9][0-9]{0,4}[dwy]", str(retention)):
        raise ValueError("metrics_retention: %r must be days, weeks or years such as 400d" % (retention,))
    return {"prometheus": "--web.listen-address=%s --storage.tsdb.retention.time=%s" % (PROMETHEUS, retention),
            "alertmanager": "--web.listen-address=%s --cluster.listen-address=" % ALERTMANAGER,
            "node_exporter": "--web.listen-address=%s --collector.disable-defaults %s --collector.textfile.directory=%s"
                             % (NODE_EXPORTER, " ".join("--collector.%s" % name for name in NODE_COLLECTORS), TEXTFILES)}


def prometheus_config(exporter, scrape_interval="15s"):
    """Prometheus' configuration (data): KTC's exporter at ``exporter`` (host:port), the node exporter (its textfile
    holds the drift check's and verify's last results) and Prometheus itself scraped every ``scrape_interval``; the
    rules of :func:`alert_rules` evaluated as often; alerts sent to the local Alertmanager."""
    if not re.fullmatch(r"[1-9][0-9]{0,3}[sm]", str(scrape_interval)):
        raise ValueError("metrics_scrape_interval: %r must be seconds or minutes such as 15s or 1m" % (scrape_interval,))

    def job(name, target):
        return {"job_name": name, "static_configs": [{"targets": [target]}]}

    return {"global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                       "external_labels": {"site": "ktc"}},
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER]}]}]},
            "rule_files": [RULES_PATH],
            "scrape_configs": [job("ktc", exporter), job("node", NODE_EXPORTER), job("prometheus", PROMETHEUS)]}


def _label_value(value):
    return "".join(_LABEL_ESCAPES.get(char, char) for char in str(value))


def exposition(samples):
    """Prometheus' text format (0.0.4) of ``samples`` [(name, labels, value)], each metric once with its HELP and
    TYPE, its series in the order given."""
    by_name = {}
    for name, labels, value in samples:
        by_name.setdefault(name, []).append((labels, value))
    lines = []
    for name in sorted(by_name):
        kind, text = HELP[name]
        lines.append("# HELP %s %s" % (name, text))
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, value in by_name[name]:
            rendered = ",".join('%s="%s"' % (key, _label_value(labels[key])) for key in sorted(labels))
            lines.append("%s%s %s" % (name, "{%s}" % rendered if rendered else "", value))
    return "\n".join(lines) + "\n"


def drift_findings(allocated, pending, ios_commands):
    """What the drift check found, one line per device and role: ``allocated`` the ledger's not yet allocated entries,
    ``pending`` {device: {role: [changed files or functions]}} (safe_apply_pending), ``ios_commands`` {device:
    {section: [commands]}} (a Cisco switch's access_switch_ios_commands), devices in the order given."""
    lines = ["ledger: not yet allocated " + ", ".join(allocated)] if allocated else []
    for device, roles in pending.items():
        lines.extend("%s: %s: %s" % (device, role, ", ".join(changes)) for role, changes in sorted(roles.items())
                     if changes)
        commands = [command for section in (ios_commands.get(device) or {}).values() for command in section]
        if commands:
            lines.append("%s: access_switch: %s" % (device, " / ".join(commands)))
    return lines


def drift_textfile(findings, timestamp):
    """The node exporter's textfile of a drift check that found ``findings`` at ``timestamp`` (Unix time)."""
    return exposition([("ktc_drift_findings", {}, len(findings)),
                       ("ktc_drift_check_timestamp_seconds", {}, int(timestamp))])


def verify_textfile(problems, timestamp):
    """The node exporter's textfile of a verify run: ``problems`` {device: [problems]} for each device it probed (a
    device it could not reach has none, so no series), at ``timestamp`` (Unix time)."""
    return exposition([("ktc_verify_problems", {"device": device}, len(found)) for device, found in problems.items()]
                      + [("ktc_verify_timestamp_seconds", {}, int(timestamp))])
