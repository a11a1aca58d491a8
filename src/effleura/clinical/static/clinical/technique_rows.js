// Screening's word beside a technique row's menu (clinical/note_technique_rows.html): the
// options carry plain names and, when screening flags them for this patient, data-verdict
// and data-verdict-text; the badge after the menu shows the chosen one's word.
(function () {
  "use strict";
  var TONES = { contraindicated: "danger", local: "warn", caution: "caution" };

  function update(select) {
    var badge = document.querySelector('[data-verdict-for="' + select.id + '"]');
    if (!badge) return;
    var option = select.options[select.selectedIndex];
    var verdict = option ? option.getAttribute("data-verdict") : null;
    badge.classList.remove("danger", "warn", "caution");
    if (verdict) {
      badge.textContent = option.getAttribute("data-verdict-text");
      badge.classList.add(TONES[verdict] || "warn");
      badge.hidden = false;
    } else {
      badge.textContent = "";
      badge.hidden = true;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && /^t-\d+-technique$/.test(target.id)) update(target);
  });
})();
