// Lays out the calendar grid (scheduling/includes/calendar_grid.html; its cells and blocks
// are written by scheduling/views/grid_html.py). Where each cell,
// time label and appointment sits is data (data-row, data-span, data-col, and data-left /
// data-width for appointments sharing a time): the Content-Security-Policy forbids style=""
// attributes, while styles set through the DOM, as here, are allowed
// (docs/decisions/0016). The script is loaded right after the grid, not deferred, so the
// grid is laid out before it is first painted; laying it out twice does no harm.
(function () {
  "use strict";

  function place(el) {
    var d = el.dataset;
    if (d.row) el.style.gridRow = d.span ? d.row + " / span " + d.span : d.row;
    if (d.col) el.style.gridColumn = d.col;
    if (d.left && d.width) {
      el.style.marginLeft = d.left + "%";
      el.style.width = d.width + "%";
    }
  }

  function layOut(grid) {
    grid.style.gridTemplateColumns = "4rem repeat(" + grid.dataset.columns + ", minmax(9rem, 1fr))";
    grid.style.gridTemplateRows = "auto repeat(" + grid.dataset.rows + ", var(--cal-row))";
    grid.querySelectorAll("[data-row], [data-col]").forEach(place);
  }

  document.querySelectorAll(".cal-grid[data-columns]").forEach(layOut);
})();
