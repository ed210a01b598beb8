/* The clerk's case panel during a call (docs/protocol.md, "Cases").
 *
 * Loaded by the console after call.js. Each case of the call's appointment is a list
 * item with its state and the actions that state allows; the server decides whether
 * an action is allowed and answers with the case as it now is.
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});
  const $ = (id) => document.getElementById(id);

  const METHODS = [
    ["invoice_email", "Rechnung per E-Mail"],
    ["invoice_post", "Rechnung per Post"],
    ["paypal", "PayPal"],
  ];

  /** YYYY-MM-DD of the clerk's own calendar day (toISOString would give UTC's). */
  function localDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
  }

  function euros(cents) {
    return (cents / 100).toLocaleString("de-DE", { style: "currency", currency: "EUR" });
  }

  function element(tag, properties, ...children) {
    const node = Object.assign(document.createElement(tag), properties || {});
    node.append(...children);
    return node;
  }

  function actionButton(label, ariaLabel, onClick, secondary) {
    const node = element("button", {
      type: "button",
      className: "kern-btn kern-btn--small " + (secondary ? "kern-btn--tertiary" : "kern-btn--secondary"),
    });
    node.append(element("span", { className: "kern-label", textContent: label }));
    node.setAttribute("aria-label", ariaLabel);
    node.addEventListener("click", onClick);
    return node;
  }

  class CasePanel {
    constructor(socket) {
      this.socket = socket;
      this.inCall = false;
      $("case-open").addEventListener("submit", (event) => {
        event.preventDefault();
        this.open();
      });
      socket.on("cases_updated", ({ cases }) => {
        if (this.inCall) this.render(cases);
      });
    }

    say(text) {
      BB.say($("cases-status"), text || "");
    }

    callStarted(citizen) {
      this.inCall = true;
      const select = $("case-service");
      if (citizen && [...select.options].some((o) => o.value === citizen.service_id)) {
        select.value = citizen.service_id;
      }
      $("case-quantity").value = "1";
      this.say("");
      this.refresh();
    }

    callEnded() {
      this.inCall = false;
      $("case-list").replaceChildren();
      this.say("");
    }

    async refresh() {
      try {
        const { cases } = await BB.request(this.socket, "case_list", {});
        if (this.inCall) this.render(cases);
      } catch (error) {
        this.say(error.message);
      }
    }

    async open() {
      const quantity = Number($("case-quantity").value || "1");
      try {
        const opened = await BB.request(this.socket, "case_open", {
          service_id: $("case-service").value,
          quantity,
        });
        this.say("Vorgang " + opened.reference + " eröffnet.");
      } catch (error) {
        this.say(error.message);
      }
    }

    async act(caseId, action, extra) {
      try {
        const done = await BB.request(
          this.socket, "case_action", Object.assign({ case_id: caseId, action }, extra || {}), 20000,
        );
        let text = "Vorgang " + done.reference + ": " + done.state_label + ".";
        if (done.invoice_number) text += " Rechnung " + done.invoice_number + " erstellt.";
        if (done.approve_url) text += " Der PayPal-Link ist an die Person gegangen.";
        this.say(text);
      } catch (error) {
        this.say(error.message);
      }
    }

    render(cases) {
      $("case-list").replaceChildren(...cases.map((c) => this.item(c)));
    }

    item(c) {
      const title = c.service_name + (c.quantity > 1 ? " × " + c.quantity : "");
      const item = element("li", { className: "bb-cases__item" });
      item.dataset.caseId = c.case_id;
      item.dataset.state = c.state;
      const head = element("p", { className: "kern-body" });
      head.append(
        element("strong", { textContent: title }),
        document.createTextNode(" · " + c.reference + " · " + euros(c.fee_cents) + " · "),
        element("span", { className: "bb-cases__state", textContent: c.state_label }),
      );
      item.append(head);
      const actions = element("div", { className: "bb-controls" });
      const name = title + " (" + c.reference + ")";
      const add = (label, action, extra, secondary) =>
        actions.append(
          actionButton(label, name + ": " + label, () => this.act(c.case_id, action, extra && extra()), secondary),
        );
      const needsPayment = c.fee_cents > 0;
      if (c.state === "open") add("Identität verifiziert", "verified");
      if (c.state === "open" || c.state === "verified") {
        if (needsPayment) {
          const method = element("select", { className: "kern-form-input__select" });
          method.setAttribute("aria-label", name + ": Zahlungsart");
          for (const [value, label] of METHODS) method.append(element("option", { value, textContent: label }));
          const address = element("textarea", { className: "kern-form-input__input", rows: 3 });
          address.setAttribute("aria-label", name + ": Anschrift für die Rechnung per Post (eine Zeile je Zeile)");
          address.hidden = true;
          method.addEventListener("change", () => (address.hidden = method.value !== "invoice_post"));
          actions.append(method, address);
          add("Zahlung anfordern", "request_payment", () => ({
            method: method.value,
            address: method.value === "invoice_post"
              ? address.value.split("\n").map((line) => line.trim()).filter(Boolean)
              : [],
          }));
        } else {
          add("Bearbeiten", "fulfil");
        }
      }
      if (c.state === "payment_pending") add("Zahlung erhalten", "mark_paid");
      if (c.state === "paid" || c.state === "waived") add("Bearbeiten", "fulfil");
      if (c.state === "in_fulfilment") {
        if (c.delivery === "town") {
          add("Versandt (heute)", "posted", () => ({ posted_on: localDay(new Date()) }));
        } else if (c.delivery === "bzr") {
          const field = element("input", { className: "kern-form-input__input", type: "text", maxLength: 64 });
          field.setAttribute("aria-label", name + ": Aktenzeichen der Übermittlung");
          actions.append(field);
          add("An BZR übermittelt", "forwarded", () => ({ bzr_reference: field.value }));
        } else {
          add("Abschließen", "close");
        }
      }
      if (c.state === "posted" || c.state === "forwarded") add("Abschließen", "close");
      if (!["closed", "cancelled", "failed"].includes(c.state)) {
        // A visible label, not only an accessible name: the field says what it is for.
        const reasonId = "case-reason-" + c.id;
        const reason = element("input", {
          className: "kern-form-input__input",
          type: "text",
          maxLength: 300,
          id: reasonId,
        });
        const field = element("div", { className: "kern-form-input" });
        field.append(
          element("label", {
            className: "kern-label",
            htmlFor: reasonId,
            textContent: "Grund (für Erlass oder Storno)",
          }),
          reason,
        );
        actions.append(field);
        if (["open", "verified", "payment_pending"].includes(c.state) && needsPayment) {
          add("Gebühr erlassen", "waive", () => ({ reason: reason.value }), true);
        }
        add("Stornieren", "cancel", () => ({ reason: reason.value }), true);
      }
      item.append(actions);
      return item;
    }
  }

  BB.CasePanel = CasePanel;
})();
