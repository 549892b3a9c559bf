// Pages that follow a job's progress (an export request, an anonymisation's result) update in place,
// without reloading: every few seconds the page is fetched again and its [data-live-region] replaced;
// a change of status is written into the polite live region, so screen readers announce it.
// The page stops asking once the server renders the region without data-live-poll (the job is done).
"use strict";
(function () {
  var region = document.querySelector("[data-live-region][data-live-poll]");
  var announcer = document.querySelector("[data-live-announcer]");
  if (!region) {
    return;
  }
  var statusOf = function (root) {
    var status = root.querySelector("[data-live-status]");
    return status ? status.textContent.trim() : "";
  };
  var seconds = function (root) {
    return Math.max(1, parseInt(root.getAttribute("data-live-poll"), 10) || 3);
  };
  var schedule = function () {
    window.setTimeout(poll, seconds(region) * 1000);
  };
  var poll = function () {
    window
      .fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-live-region]");
        if (!fresh) {
          return;
        }
        var before = statusOf(region);
        if (fresh.innerHTML !== region.innerHTML) {
          region.innerHTML = fresh.innerHTML;
        }
        Array.prototype.forEach.call(fresh.attributes, function (attribute) {
          region.setAttribute(attribute.name, attribute.value); // data-status and the like follow too
        });
        var after = statusOf(region);
        if (announcer && after && after !== before) {
          announcer.textContent = after;
        }
        if (fresh.hasAttribute("data-live-poll")) {
          region.setAttribute("data-live-poll", fresh.getAttribute("data-live-poll"));
          schedule();
        } else {
          region.removeAttribute("data-live-poll");
        }
      })
      .catch(function () {
        schedule(); // a network hiccup: try again later
      });
  };
  schedule();
})();
