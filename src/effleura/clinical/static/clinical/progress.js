// Progress charts (clinical/measures.html): one Chart.js line chart per <canvas data-progress>,
// drawn from the JSON beside it. The data table under each chart holds the same numbers and
// is what screen readers, tests and a page without scripts use.
(function () {
  "use strict";
  var SERIES_COLOURS = ["#1f6f78", "#b3541e", "#6b4fa0", "#2e7d32"];
  var GOAL_COLOUR = "#a32020";

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.progress);
    if (!source || typeof window.Chart !== "function") return;
    var data = JSON.parse(source.textContent);
    var datasets = data.series.map(function (series, i) {
      var colour = SERIES_COLOURS[i % SERIES_COLOURS.length];
      return {
        label: series.label,
        data: series.values,
        borderColor: colour,
        backgroundColor: colour,
        pointRadius: 4,
        pointHoverRadius: 6,
        spanGaps: true,
        tension: 0
      };
    });
    data.goals.forEach(function (goal) {
      datasets.push({
        label: goal.label,
        data: data.dates.map(function () { return goal.value; }),
        borderColor: GOAL_COLOUR,
        borderDash: [6, 4],
        borderWidth: 2,
        // With a single date there is no segment to draw (a first visit): mark the goal
        // with a wide horizontal dash instead, so it is never invisible.
        pointStyle: "line",
        pointRadius: data.dates.length === 1 ? 14 : 0,
        pointHoverRadius: data.dates.length === 1 ? 14 : 0,
        fill: false
      });
    });
    new window.Chart(canvas, {
      type: "line",
      data: { labels: data.dates, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          y: { min: data.min, max: data.max, title: { display: true, text: data.unit } },
          x: { title: { display: true, text: "Date" } }
        },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-progress]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
