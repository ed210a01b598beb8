/* The clerk's invitation of an interpreter or companion (docs/protocol.md, guests):
 * a one-time link, mailed by the office or shown here to pass on, and the way to take
 * the guest out of the call again. The guest's video is GuestSeat's (call.js).
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});

  class GuestPanel {
    constructor(socket, texts) {
      this.socket = socket;
      this.texts = texts; // the console's texts.guest
      const $ = (id) => document.getElementById(id);
      this.form = $("guest-form");
      this.email = $("guest-email");
      this.invitation = $("guest-invitation");
      this.link = $("guest-link");
      this.until = $("guest-until");
      this.remove = $("guest-remove");
      this.status = $("guest-status");
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.invite();
      });
      this.remove.addEventListener("click", () => this.takeOut());
      this.link.addEventListener("focus", () => this.link.select());
    }

    /** A guest is in the call (GuestSeat says so, also after this console reloaded). */
    guestPresent(present) {
      if (present) this.remove.hidden = false;
    }

    async invite() {
      const kind = this.form.querySelector("input[name=kind]:checked").value;
      const email = this.email.value.trim();
      try {
        const invitation = await BB.request(
          this.socket,
          "guest_invite",
          email ? { kind, email } : { kind },
        );
        this.link.value = invitation.link;
        this.until.textContent = new Date(invitation.expires_at).toLocaleTimeString("de-DE", {
          hour: "2-digit",
          minute: "2-digit",
        });
        this.invitation.hidden = false;
        this.remove.hidden = false;
        this.email.value = "";
        BB.say(
          this.status,
          invitation.mailed ? this.texts.mailed.replace("{email}", email) : this.texts.shown,
        );
      } catch (error) {
        // A link is out already (perhaps from before a reload): it can be withdrawn.
        if (error.code === "guest_limit") this.remove.hidden = false;
        BB.say(this.status, error.message);
      }
    }

    async takeOut() {
      if (!window.confirm(this.texts.remove_confirm)) return;
      try {
        await BB.request(this.socket, "guest_remove");
        this.reset();
        BB.say(this.status, this.texts.removed);
      } catch (error) {
        BB.say(this.status, error.message);
      }
    }

    reset() {
      this.invitation.hidden = true;
      this.link.value = "";
      this.remove.hidden = true;
      BB.say(this.status, "");
    }

    /** A call's guests end with it. */
    callEnded() {
      this.reset();
    }
  }

  BB.GuestPanel = GuestPanel;
})();
