// Draws the dashboard's charts with Chart.js (served by Laurel, no CDN) from the JSON the
// page embeds (#laurel-dashboard-data). Also used by the achievement and target group pages
// (#laurel-definition-data). Each canvas gets data-rendered="1" once drawn.
"use strict";
(function () {
  const COLOURS = ["#417690", "#e0a800", "#2e7d32", "#ba2121", "#7b1fa2", "#00838f"];

  function datasets(series, kind) {
    return series.map((s, i) => ({
      label: s.label,
      data: s.data,
      borderColor: COLOURS[i % COLOURS.length],
      backgroundColor: COLOURS[i % COLOURS.length] + (kind === "line" ? "33" : "cc"),
      fill: false,
      tension: 0,
      pointRadius: kind === "line" ? 2 : 0,
    }));
  }

  function draw(id, kind, chart, options) {
    const canvas = typeof id === "string" ? document.getElementById(id) : id;
    if (!canvas || !chart) {
      return;
    }
    new window.Chart(canvas, {
      type: kind,
      data: {labels: chart.labels, datasets: datasets(chart.series, kind)},
      options: Object.assign({
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: {mode: "index", intersect: false},
        scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
      }, options || {}),
    });
    canvas.parentElement.style.height = canvas.parentElement.style.height || "";
    canvas.style.height = "260px";
    canvas.dataset.rendered = "1";
  }

  function start() {
    if (!window.Chart) {
      return;
    }
    const board = document.getElementById("laurel-dashboard-data");
    if (board) {
      const data = JSON.parse(board.textContent);
      draw("laurel-chart-activity", "line", data.activity);
      draw("laurel-chart-rewards", "bar", data.rewards,
           {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true}}});
      draw("laurel-chart-funnel", "bar", data.funnel, {indexAxis: "y"});
      document.querySelectorAll(".laurel-streak-chart").forEach((canvas) => {
        draw(canvas, "bar", data.streaks[Number(canvas.dataset.index)],
             {scales: {x: {title: {display: true, text: "Streak length (cycles)"}},
                       y: {beginAtZero: true, ticks: {precision: 0}}}});
      });
    }
    const definition = document.getElementById("laurel-definition-data");
    if (definition) {
      const data = JSON.parse(definition.textContent);
      document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
        const chart = data[canvas.dataset.chart];
        draw(canvas, canvas.dataset.kind || "bar", chart, chart && chart.options);
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
