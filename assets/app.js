// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  // Ask before irreversible actions (forms marked data-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Conditional form fields (data-show-if-field / data-show-if-equals): hidden while their
  // condition does not hold. Without script they all show, each with a hint saying when it applies.
  function applyConditions() {
    var fields = document.querySelectorAll("[data-show-if-field]");
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      var control = document.querySelector('[name="' + el.getAttribute("data-show-if-field") + '"]');
      if (!control) continue;
      var value = control.type === "checkbox" ? (control.checked ? "true" : "false") : control.value;
      el.hidden = value !== el.getAttribute("data-show-if-equals");
    }
  }
  document.addEventListener("change", applyConditions);
  document.addEventListener("DOMContentLoaded", applyConditions);

  // Print buttons (links marked data-print); without script they are plain links.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-print]");
    if (link) {
      event.preventDefault();
      window.print();
    }
  });
})();
