/* The clerk's verdict on a document (docs/protocol.md, capture_take and capture_analysed).
 *
 * Loaded by the console before verification.js, which feeds it. A clerk decides from
 * a verdict, not from scores: per side of the document the newest capture as a small
 * picture with its state (taken, or retake and why); the MRZ as a small table beside
 * the booking (matches / differs), its expiry, its check digits in one line; the
 * portrait on the document beside the live face. Scores, coordinates and timings are
 * kept for the curious in the "Details" disclosure, newest first and only the last few,
 * so the panel does not grow with every capture.
 *
 * The MRZ's name line has no check digit: it counts as read only once two captures
 * read the same lines (the server's consensus, `mrz_accepted`), and the panel says so.
 *
 * A console that reloaded or reconnected gets what it had been shown again
 * (verification_captures) and replays it here, as it came then (`restore`).
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});
  const $ = (id) => document.getElementById(id);
  const DETAILS_KEPT = 10;
  const FACE_HEIGHT = 240; // px the portrait and the face are drawn at (CSS shows them smaller)

  function element(tag, properties, ...children) {
    const node = Object.assign(document.createElement(tag), properties || {});
    node.append(...children);
    return node;
  }

  /** Any JSON value as a definition list: nested objects nest, lists become lines.
   * Keys are shown as they come (they are the server's). */
  function describe(value, texts) {
    if (value === null || value === undefined) return document.createTextNode("–");
    if (Array.isArray(value)) {
      if (value.every((item) => item === null || typeof item !== "object")) {
        return element("span", {
          className: "bb-verdict__lines",
          textContent: value.map((item) => String(item)).join("\n"),
        });
      }
      return element("ol", { className: "kern-list" },
        ...value.map((item) => element("li", {}, describe(item, texts))));
    }
    if (typeof value === "object") {
      const list = element("dl", { className: "bb-verdict__raw" });
      for (const [key, inner] of Object.entries(value)) {
        list.append(element("dt", { textContent: key }), element("dd", {}, describe(inner, texts)));
      }
      return list;
    }
    if (typeof value === "boolean") return document.createTextNode(value ? texts.yes : texts.no);
    return document.createTextNode(String(value));
  }

  /** "1983-08-12" as the clerk reads a date: "12.08.1983". */
  function germanDate(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return match ? `${match[3]}.${match[2]}.${match[1]}` : "";
  }

  const BADGES = {
    match: "success", valid: "success", differs: "danger", expired: "danger",
    pending: "warning", unknown: "warning",
  };

  class VerdictPanel {
    constructor(texts) {
      this.texts = texts;
      this.v = texts.verdict || {};
      this.captures = new Map(); // capture id -> {kind, image, detail}
      this.newest = new Map(); // side -> capture id of its newest capture
      this.documentType = null;
      this.booking = {};
      this.accepted = false;
    }

    /** The side of the document that carries the MRZ: a passport's data page, the
     * back of an ID card. */
    get mrzSide() {
      return this.documentType === "passport" ? "front" : "back";
    }

    /** A check started or resumed: empty sides (only the document's own), no MRZ. */
    reset(documentType, booking) {
      this.clear();
      this.documentType = documentType;
      this.booking = booking || {};
      for (const row of document.querySelectorAll("#verification-sides tr[data-side]")) {
        row.hidden = documentType === "passport" && row.dataset.side === "back";
      }
    }

    clear() {
      this.captures.clear();
      this.newest.clear();
      this.accepted = false;
      this.documentType = null;
      for (const row of document.querySelectorAll("#verification-sides tr[data-side]")) {
        row.querySelector("[data-thumb]").replaceChildren();
        this.setState(row.dataset.side, "none", this.v.side_none);
      }
      $("verification-mrz-table").hidden = true;
      BB.say($("verification-mrz-status"), this.v.mrz_none);
      $("verification-checks").textContent = "";
      $("verification-name-line").textContent = "";
      for (const cell of document.querySelectorAll("#verification-mrz-table [data-value]")) {
        cell.textContent = "";
      }
      $("verification-details-list").replaceChildren();
      this.clearComparison();
    }

    setState(side, state, text) {
      const cell = document.querySelector(`#verification-sides tr[data-side="${side}"] [data-side-state]`);
      if (!cell) return;
      cell.dataset.state = state;
      cell.textContent = text;
    }

    kindName(kind) {
      return (this.texts.kinds || {})[kind] || kind;
    }

    /** What the console had been shown of the check (verification_captures): the
     * captures in the order they were taken, then their readings in the order they
     * were judged, each as it came then. */
    restore({ captures, readings }) {
      for (const shot of captures) this.capture(shot);
      for (const result of readings) this.analysed(result);
    }

    /** A capture kept (by hand, automatically or as a photo): its side's picture and
     * state, its raw data in the details, and the portrait or face for the comparison. */
    capture(shot) {
      if (this.captures.has(shot.capture_id)) return; // pushed while it was restored
      const name = this.kindName(shot.kind);
      const image = element("img", {
        src: shot.view_url,
        alt: this.v.thumb_alt.replace("{kind}", name),
        className: "bb-verdict__thumb",
      });
      const link = element("a", {
        href: shot.view_url, target: "_blank", rel: "noopener", className: "kern-link",
      }, image);
      link.setAttribute("aria-label", this.v.thumb_open.replace("{kind}", name));
      const row = document.querySelector(`#verification-sides tr[data-side="${shot.kind}"]`);
      if (row) row.querySelector("[data-thumb]").replaceChildren(link);
      this.newest.set(shot.kind, shot.capture_id);
      const detail = this.addDetail(shot, name);
      this.captures.set(shot.capture_id, { kind: shot.kind, analysis: shot.analysis || null, detail });
      this.judgeSide(shot.kind, shot.capture_id, null);
      if (shot.face) this.compare(image, shot.face, "verification-face");
      else if (shot.analysis && shot.analysis.portrait) {
        this.compare(image, shot.analysis.portrait, "verification-portrait");
      }
    }

    /** Taken, or retake and why: the quality verdict's hints, and on the MRZ's side
     * whether its MRZ could be read (`mrz`: the reading, once it has arrived). */
    judgeSide(kind, captureId, mrz) {
      if (this.newest.get(kind) !== captureId) return; // a newer capture of this side shows
      const capture = this.captures.get(captureId);
      const analysis = capture && capture.analysis;
      const reasons = [];
      if (analysis && !analysis.found) reasons.push(this.v.reason_not_found);
      else if (analysis && analysis.quality && analysis.quality.verdict !== "ok") {
        reasons.push(...(analysis.quality.hints || []));
      }
      const mrzSide = kind === this.mrzSide && analysis && analysis.found;
      if (mrzSide && mrz !== null) {
        if (!mrz || !mrz.lines) reasons.push(this.v.reason_no_mrz);
        else if (!mrz.valid) reasons.push(this.v.reason_checks);
      }
      if (reasons.length) {
        this.setState(kind, "retake", this.v.side_retake.replace("{why}", reasons.join("; ")));
      } else if (mrzSide && mrz === null) {
        this.setState(kind, "reading", this.v.side_reading);
      } else {
        this.setState(kind, "taken", mrzSide ? this.v.side_taken_mrz : this.v.side_taken);
      }
    }

    /** The MRZ of a capture has been read (capture_analysed). */
    analysed(result) {
      const capture = this.captures.get(result.capture_id);
      if (!capture) return; // from a check this page no longer shows
      if (capture.read) return; // pushed while it was restored
      capture.read = true;
      const mrz = (result.analysis && result.analysis.mrz) || null;
      capture.analysis = result.analysis || capture.analysis;
      this.judgeSide(capture.kind, result.capture_id, mrz || false);
      capture.detail.append(
        element("h5", { className: "kern-heading-small", textContent: this.v.details_mrz }),
        describe(mrz, this.texts),
      );
      if (this.accepted) return; // two captures agreed: later readings change nothing
      if (result.mrz_accepted) {
        this.accepted = true;
        this.showMrz(result.mrz_fields, { accepted: true, name: result.name_check,
          expired: result.mrz_expired, checks: {} });
      } else if (mrz && mrz.fields) {
        this.showMrz(mrz.fields, { accepted: false, name: null,
          expired: result.analysis.expired, checks: mrz.checks || {} });
      }
    }

    showMrz(fields, { accepted, name, expired, checks }) {
      const v = this.v;
      const valid = Object.values(checks).every(Boolean);
      BB.say($("verification-mrz-status"),
        accepted ? v.mrz_accepted : valid ? v.mrz_once : v.mrz_invalid);
      $("verification-mrz-table").hidden = false;
      $("verification-mrz-table").dataset.accepted = String(accepted);

      const mrzName = [fields.surname, fields.given_names].filter(Boolean).join(", ");
      this.row("name", mrzName, this.booking.name || "",
        name ? (name.matches ? "match" : "differs") : "pending");
      this.row("birth_date", germanDate(fields.birth_date), v.not_asked, "none");
      this.row("expiry_date", germanDate(fields.expiry_date) || v.unreadable, "–",
        expired === true ? "expired" : expired === false ? "valid" : "unknown");
      // null: read, but not kept where the town blacks the number out of the copies
      // (a console that reloaded gets the reading from the database).
      const number = fields.document_number === null ? v.number_not_kept : fields.document_number;
      this.row("document_number", number, "–", "none");
      this.row("nationality", fields.nationality, "–", "none");

      const failed = Object.entries(checks).filter(([, ok]) => !ok)
        .map(([check]) => (v.checks || {})[check] || check);
      const line = $("verification-checks");
      line.dataset.valid = String(!failed.length);
      line.textContent = failed.length ? v.checks_failed.replace("{checks}", failed.join(", "))
        : v.checks_ok;
      $("verification-name-line").textContent = accepted ? v.name_line_agreed : v.name_line_open;
    }

    row(field, mrzValue, bookingValue, verdict) {
      const row = document.querySelector(`#verification-mrz-table tr[data-field="${field}"]`);
      row.querySelector("[data-value=mrz]").textContent = mrzValue || "–";
      row.querySelector("[data-value=booking]").textContent = bookingValue || "–";
      const cell = row.querySelector("[data-value=verdict]");
      cell.dataset.verdict = verdict;
      const text = (this.v.verdicts || {})[verdict];
      if (!text) {
        cell.textContent = "–"; // nothing to compare this field with
        return;
      }
      cell.replaceChildren(element("span", { className: `kern-badge kern-badge--${BADGES[verdict]}` },
        element("span", { className: "kern-label", textContent: text })));
    }

    /** One capture's raw data, newest first; only the last few are kept. */
    addDetail(shot, name) {
      // A restored capture says when it was taken; a new one was taken just now.
      const time = (shot.taken_at ? new Date(shot.taken_at) : new Date()).toLocaleTimeString("de-DE");
      const size = shot.width ? `${shot.width} × ${shot.height} px` : null;
      const detail = element("section", { className: "bb-verdict__detail" });
      detail.dataset.kind = shot.kind;
      detail.dataset.captureId = shot.capture_id;
      detail.append(element("h4", {
        className: "kern-heading-small",
        textContent: [name, size, time].filter(Boolean).join(" · "),
      }));
      const raw = {};
      if (shot.source || shot.auto !== undefined) raw.source = shot.source || (shot.auto ? "auto" : "take");
      for (const key of ["flattened", "tilt", "face", "analysis"]) {
        if (shot[key] !== undefined) raw[key] = shot[key];
      }
      detail.append(describe(raw, this.texts));
      const list = $("verification-details-list");
      list.prepend(detail);
      while (list.children.length > DETAILS_KEPT) list.lastElementChild.remove();
      return detail;
    }

    compare(image, box, canvasId) {
      const draw = () => {
        const [x, y, width, height] = box;
        const canvas = $(canvasId);
        const scale = FACE_HEIGHT / height;
        canvas.width = Math.round(width * scale);
        canvas.height = FACE_HEIGHT;
        canvas.getContext("2d").drawImage(image, x, y, width, height, 0, 0, canvas.width, canvas.height);
        canvas.dataset.drawn = "true";
        $("verification-compare").hidden = false;
      };
      if (image.complete && image.naturalWidth) draw();
      else image.addEventListener("load", draw, { once: true });
    }

    clearComparison() {
      for (const id of ["verification-portrait", "verification-face"]) {
        const canvas = $(id);
        canvas.width = canvas.height = 0;
        delete canvas.dataset.drawn;
      }
      $("verification-compare").hidden = true;
    }
  }

  BB.VerdictPanel = VerdictPanel;
})();
