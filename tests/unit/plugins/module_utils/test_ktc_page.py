"""The NOC's page rendered from answers of Prometheus' API as the lab's offices would give them: every office has its
chart with guarantee and ceiling, the uplink, pools (the full one marked), events and the last checks show, in English
and in Bahasa Indonesia, and a label value holding markup is printed as text."""

from html.parser import HTMLParser

import ktc_page

NOW = 1796288400          # 2026-12-03 09:00 UTC
OFFICES = ("bkpsdm", "diskominfo", "dukcapil")


def vector(rows):
    return [{"metric": metric, "value": [NOW, str(value)]} for metric, value in rows]


def answers(office_name="dukcapil", with_checks=True, pair=None):
    """What Prometheus answers each of the page's queries, for the lab's offices; ``pair`` (server, active, ready,
    Kea HA state) on a server of a pair."""
    range_result = [{"metric": {"office": office, "direction": direction},
                     "values": [[NOW - 86400 + step * 600, str(1e6 * (index + 1))] for step in range(145)]}
                    for index, office in enumerate(OFFICES[:2] + (office_name,)) for direction in ("download", "upload")]
    by_query = {
        "guaranteed": vector(({"office": o, "direction": d}, 2e6) for o in OFFICES[:2] + (office_name,)
                             for d in ("download", "upload")),
        "ceiling": vector(({"office": o, "direction": d}, 10e6) for o in OFFICES[:2] + (office_name,)
                          for d in ("download", "upload")),
        "uplink": vector([({"__name__": "ktc_uplink_active", "uplink": "backup", "family": "ipv4"}, 1)]),
        "gateways_down": vector([({"__name__": "ktc_uplink_gateway_up", "uplink": "primary", "family": "ipv4"}, 0)]),
        "assigned": vector([({"office": "dukcapil", "segment": "wifi"}, 58), ({"office": "bkpsdm", "segment": "staff"}, 3)]),
        "total": vector([({"office": "dukcapil", "segment": "wifi"}, 60), ({"office": "bkpsdm", "segment": "staff"}, 30)]),
        "events": vector([({"office": "bkpsdm", "event": "cat-asn-1"}, NOW + 3000)]),
        "drift": vector([({}, 2)]) if with_checks else [],
        "drift_time": vector([({}, NOW - 3600)]) if with_checks else [],
        "verify": vector([({}, 0)]) if with_checks else [],
        "verify_time": vector([({}, NOW - 600)]) if with_checks else [],
        "alerts": vector([({"alertname": "KtcUplinkFailedOver", "alertstate": "firing", "uplink": "primary",
                            "family": "ipv4", "severity": "critical"}, 1)]),
        "core_active": vector([({}, pair[1])]) if pair else [],
        "core_ready": vector([({"server": pair[0]}, pair[2])]) if pair else [],
        "dhcp_ha": vector([({"server": pair[0], "state": pair[3]}, 1)]) if pair else [],
    }
    promql = dict((q, name) for name, (_kind, q) in ktc_page.QUERIES.items())

    def query(text):
        return by_query[promql[text]]

    def query_range(text, start, end, step):
        assert (promql[text], end - start, step) == ("throughput", 86400, 600)
        return range_result
    return ktc_page.gather(query, query_range, NOW)


class Page(HTMLParser):
    """The page's elements by id, its text, and the tags it holds."""

    def __init__(self, document):
        super().__init__()
        self.ids, self.tags, self.text, self._open = {}, [], [], []
        self.feed(document)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids[attrs["id"]] = attrs
            self._open.append(attrs["id"])

    def handle_data(self, data):
        self.text.append(data)


def test_every_office_has_its_chart_with_guarantee_and_ceiling():
    page = ktc_page.render(answers())
    parsed = Page(page)
    assert {"office-%s" % office for office in OFFICES} <= set(parsed.ids)
    assert page.count("<svg ") == len(OFFICES) and page.count('<polyline class="download"') == len(OFFICES)
    assert page.count('line class="ceil"') == page.count('line class="guar"') == len(OFFICES)
    text = " ".join(parsed.text)
    assert "download 3.0 Mbit/s" in text and "ceiling 10.0 Mbit/s" in text and "guaranteed 2.0 Mbit/s" in text
    assert "script" not in parsed.tags and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_uplink_pools_events_checks_and_alerts_show_the_full_pool_and_the_drift_marked():
    page = ktc_page.render(answers())
    text = " ".join(Page(page).text)
    assert "backup (ipv4)" in text and "Gateway not answering: primary (ipv4)" in text
    assert '<tr class="bad"><td>dukcapil/wifi</td><td>58 of 60 used (97%)</td></tr>' in page
    assert "<tr><td>bkpsdm/staff</td><td>3 of 30 used (10%)</td></tr>" in page
    assert "bkpsdm/cat-asn-1: ends 2026-12-03 09:50 UTC" in text
    assert '<li class="bad">Drift check: 2 difference(s) (2026-12-03 08:00 UTC)</li>' in page
    assert "<li>Verify: OK (2026-12-03 08:50 UTC)</li>" in page
    assert "KtcUplinkFailedOver family=ipv4 uplink=primary" in text
    without = " ".join(Page(ktc_page.render(answers(with_checks=False))).text)
    assert "Drift check: no result yet" in without and "Verify: no result yet" in without


def test_times_are_in_the_sites_time_zone():
    text = " ".join(Page(ktc_page.render(answers(), "en", "Asia/Makassar")).text)
    assert "bkpsdm/cat-asn-1: ends 2026-12-03 17:50 WITA" in text


def test_the_page_in_bahasa_indonesia_links_back_to_english():
    page = ktc_page.render(answers(), "id")
    text = " ".join(Page(page).text)
    assert '<html lang="id">' in page and "Jaringan KTC" in text and "Pool DHCP" in text
    assert "58 dari 60 terpakai (97%)" in text and '<a href="?lang=en">English</a>' in page
    assert ktc_page.render(answers(), "xx") == ktc_page.render(answers(), "en")   # unknown: English


def test_a_label_holding_markup_is_printed_as_text():
    page = ktc_page.render(answers(office_name='<script>alert("x")</script>'))
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "script" not in Page(page).tags


def test_a_server_of_a_pair_shows_its_part_and_is_marked_unless_ready_and_in_sync():
    assert 'id="core"' not in ktc_page.render(answers())    # one core: no such line
    page = ktc_page.render(answers(pair=("core", 1, 1, "hot-standby")))
    assert '<p id="core">core: active: holds the gateways · ready · DHCP HA hot-standby</p>' in page
    page = ktc_page.render(answers(pair=("core", 0, -1, "hot-standby")))
    assert '<p id="core" class="bad">core: standby · freed for maintenance: run the main job when done' in page
    page = ktc_page.render(answers(pair=("core2", 1, 1, "partner-down")), "id")
    assert '<p id="core" class="bad">core2: aktif: memegang gateway · siap · HA DHCP partner-down</p>' in page
