"""The dashboard's two charts as Chart.js configurations (JSON the page hands to the vendored Chart.js).

The charts are pictures of tables the page also shows (the accessible text alternative, and what the CSV
exports): the canvas is ``role="img"`` with a sentence describing it, and the table sits under it.
"""

from __future__ import annotations

from typing import Any

from .selectors import CostMonths, WeekRow

# Colour-blind safe (Okabe–Ito), dark enough on white for the bars' outlines.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def weekly_chart(weeks: list[WeekRow]) -> dict[str, Any]:
    """Bars of environments created and destroyed per week."""
    return {
        "type": "bar",
        "data": {"labels": [w.week.strftime("%d %b") for w in weeks],
                 "datasets": [{"label": "Created", "data": [w.created for w in weeks], "backgroundColor": PALETTE[0]},
                              {"label": "Destroyed", "data": [w.destroyed for w in weeks],
                               "backgroundColor": PALETTE[1]}]},
        "options": {"responsive": True, "maintainAspectRatio": False, "animation": False,
                    "scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0},
                                     "title": {"display": True, "text": "Environments"}}}},
    }


def cost_chart(costs: CostMonths, currency: str) -> dict[str, Any]:
    """Stacked bars of cost per month, one colour per team."""
    return {
        "type": "bar",
        "data": {"labels": costs.months,
                 "datasets": [{"label": s["team"], "data": [float(c) for c in s["costs"]],
                               "backgroundColor": PALETTE[i % len(PALETTE)]}
                              for i, s in enumerate(costs.series())]},
        "options": {"responsive": True, "maintainAspectRatio": False, "animation": False,
                    "scales": {"x": {"stacked": True},
                               "y": {"stacked": True, "beginAtZero": True,
                                     "title": {"display": True, "text": f"Cost ({currency})"}}}},
    }
