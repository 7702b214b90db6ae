"""The recovery chart and the words pages use for schedules, windows and seconds."""

from datetime import time
from types import SimpleNamespace

from environments.chaos.models import ChaosExperiment
from environments.chaos.recovery_chart import recovery_chart
from environments.templatetags.chaos_tags import event_time, schedule_words, seconds, window_words

STATUS_NAMES = {"recovered": "Recovered", "unrecovered": "Did not recover", "running": "Running"}


def run(pk, status, seconds_=None, within=None):
    return SimpleNamespace(pk=pk, status=status, recovery_seconds=seconds_, within_slo=within,
                           get_status_display=lambda: STATUS_NAMES[status])


def test_bars_say_in_colour_and_words_within_late_never_and_not_measured():
    svg = str(recovery_chart([run(1, "recovered", 2.0, True), run(2, "recovered", 45.0, False),
                              run(3, "unrecovered"), run(4, "running")], slo_seconds=30, highlight=2))
    assert svg.startswith('<svg class="chaos-chart" role="img"')
    assert "<title>run 1: 2.0 s</title>" in svg and "#176b3a" in svg  # green: within the SLO
    assert "<title>run 2: 45.0 s</title>" in svg and "#8a5200" in svg  # amber: late
    assert "<title>run 3: not recovered</title>" in svg and "#b42323" in svg  # red: never
    assert "<title>run 4: not measured (running)</title>" in svg  # grey stub
    assert svg.count('stroke="#0b5fb4"') == 1  # the highlighted run
    assert "4 runs; 2 measured, longest 45.0 s; SLO 30 s." in svg


def test_chart_text_is_escaped():
    svg = str(recovery_chart([], slo_seconds=30, title="<script>x</script>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_schedules_windows_and_seconds_in_words():
    every = ChaosExperiment(schedule=ChaosExperiment.INTERVAL, interval_seconds=7200)
    assert schedule_words(every) == "every 2 hours"
    assert schedule_words(ChaosExperiment(schedule=ChaosExperiment.CRON, cron="0 11 * * 1")) == "cron “0 11 * * 1”"
    assert schedule_words(ChaosExperiment()) == "once, by hand"
    working = ChaosExperiment(window_days=[1, 2, 3, 4, 5], window_start=time(10), window_end=time(16),
                              timezone="Europe/Berlin")
    assert window_words(working) == "Mon–Fri 10:00–16:00 Europe/Berlin"
    assert window_words(ChaosExperiment(window_days=[6, 7])) == "Sat, Sun"
    assert window_words(ChaosExperiment()) == "any time"
    assert (seconds(0.019), seconds(4.0), seconds(None)) == ("0.02 s", "4.0 s", "—")


def test_event_times_read_as_clock_times_whatever_iso_form_they_have():
    assert event_time("2026-12-05T06:00:00.123456+00:00") == "06:00:00.123"
    assert event_time("2026-12-05T06:00:00+00:00") == "06:00:00.000"
    assert event_time("soon") == "soon"
