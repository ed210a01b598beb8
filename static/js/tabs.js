// Tabs (WAI-ARIA's tabs pattern, activated on selection): a tablist of buttons, each
// controlling a panel. Arrow keys, Home and End move between tabs. A tab that is not
// showing counts the news for its panel (a message, a new capture) until it is chosen.
"use strict";

window.BB = window.BB || {};

(function () {
  class Tabs {
    constructor(tablist, newsLabel) {
      this.tabs = Array.from(tablist.querySelectorAll('[role="tab"]'));
      this.newsLabel = newsLabel; // "{count} neu": for screen readers, beside the number
      this.counts = new Map();
      for (const tab of this.tabs) {
        tab.addEventListener("click", () => this.select(tab.dataset.tab));
        tab.addEventListener("keydown", (event) => this.key(event, tab));
      }
    }

    tab(name) {
      return this.tabs.find((tab) => tab.dataset.tab === name);
    }

    selected() {
      const tab = this.tabs.find((t) => t.getAttribute("aria-selected") === "true");
      return tab ? tab.dataset.tab : null;
    }

    select(name, focus = false) {
      for (const tab of this.tabs) {
        const chosen = tab.dataset.tab === name;
        tab.setAttribute("aria-selected", String(chosen));
        tab.tabIndex = chosen ? 0 : -1;
        document.getElementById(tab.getAttribute("aria-controls")).hidden = !chosen;
        if (chosen && focus) tab.focus();
      }
      this.setCount(name, 0);
    }

    /** Something new in a panel: counted on its tab unless the panel is showing. */
    news(name) {
      if (this.selected() === name) return;
      this.setCount(name, (this.counts.get(name) || 0) + 1);
    }

    reset() {
      for (const tab of this.tabs) this.setCount(tab.dataset.tab, 0);
      this.select(this.tabs[0].dataset.tab);
    }

    setCount(name, count) {
      this.counts.set(name, count);
      const badge = this.tab(name).querySelector(".bb-tabs__count");
      if (!badge) return;
      badge.hidden = count === 0;
      if (count === 0) {
        badge.replaceChildren();
        return;
      }
      const number = Object.assign(document.createElement("span"), { textContent: count });
      number.setAttribute("aria-hidden", "true"); // the words beside it say it
      const words = Object.assign(document.createElement("span"), {
        className: "kern-sr-only",
        textContent: this.newsLabel.replace("{count}", String(count)),
      });
      badge.replaceChildren(number, words);
    }

    key(event, tab) {
      const at = this.tabs.indexOf(tab);
      const last = this.tabs.length - 1;
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: last }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      const target = this.tabs[(next + this.tabs.length) % this.tabs.length];
      this.select(target.dataset.tab, true);
    }
  }

  BB.Tabs = Tabs;
})();
