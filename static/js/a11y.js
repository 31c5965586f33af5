/* Accessibility aids shared by the staff and the public layouts (WCAG 2.1 AA), and the case list's
   select-all box. No inline script (CSP): this file is loaded by both base templates.

   - Every field in error (.has-error, or aria-invalid set by the server) is marked aria-invalid and
     names its messages (.error / .field-error) with aria-describedby.
   - The focus goes to the first invalid field of the page, so a keyboard or screen-reader user
     lands where the correction is needed (the messages stay listed beside each field). */
(function () {
  "use strict";

  var seq = 0;

  function controlOf(field) {
    return field.querySelector("input:not([type=hidden]), select, textarea");
  }

  function tie(field) {
    var control = controlOf(field);
    if (!control) { return null; }
    var msgs = Array.prototype.slice.call(field.querySelectorAll(".error, .field-error, .errors"))
      .filter(function (el) { return !el.parentElement.closest(".errors") || el.classList.contains("errors"); });
    if (!msgs.length) { return null; }
    control.setAttribute("aria-invalid", "true");
    var ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    msgs.forEach(function (m) {
      if (!m.id) { seq += 1; m.id = "err-" + seq; }
      if (ids.indexOf(m.id) < 0) { ids.push(m.id); }
    });
    control.setAttribute("aria-describedby", ids.join(" "));
    return control;
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".field.has-error"), tie);
    var first = document.querySelector("main [aria-invalid=true]");
    if (first && typeof first.focus === "function") { first.focus(); }

    // case list: the header box selects or clears every row of the page
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        Array.prototype.forEach.call(document.querySelectorAll("input.row-check"), function (box) {
          box.checked = all.checked;
        });
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
}());
