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

// Regions as chips: the closed picker names the regions ticked.
(function () {
  "use strict";

  function summarize(picker) {
    var names = [];
    picker.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      names.push(box.nextElementSibling ? box.nextElementSibling.textContent : box.value);
    });
    var summary = picker.querySelector("[data-region-summary]");
    if (summary) summary.textContent = names.length ? names.join(", ") : "Choose regions";
  }

  document.addEventListener("change", function (event) {
    var picker = event.target.closest && event.target.closest(".region-picker");
    if (picker) summarize(picker);
  });
})();

// "Add a row" without a reload: a copy of the blank row <template>, numbered next; the
// button still posts the form back (one more row, nothing saved) where there is no script.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-add-row]");
    if (!button) return;
    var fieldset = button.closest("fieldset");
    var template = fieldset && fieldset.querySelector("#technique-row-template");
    var count = fieldset && fieldset.querySelector("input[data-row-count]");
    var body = fieldset && fieldset.querySelector("table.technique-rows tbody");
    if (!template || !count || !body) return;
    event.preventDefault();
    var index = parseInt(count.value, 10) || 0;
    var max = parseInt(button.getAttribute("data-max-rows"), 10) || 0;
    if (max && index >= max) return;
    var html = template.innerHTML.replace(/__i__/g, String(index)).replace(/__n__/g, String(index + 1));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var first = null;
    while (holder.firstElementChild) {
      var row = holder.firstElementChild;
      if (!first) first = row;
      body.appendChild(row);
    }
    count.value = String(index + 1);
    if (max && index + 1 >= max) button.hidden = true;
    var select = first && first.querySelector("select");
    if (select) select.focus();
    // The form changed: a draft saves itself (clinical/autosave.js).
    count.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();
