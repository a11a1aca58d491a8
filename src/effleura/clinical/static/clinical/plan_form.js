// Treatment plan form: a click on a code found by the diagnosis search adds it to the
// codes field (once). Everything else on the form works without JavaScript.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-add-code]");
    if (!button) return;
    var input = document.getElementById("id_diagnosis_codes");
    if (!input) return;
    var code = button.getAttribute("data-add-code");
    var codes = input.value.split(/[,;\s]+/).filter(Boolean);
    if (codes.indexOf(code) === -1) codes.push(code);
    input.value = codes.join(", ");
    input.focus();
  });
})();
