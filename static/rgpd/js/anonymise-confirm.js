// Anonymisation confirmation: the button stays disabled until the acknowledgement box is ticked.
// The server refuses a submission without the box anyway.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-rgpd-acknowledge]").forEach(function (box) {
    var submit = box.form && box.form.querySelector("[data-rgpd-anonymise-submit]");
    if (!submit) {
      return;
    }
    var sync = function () {
      submit.disabled = !box.checked;
    };
    box.addEventListener("change", sync);
    sync();
  });
});
