"""Recovery seconds per run as an inline SVG bar chart (no script, no outside library).

The SVG is ``role="img"`` with a title and a description that say what it shows in words; the pages
also offer the same numbers as a table (the chart's text alternative for screen readers and copying).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 640, 180
LEFT, BOTTOM, TOP = 40, 24, 12  # room for the axis labels


MIN_BAR = 3  # px: a 0.1 s recovery is still a visible bar
MEASURED = frozenset({"recovered", "unrecovered"})


def seconds_text(value: float) -> str:
    """Seconds as people read them: two decimals under a second (watch-measured recoveries often are)."""
    return f"{value:.2f} s" if value < 1 else f"{value:.1f} s"


def _bar(run: Any) -> tuple[str, str]:
    """(colour, words) of one run's bar."""
    if run.status not in MEASURED:
        return "#8795a1", f"not measured ({run.get_status_display().lower()})"
    if run.recovery_seconds is None:
        return "#b42323", "not recovered"
    return ("#176b3a" if run.within_slo else "#8a5200"), seconds_text(run.recovery_seconds)


def recovery_chart(runs: Sequence[Any], *, slo_seconds: float, title: str = "Recovery time per run",
                   highlight: int | None = None) -> SafeString:
    """Bars of ``runs`` (oldest first): recovery seconds, green within the SLO, amber late, red never
    recovered (drawn to the top), a grey stub for a run that measured nothing (queued, running, skipped,
    stopped…). A dashed line marks the SLO; ``highlight`` (a run id) is outlined; with room, each bar
    carries its value."""
    measured = [r.recovery_seconds for r in runs if r.recovery_seconds is not None and r.status in MEASURED]
    top = max([slo_seconds * 1.25, *measured]) or 1.0
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(runs), 1)
    bar_w = max(min(step * 0.7, 40), 2)

    def y(seconds: float) -> float:
        return TOP + plot_h - plot_h * min(seconds, top) / top

    bars, labels = [], []
    for i, run in enumerate(runs):
        colour, words = _bar(run)
        if run.status not in MEASURED:
            height_top = TOP + plot_h - MIN_BAR
        elif run.recovery_seconds is None:
            height_top = TOP
        else:
            height_top = min(y(run.recovery_seconds), TOP + plot_h - MIN_BAR)
        x = LEFT + i * step + (step - bar_w) / 2
        bars.append((
            f"{x:.1f}", f"{height_top:.1f}", f"{bar_w:.1f}", f"{TOP + plot_h - height_top:.1f}", colour,
            ' stroke="#0b5fb4" stroke-width="3"' if highlight is not None and run.pk == highlight else "",
            f"run {run.pk}: {words}",
        ))
        if step >= 36 and run.status in MEASURED:
            labels.append((f"{x + bar_w / 2:.1f}", f"{max(height_top - 4, TOP + 10):.1f}",
                           words if run.recovery_seconds is not None else "never"))
    described = (f"{len(runs)} runs; {len(measured)} measured, longest {seconds_text(max(measured))}"
                 if measured else f"{len(runs)} runs; none measured yet") + f"; SLO {slo_seconds:g} s."
    slo_y = f"{y(slo_seconds):.1f}"
    return format_html(
        '<svg class="chaos-chart" role="img" aria-labelledby="chaos-chart-title chaos-chart-desc" '
        'viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMinYMin meet">'
        '<title id="chaos-chart-title">{title}</title><desc id="chaos-chart-desc">{desc}</desc>'
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="#8795a1"/>'
        '<text x="4" y="{base}" font-size="11" fill="#52606d">0 s</text>'
        '<text x="4" y="{top_y}" font-size="11" fill="#52606d">{top_label}</text>'
        '{bars}{labels}'
        '<line x1="{left}" y1="{slo_y}" x2="{right}" y2="{slo_y}" stroke="#b42323" stroke-dasharray="6 4"/>'
        '<text x="{slo_x}" y="{slo_label_y}" font-size="11" fill="#b42323" text-anchor="end">SLO {slo} s</text>'
        '</svg>',
        w=WIDTH, h=HEIGHT, title=title, desc=described, left=LEFT, right=WIDTH - 8, base=TOP + plot_h,
        top_y=TOP + 10, top_label=f"{top:.0f} s", slo_y=slo_y, slo_x=WIDTH - 10, slo_label_y=float(slo_y) - 4,
        slo=f"{slo_seconds:g}",
        bars=format_html_join("", '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"{}><title>{}</title></rect>',
                              ((x, yy, w, h, fill, SafeString(stroke), label)
                               for x, yy, w, h, fill, stroke, label in bars)),
        labels=format_html_join("", '<text x="{}" y="{}" font-size="11" fill="#1f2933" text-anchor="middle"'
                                    ' aria-hidden="true">{}</text>', labels),
    )
