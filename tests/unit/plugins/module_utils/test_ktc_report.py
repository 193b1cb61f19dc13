"""The monthly report from answers shaped like Prometheus' own: November 2026 in KTC's time zone, an office busy at
10:00 WITA and at its ceiling a tenth of the month, the preferred uplink out of use for a day."""

import xml.etree.ElementTree as ElementTree

import ktc_report

START, END = ktc_report.month_range(2026, 11)
STEP = ktc_report.STEP


def answers():
    moments = list(range(START, END, STEP))
    # dukcapil: 8 Mbit/s from 10:00 to 11:00 WITA (02:00-03:00 UTC) each day, 1 Mbit/s otherwise.
    busy = [[t, "8000000" if (t - START) % 86400 // 3600 == 10 else "1000000"] for t in moments]
    at_ceiling = [[t, "1" if i % 10 == 0 else "0"] for i, t in enumerate(moments)]

    def query(promql, moment):
        assert moment == END
        if promql.startswith("sum by (office, direction) (increase("):
            return [{"metric": {"office": "dukcapil", "direction": "download"}, "value": [END, "123456789012"]},
                    {"metric": {"office": "dukcapil", "direction": "upload"}, "value": [END, "2000000000"]},
                    {"metric": {"office": "bkpsdm", "direction": "download"}, "value": [END, "0"]}]
        if promql.startswith("avg_over_time(ktc_uplink_active"):
            assert 'uplink="primary"' in promql
            return [{"metric": {"uplink": "primary"}, "value": [END, str(29 / 30)]}]
        return [{"metric": {}, "value": [END, "1"]}]

    def query_range(promql, start, end, step):
        assert (start, end, step) == (START, END, STEP)
        if promql.startswith("max by (office)"):
            return [{"metric": {"office": "dukcapil"}, "values": at_ceiling}]
        return [{"metric": {"office": "dukcapil"}, "values": busy}]
    return ktc_report.gather(query, query_range, START, END, "primary")


def test_the_month_is_the_calendar_month_in_the_sites_time_zone():
    assert START == 1793462400 and END - START == 30 * 86400     # 2026-11-01 00:00 WITA is 2026-10-31 16:00 UTC


def test_each_office_gets_its_traffic_busiest_hour_and_time_at_ceiling():
    report = ktc_report.build(answers())
    dukcapil = report["offices"]["dukcapil"]
    assert (dukcapil["down"], dukcapil["up"]) == (123456789012, 2000000000)
    assert dukcapil["peak_hour"] == 10 and dukcapil["hours"][10] == 8e6 and dukcapil["hours"][3] == 1e6
    assert abs(dukcapil["at_ceiling"] - 0.1) < 0.001
    assert report["offices"]["bkpsdm"]["peak_hour"] is None          # no traffic: no busiest hour
    assert abs(report["preferred"] - 29 / 30) < 1e-9 and report["internet"] == 1


def test_the_report_in_english_and_bahasa_indonesia():
    report = ktc_report.build(answers())
    english = ktc_report.markdown(report, "en")
    assert english.startswith("# KTC network: monthly report 2026-11\n")
    assert "| dukcapil | 123.5 GB | 2.0 GB | 10:00 | 10.00 % |" in english
    assert "| bkpsdm | 0 B | 0 B | no data | 0.00 % |" in english
    assert "| In use (preferred): primary | 96.67 % |" in english and "![dukcapil](charts/dukcapil-hours.svg)" in english
    indonesian = ktc_report.markdown(report, "id")
    assert indonesian.startswith("# Jaringan KTC: laporan bulanan 2026-11\n") and "| OPD | Unduhan |" in indonesian


def test_the_hours_chart_is_an_svg_with_a_bar_per_hour():
    svg = ktc_report.hours_svg(ktc_report.build(answers())["offices"]["dukcapil"]["hours"], 'duk"capil')
    root = ElementTree.fromstring(svg)
    bars = root.findall(".//{http://www.w3.org/2000/svg}rect")
    assert len(bars) == 24 and root.get("aria-label") == 'duk"capil'
    heights = [float(bar.get("height")) for bar in bars]
    assert heights.index(max(heights)) == 10


def test_the_month_asked_is_checked_and_defaults_to_the_last_one_at_the_site():
    # 2027-01-01 00:30 WITA is still 2026-12-31 in UTC: the site's calendar decides.
    assert ktc_report.month_of("", 1798734600) == (2026, 12)
    assert ktc_report.month_of("", 1798734600, "UTC") == (2026, 11)
    assert ktc_report.month_of("2026-11", 0) == (2026, 11)
    for bad in ("2026-13", "2026-1", "26-11", "2026-11\n- x", "2026-11; rm -rf /"):
        try:
            ktc_report.month_of(bad, 0)
        except ValueError as exc:
            assert "report_month: %r is not a month such as 2026-11" % bad in str(exc)
        else:
            raise AssertionError(bad)


def test_the_files_name_only_offices_whose_label_is_an_office_id():
    asked = ktc_report.questions(2026, 11, "primary")
    assert asked["month"] == "2026-11" and asked["questions"]["throughput"]["step"] == STEP
    data = answers()
    data["bytes"].append({"metric": {"office": "../../etc/cron.d/x", "direction": "download"}, "value": [END, "1"]})
    found = ktc_report.files(dict((name, data[name]) for name in asked["questions"]), asked, "primary")
    assert [f["path"] for f in found] == ["report.en.md", "report.id.md", "charts/bkpsdm-hours.svg",
                                          "charts/dukcapil-hours.svg"]
    assert all("cron" not in f["content"] for f in found)
