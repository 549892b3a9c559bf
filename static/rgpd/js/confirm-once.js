// Confirmation pages (export, anonymisation): a form marked data-rgpd-confirm-once is sent once.
// A double click, or a second click while the first answer is on its way, would otherwise send it
// again and start a second export or anonymisation. The buttons come back when the page is shown
// again from the back/forward cache, so the person can still act after going back.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-rgpd-confirm-once]").forEach(function (form) {
    var sent = false;
    var disabled = [];
    form.addEventListener("submit", function (event) {
      if (sent) {
        event.preventDefault();
        return;
      }
      sent = true;
      form.setAttribute("aria-busy", "true");
      // After this event: a button disabled now would be left out of the form's data.
      window.setTimeout(function () {
        form.querySelectorAll("button, input[type=submit]").forEach(function (button) {
          if (!button.disabled) {
            button.disabled = true;
            disabled.push(button);
          }
        });
      }, 0);
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) {
        sent = false;
        form.removeAttribute("aria-busy");
        disabled.forEach(function (button) {
          button.disabled = false;
        });
        disabled = [];
      }
    });
  });
});
