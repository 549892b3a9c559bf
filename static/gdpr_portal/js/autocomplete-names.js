// Django's autocomplete (select2) draws its own combobox, named only by the value chosen: an empty one has
// no accessible name. It is named by the label of the <select> it stands for ("Contact"), then its value.
// Select2 draws it when jQuery is ready, which may come after this page's load: drawn boxes are watched.
"use strict";
(function () {
  var name = function (select) {
    var label = select.id && document.querySelector('label[for="' + select.id + '"]');
    var container = select.nextElementSibling;
    if (!label || !container || !container.classList.contains("select2")) {
      return;
    }
    label.id = label.id || select.id + "-label";
    container.querySelectorAll('[role="combobox"], [role="textbox"]').forEach(function (box) {
      var current = box.getAttribute("aria-labelledby") || "";
      if (current.split(" ").indexOf(label.id) === -1) {
        box.setAttribute("aria-labelledby", (label.id + " " + current).trim());
      }
    });
  };
  var nameAll = function () {
    document.querySelectorAll("select.admin-autocomplete").forEach(name);
  };
  document.addEventListener("DOMContentLoaded", function () {
    nameAll();
    new MutationObserver(nameAll).observe(document.body, { childList: true, subtree: true });
  });
})();
