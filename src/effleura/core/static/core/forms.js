// Forms on every page: focus the error summary of a refused form so a screen reader reads
// it first, move to a field from its link in the summary, and keep the "characters left"
// counters of long text fields up to date as one types, and give htmx the CSRF token.
// No inline script is needed.
(function () {
  "use strict";

  function counterText(left) {
    // Mirrors the counter_text template filter (core/templatetags/effleura_forms.py).
    if (left >= 0) return left + (left === 1 ? " character left" : " characters left");
    return -left + (left === -1 ? " character too many" : " characters too many");
  }

  function setUpCounter(counter) {
    var input = document.getElementById(counter.getAttribute("data-counter-for"));
    var limit = parseInt(counter.getAttribute("data-limit"), 10);
    if (!input || !limit || input.dataset.counted) return;
    input.dataset.counted = "1";
    var describedBy = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (describedBy.indexOf(counter.id) < 0) {
      describedBy.push(counter.id);
      input.setAttribute("aria-describedby", describedBy.join(" "));
    }
    var timer = null;
    input.addEventListener("input", function () {
      // A form sends each line break as two characters (CR LF), and the server counts
      // what it receives: so does the counter, or a text it calls short enough is refused.
      var left = limit - input.value.replace(/\r?\n/g, "\r\n").length;
      // Wait for a pause in typing so a screen reader is not told every keystroke.
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        counter.textContent = counterText(left);
        counter.classList.toggle("over", left < 0);
      }, 250);
    });
  }

  function setUp(root) {
    root.querySelectorAll("[data-counter-for]").forEach(setUpCounter);
    var summary = root.querySelector("[data-error-summary]");
    if (summary && !summary.dataset.ready) {
      summary.dataset.ready = "1";
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        var target = link && document.getElementById(link.getAttribute("href").slice(1));
        if (!target) return;
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.focus();
      });
      summary.focus();
    }
  }

  // The CSRF token htmx sends with every request it makes (X-CSRFToken), from the page's
  // <meta name="csrf-token">: the strict Content-Security-Policy leaves no inline JSON
  // (hx-headers) to carry it. Registered at once, before htmx's first request.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector("meta[name='csrf-token']");
    if (meta && meta.content) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  // A form swapped in by htmx gets the same treatment.
  document.addEventListener("htmx:afterSettle", function (event) { setUp(event.target); });
})();
