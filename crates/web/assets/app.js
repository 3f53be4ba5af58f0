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

  // Keyboard shortcuts on staff pages (elements marked data-shortcut="<key>", lists marked
  // data-shortcut-list), ignored while
  // typing and with modifier keys: a <summary> opens its panel and puts the cursor in its first
  // field, a link is followed, a field takes the focus.
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented) return;
    var t = event.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var key = (event.key || "").toLowerCase();
    if (!/^[0-9a-z]$/.test(key)) return;
    // J / K move between the links of a list (a work queue); Enter then opens one.
    var list = document.querySelectorAll("[data-shortcut-list] tbody a");
    if ((key === "j" || key === "k") && list.length) {
      event.preventDefault();
      var at = Array.prototype.indexOf.call(list, document.activeElement);
      var next = at < 0 ? 0 : Math.min(list.length - 1, Math.max(0, at + (key === "j" ? 1 : -1)));
      list[next].focus();
      list[next].scrollIntoView({ block: "nearest" });
      return;
    }
    var el = document.querySelector('[data-shortcut="' + key + '"]');
    if (!el) return;
    event.preventDefault();
    if (el.tagName === "SUMMARY") {
      var details = el.parentElement;
      details.open = true;
      var field = details.querySelector("form input:not([type=hidden]), form textarea, form select, form button");
      (field || el).focus();
      details.scrollIntoView({ block: "nearest" });
    } else if (el.tagName === "A" || el.tagName === "BUTTON") {
      el.click();
    } else {
      el.focus();
    }
  });

  // The shortcut hints are hidden without script, where the keys do nothing.
  document.addEventListener("DOMContentLoaded", function () {
    var hints = document.querySelectorAll(".shortcut-hint");
    for (var i = 0; i < hints.length; i++) hints[i].hidden = false;
  });

  // Print buttons (links marked data-print); without script they are plain links.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-print]");
    if (link) {
      event.preventDefault();
      window.print();
    }
  });
})();
