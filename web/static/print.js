// The roster's print button. Pages allow no inline script (CSP
// script-src 'self'), so the button is wired here; without script it stays
// hidden and the page says to use the browser's print command.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });
});
