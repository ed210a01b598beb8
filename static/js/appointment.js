// The appointment page: the waiting-room button frees itself when the check-in window
// opens, so a citizen who opened the page early need not know to reload it.
//
// The server says how many seconds are left (its clock, not the citizen's, which may
// be off). The check runs every few seconds against the time the page was loaded, so
// a laptop that slept through the moment frees the button as soon as it wakes.
"use strict";

(function () {
  const button = document.getElementById("enter-waiting-room");
  if (!button || !button.dataset.opensInSeconds) return;
  const opensAt = Date.now() + Number(button.dataset.opensInSeconds) * 1000;

  function open() {
    const link = document.createElement("a");
    link.className = button.className;
    link.href = "/termin/warteraum";
    link.id = button.id;
    link.append(...button.childNodes);
    button.replaceWith(link);
    const hint = document.getElementById("checkin-hint");
    if (hint) hint.textContent = button.dataset.openText;
  }

  const timer = setInterval(function () {
    if (Date.now() >= opensAt) {
      clearInterval(timer);
      open();
    }
  }, 2000);
})();
