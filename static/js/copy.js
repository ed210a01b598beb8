// A "Kopieren" button beside every value marked data-copy (the transfer details on the
// status page), so a citizen paying with online banking on the same device need not
// retype an IBAN. Without JavaScript, or without the clipboard, the values stay plain
// selectable text and no button appears.
"use strict";

(function () {
  const texts = document.getElementById("copy-texts");
  if (!texts || !navigator.clipboard) return;
  const label = texts.dataset.copyLabel;
  const copied = texts.dataset.copied;

  for (const value of document.querySelectorAll("[data-copy]")) {
    const term = value.previousElementSibling;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "kern-btn kern-btn--tertiary bb-copy";
    // The name says what is copied: "Kopieren: IBAN".
    button.setAttribute("aria-label", label + ": " + (term ? term.textContent : ""));
    const text = document.createElement("span");
    text.className = "kern-label";
    text.textContent = label;
    button.append(text);
    const status = document.createElement("span");
    status.className = "bb-copy__status";
    status.setAttribute("role", "status");
    button.addEventListener("click", async function () {
      // The IBAN is shown in groups of four; banking forms take it either way.
      await navigator.clipboard.writeText(value.firstChild.textContent.trim());
      status.textContent = copied;
    });
    value.append(" ", button, status);
  }
})();
