// The reports' charts: each <canvas data-chart="ID"> draws the Chart.js configuration in the JSON script
// #ID (made by environments/reports/report_charts.py). Runs on load and again after the filter form swaps the
// figures in (HTMX), destroying the charts it replaces.
(function () {
  "use strict";
  const charts = [];

  function draw() {
    if (typeof window.Chart === "undefined") return;
    while (charts.length) charts.pop().destroy();
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      charts.push(new window.Chart(canvas, JSON.parse(source.textContent)));
      canvas.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.body.addEventListener("htmx:afterSettle", draw);
})();
