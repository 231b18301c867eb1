// The demand form (/demands/new): show the chosen target's fields, filter
// the items, and count the sample's population as its fields change. Pages
// allow no inline script (CSP script-src 'self'), so it lives here; without
// script the form still works: both targets show, the filter is applied by
// the "count" button, and that button counts the population.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("dem-form");
  if (!form) { return; }
  var byId = function (id) { return document.getElementById(id); };

  var isSample = function () { return byId("target-sample").checked; };
  var showTarget = function () {
    byId("list-fields").hidden = isSample();
    byId("sample-fields").hidden = !isSample();
  };

  var q = byId("item_q");
  var filterItems = function () {
    var s = q.value.trim().toLowerCase();
    document.querySelectorAll("#items li.item").forEach(function (li) {
      var box = li.querySelector("input[type=checkbox]");
      li.hidden = s !== "" && !box.checked && li.getAttribute("data-search").toLowerCase().indexOf(s) < 0;
    });
  };
  if (q) {
    q.addEventListener("input", filterItems);
    // Enter in the filter box must not submit the demand.
    q.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); } });
    filterItems();
  }

  var out = byId("population"), detail = byId("population-detail");
  var timer = null, seq = 0;
  var params = function () {
    var p = new URLSearchParams();
    Array.prototype.forEach.call(byId("region_id").selectedOptions, function (o) { p.append("region_id", o.value); });
    byId("industry").value.split(/[\s,，、;]+/).forEach(function (s) { if (s) { p.append("industry", s.toUpperCase()); } });
    if (byId("sample_scenario_id").value) { p.set("scenario_id", byId("sample_scenario_id").value); }
    document.querySelectorAll("input[name=risk]:checked").forEach(function (b) { p.append("risk", b.value); });
    if (byId("size-count").checked && byId("count").value) { p.set("count", byId("count").value); }
    if (byId("size-ratio").checked && byId("ratio_pct").value) {
      var pct = parseFloat(byId("ratio_pct").value);
      p.set("ratio", isNaN(pct) ? byId("ratio_pct").value : String(pct / 100));
    }
    return p;
  };
  var count = function () {
    if (!isSample()) { return; }
    clearTimeout(timer);
    timer = setTimeout(function () {
      var mine = ++seq;
      out.setAttribute("data-state", "counting");
      fetch("/demands/population?" + params().toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (b) {
          if (mine !== seq) { return; }
          if (b.errors) {
            out.removeAttribute("data-population");
            out.removeAttribute("data-expected");
            out.textContent = Object.keys(b.errors).map(function (k) { return b.errors[k]; }).join(" ");
            out.setAttribute("data-state", "error");
            return;
          }
          out.setAttribute("data-population", String(b.population));
          if (b.expected === null || b.expected === undefined) { out.removeAttribute("data-expected"); } else { out.setAttribute("data-expected", String(b.expected)); }
          out.textContent = b.text || "";
          detail.textContent = b.detail || "";
          out.setAttribute("data-state", "counted");
        })
        .catch(function () { if (mine === seq) { out.setAttribute("data-state", "error"); } });
    }, 250);
  };

  form.querySelectorAll("input[name=target]").forEach(function (r) {
    r.addEventListener("change", function () { showTarget(); count(); });
  });
  ["region_id", "sample_scenario_id"].forEach(function (id) { byId(id).addEventListener("change", count); });
  ["industry", "count", "ratio_pct"].forEach(function (id) { byId(id).addEventListener("input", count); });
  form.querySelectorAll("input[name=risk], input[name=size_kind]").forEach(function (b) { b.addEventListener("change", count); });
  showTarget();
  if (isSample()) { count(); }
});
