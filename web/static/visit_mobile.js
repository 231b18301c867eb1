// The door (掌上执法). Every submission (check-in, result, confirmation) gets
// a client id when it is made and goes into a queue kept in localStorage; the
// queue is sent in order and an entry leaves it only once the server has
// answered it (stored, or refused for good). A bad connection therefore loses
// nothing, and a retried upload carries the same client id, which the server
// records once. Pages allow no inline script (CSP script-src 'self').
"use strict";
(function () {
  var KEY = "inspectonce.door.queue.v1";
  var root = document.getElementById("door");
  if (!root) { return; }
  var msg = function (name) { return root.getAttribute("data-msg-" + name) || ""; };

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function load() {
    try { return JSON.parse(localStorage.getItem(KEY)) || []; } catch (e) { return []; }
  }
  function save(q) {
    localStorage.setItem(KEY, JSON.stringify(q));
    showQueue(q);
  }
  function showQueue(q) {
    var box = document.getElementById("door-queue");
    if (!box) { return; }
    box.hidden = q.length === 0;
    document.getElementById("door-queue-count").textContent = String(q.length);
  }
  function note(text) {
    var n = document.getElementById("door-queue-note");
    if (n) { n.textContent = text; }
  }

  // The element of the page an entry belongs to, if this page shows it.
  function target(entry) {
    var v = root.querySelector('.door-visit[data-base="' + entry.base + '"]');
    if (!v) { return null; }
    if (entry.kind === "result") { return v.querySelector('.door-task[data-task="' + entry.task + '"]'); }
    if (entry.kind === "checkin") { return v.querySelector("[data-checkin]"); }
    return v.querySelector("[data-confirm]");
  }
  function state(el, text, cls) {
    if (!el) { return; }
    var s = el.querySelector("[data-state]");
    if (!s) { return; }
    s.textContent = text;
    s.className = "door-state " + (cls || "");
    s.setAttribute("data-state", cls || "");
  }

  function enqueue(entry) {
    entry.body.client_id = uuid();
    var q = load();
    q.push(entry);
    save(q);
    state(target(entry), "…", "pending");
    flush();
  }

  function answered(entry, status, data) {
    var el = target(entry);
    if (status === 200 || status === 201) {
      state(el, msg("saved"), "saved");
      if (!el) { return; }
      el.querySelectorAll(".field-error").forEach(function (n) { n.remove(); });
      el.querySelectorAll("[aria-invalid]").forEach(function (n) { n.removeAttribute("aria-invalid"); });
      if (entry.kind === "result") {
        var cur = el.querySelector("[data-current]");
        var r = el.querySelector('input[name="outcome"][value="' + data.outcome + '"]');
        var label = r && r.parentNode ? r.parentNode.textContent.trim() : data.outcome;
        if (cur) { cur.textContent = label + (data.rule_cited ? " · " + data.rule_cited : ""); }
        el.querySelector(".door-result").setAttribute("data-outcome", data.outcome);
      } else if (entry.kind === "checkin") {
        var btn = el.querySelector("[data-action=checkin]");
        if (btn) { btn.hidden = true; }
        state(el, msg("checked-in") + (data.at_local || data.at), "saved");
      } else if (entry.kind === "confirm") {
        var count = el.querySelector("[data-confirmed-count]");
        if (count) { count.textContent = msg("confirmed").replace("%d", String(data.confirmed_by.length)); }
        var waiting = el.querySelector("[data-awaiting]");
        if (waiting) {
          var left = 0;
          waiting.querySelectorAll("[data-inspector]").forEach(function (p) {
            var done = data.confirmed_by.indexOf(Number(p.getAttribute("data-inspector"))) >= 0;
            p.hidden = done;
            if (!done) { left++; }
          });
          if (left === 0) { waiting.textContent = msg("all-confirmed"); }
        }
        if (data.report) {
          state(el, msg("reported").replace("%s", data.publish_due_local || data.report.publish_due), "saved");
          var cb = el.querySelector("[data-action=confirm]");
          if (cb) { cb.hidden = true; }
        }
      }
      return;
    }
    var why = (data && data.detail) || String(status);
    if (data && data.errors) {
      // Each refusal at its field, in the page's language; the summary
      // names the form's labels, never the API's field names.
      why = data.errors.map(function (f) { return (f.label || f.field) + "：" + (f.message || f.reason); }).join("；");
      if (el) {
        data.errors.forEach(function (f) {
          var input = el.querySelector('[name="' + f.field + '"]');
          var box = input && input.closest ? input.closest(".door-field, fieldset") : null;
          if (!box) { return; }
          var note = box.querySelector(".field-error");
          if (!note) {
            note = document.createElement("span");
            note.className = "field-error";
            box.appendChild(note);
          }
          note.textContent = f.message || f.reason;
          input.setAttribute("aria-invalid", "true");
        });
      }
    }
    state(el, msg("refused") + why, "refused");
  }

  var flushing = false;
  // flush sends the queue in order. It stops at the first entry without a
  // final answer (no connection, a server error, a lapsed session) and keeps
  // it and everything after it for the next try.
  function flush() {
    if (flushing) { return; }
    flushing = true;
    var step = function () {
      var q = load();
      if (q.length === 0) { flushing = false; note(""); return; }
      var e = q[0];
      fetch(e.url, {
        method: e.method, credentials: "same-origin", redirect: "manual",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(e.body)
      }).then(function (res) {
        var json = (res.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (res.type === "opaqueredirect" || res.status === 401 || !json) {
          note(msg("signin"));
          flushing = false;
          return null;
        }
        if (res.status >= 500 || res.status === 429) {
          note(msg("offline"));
          flushing = false;
          return null;
        }
        return res.json().then(function (data) {
          save(load().filter(function (x) { return x.body.client_id !== e.body.client_id; }));
          answered(e, res.status, data);
          step();
        });
      }).catch(function () {
        note(msg("offline"));
        state(target(e), msg("offline"), "pending");
        flushing = false;
      });
    };
    step();
  }

  function outcomeOf(form) {
    var r = form.querySelector('input[name="outcome"]:checked');
    return r ? r.value : "";
  }
  function showFields(form) {
    var o = outcomeOf(form);
    form.querySelectorAll(".door-field").forEach(function (f) {
      f.hidden = (" " + f.getAttribute("data-for") + " ").indexOf(" " + o + " ") < 0;
    });
  }

  root.querySelectorAll(".door-task").forEach(function (form) {
    showFields(form);
    form.addEventListener("change", function () { showFields(form); });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var visit = form.closest(".door-visit");
      var o = outcomeOf(form);
      var body = { outcome: o };
      var val = function (n) { var el = form.elements[n]; return el ? el.value.trim() : ""; };
      if (o === "minor" || o === "violation") { body.rule_cited = val("rule_cited"); }
      if (o === "violation") { body.rectify_by = val("rectify_by"); }
      if (o === "transferred" && val("transferred_to")) { body.transferred_to = Number(val("transferred_to")); }
      if (o === "not_done") { body.not_done_reason = val("not_done_reason"); }
      if (val("note")) { body.note = val("note"); }
      var base = visit.getAttribute("data-base");
      var task = form.getAttribute("data-task");
      enqueue({ kind: "result", base: base, task: task, method: "PUT", url: base + "/tasks/" + task + "/result", body: body });
    });
  });

  root.querySelectorAll("[data-action=checkin]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var base = btn.closest(".door-visit").getAttribute("data-base");
      var body = { at: new Date().toISOString() };
      btn.disabled = true;
      var send = function () { enqueue({ kind: "checkin", base: base, method: "POST", url: base + "/check-in", body: body }); };
      if (!navigator.geolocation) { send(); return; }
      // The position is optional: refused, unavailable or slow, the
      // check-in goes without it.
      navigator.geolocation.getCurrentPosition(function (pos) {
        body.lat = pos.coords.latitude;
        body.lng = pos.coords.longitude;
        if (isFinite(pos.coords.accuracy)) { body.accuracy_m = pos.coords.accuracy; }
        send();
      }, send, { timeout: 8000, maximumAge: 60000 });
    });
  });

  root.querySelectorAll("[data-action=confirm]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var base = btn.closest(".door-visit").getAttribute("data-base");
      enqueue({ kind: "confirm", base: base, method: "POST", url: base + "/confirm", body: {} });
    });
  });

  var retry = document.getElementById("door-retry");
  if (retry) { retry.addEventListener("click", flush); }
  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { flush(); } });
  setInterval(flush, 15000);
  showQueue(load());
  flush();
})();
