// Drag an appointment to an empty time to reschedule it (progressive enhancement: every
// move can also be made by opening the appointment and picking a new time). The drop posts
// an ordinary form to the appointment's reschedule page, which checks it like any other
// move and explains a conflict, or (a time sooner than the minimum notice) shows the move
// with "Move anyway" to tick.
(function () {
  "use strict";
  var dragged = null;

  function csrfToken() {
    var meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.content : "";
  }

  function post(url, fields) {
    var form = document.createElement("form");
    form.method = "post";
    form.action = url;
    Object.keys(fields).forEach(function (name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = fields[name];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  document.addEventListener("dragstart", function (event) {
    var block = event.target.closest && event.target.closest(".cal-appt[draggable=true]");
    if (!block) return;
    dragged = block;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", block.dataset.appointment);
  });

  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var cell = dragged && event.target.closest && event.target.closest(".cal-cell[data-start]");
    if (!cell) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    document.querySelectorAll(".drop-target").forEach(function (el) { if (el !== cell) el.classList.remove("drop-target"); });
    cell.classList.add("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var cell = dragged && event.target.closest && event.target.closest(".cal-cell[data-start]");
    if (!cell) return;
    event.preventDefault();
    post(dragged.dataset.rescheduleUrl, {
      csrfmiddlewaretoken: csrfToken(),
      start: cell.dataset.start,
      column: cell.dataset.column,
      next: window.location.pathname + window.location.search,
      dropped: "1",
    });
  });
})();
