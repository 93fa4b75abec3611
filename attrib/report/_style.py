"""The report's stylesheet and page script (inline in report.html; no external resources)."""

from __future__ import annotations

CSS = """
:root {
  --ink: #212529; --muted: #6c757d; --line: #e9ecef; --bg: #f4f5f7; --card: #ffffff;
  --accent: #3b5bdb; --good: #2b8a3e; --bad: #c92a2a; --good-bg: #ebfbee; --bad-bg: #fff5f5;
}
* { box-sizing: border-box; }
html { scroll-padding-top: 64px; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
}
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
.top {
  position: sticky; top: 0; z-index: 10; background: #1f2a44; color: #fff;
  box-shadow: 0 1px 3px rgba(0,0,0,.2);
}
.top .wrap { display: flex; align-items: center; gap: 18px; height: 48px; }
.brand { font-weight: 700; letter-spacing: .02em; font-size: 15px; }
.top nav { flex: 1; overflow-x: auto; white-space: nowrap; scrollbar-width: none; }
.top nav a {
  color: #c9d1e6; text-decoration: none; font-size: 13px; padding: 4px 7px; border-radius: 4px;
}
.top nav a:hover { background: rgba(255,255,255,.1); color: #fff; }
.top label { font-size: 13px; color: #c9d1e6; white-space: nowrap; }
.top select {
  margin-left: 6px; font: inherit; font-size: 13px; padding: 3px 6px; border-radius: 4px;
  border: 0; background: #fff; color: var(--ink);
}
.hero { padding: 28px 0 8px; }
.hero h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; letter-spacing: -.01em; }
.hero .meta { color: var(--muted); margin: 0; }
section.block {
  background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px 18px; margin: 18px 0; box-shadow: 0 1px 2px rgba(16,24,40,.04);
}
section.block > h2 { margin: 0 0 4px; font-size: 18px; font-weight: 650; }
section.block > p.sub { margin: 0 0 14px; color: var(--muted); max-width: 900px; }
h3 { font-size: 13px; font-weight: 600; color: #495057; margin: 16px 0 8px;
  text-transform: uppercase; letter-spacing: .04em; }
p.lead { margin: 4px 0 12px; }
p.note { color: var(--muted); font-size: 12.5px; margin: 8px 0 0; }
p.na {
  background: #f8f9fa; border: 1px dashed #ced4da; border-radius: 8px; padding: 10px 14px;
  color: #495057; margin: 6px 0;
}
p.na .hint { color: var(--muted); }
p.na.error { border-color: var(--bad); background: var(--bad-bg); }
.grid2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 28px; }
@media (max-width: 900px) { .grid2 { grid-template-columns: 1fr; } }
.cards {
  display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px;
  margin: 6px 0 8px;
}
@media (max-width: 1100px) { .cards { grid-template-columns: repeat(4, minmax(0, 1fr)); } }
@media (max-width: 700px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
.card {
  border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fcfcfd;
}
.card-label { color: var(--muted); font-size: 12.5px; }
.card-value {
  font-size: 23px; font-weight: 650; margin: 2px 0; font-variant-numeric: tabular-nums;
}
.delta { font-size: 12.5px; font-weight: 600; font-variant-numeric: tabular-nums; }
.delta .vs { color: var(--muted); font-weight: 400; }
.delta.good { color: var(--good); } .delta.bad { color: var(--bad); }
.delta.flat { color: var(--muted); }
.card-foot { color: var(--muted); font-size: 11.5px; margin-top: 2px; min-height: 1em; }
.chart { width: 100%; min-height: 40px; }
.chart.vega-embed { display: block; }
.chart .vega-actions a { font-size: 12px; }
.chart-error { color: var(--bad); font-size: 12.5px; }
.scroll-x { overflow-x: auto; }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th {
  font-weight: 600; color: #495057; background: #f8f9fa; border-bottom: 1px solid #dee2e6;
  white-space: nowrap;
}
table.dense { font-size: 12.5px; }
table.dense th, table.dense td { padding: 5px 6px; }
table.dense th { white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.txt, th.txt { text-align: left; }
td.txt { overflow-wrap: break-word; max-width: 420px; }
td.txt:first-child { min-width: 120px; }
td.muted { color: #adb5bd; }
tr.total td { font-weight: 650; border-top: 2px solid #dee2e6; border-bottom: 0; }
tbody tr:hover td { background: #f8f9ff; }
td.heat { background: rgba(59, 91, 219, calc(var(--h) * .32)); }
small.ci { color: var(--muted); font-size: 11.5px; margin-left: 4px; }
.pill {
  display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px;
  font-weight: 600;
}
.pill.good { background: var(--good-bg); color: var(--good); }
.pill.bad { background: var(--bad-bg); color: var(--bad); }
.pill.flat { background: var(--bg); color: var(--muted); }
.model-name { text-transform: none; color: var(--accent); letter-spacing: 0; }
details { margin: 10px 0 0; }
ul.highlights { margin: 4px 0 6px; padding-left: 20px; }
ul.highlights li { margin: 3px 0; }
details > summary {
  cursor: pointer; color: var(--accent); font-weight: 500; font-size: 13px; padding: 4px 0;
}
footer { color: var(--muted); font-size: 12px; padding: 12px 0 40px; }
@media print {
  .top { position: static; } .top nav, .top label { display: none; }
  section.block { break-inside: avoid; box-shadow: none; }
  body { background: #fff; }
}
"""

#: Renders every spec in #attrib-specs, wires the model selector, and records progress in
#: #attrib-status (charts / rendered / failed) so a headless browser can check the page.
RUNTIME_JS = """
(function () {
  "use strict";
  var status = document.getElementById("attrib-status");
  var specs = JSON.parse(document.getElementById("attrib-specs").textContent);
  var select = document.getElementById("model-select");
  var opts = {
    renderer: "svg",
    actions: {export: true, source: false, compiled: false, editor: false}
  };
  var modelViews = [];
  function current() { return select ? select.value : null; }
  function setModel(view) {
    var m = current();
    if (m === null) return Promise.resolve();
    return view.signal("attrib_model", m).runAsync();
  }
  function labels() {
    var m = current();
    document.querySelectorAll("[data-model-label]").forEach(function (el) {
      el.textContent = m === null ? "" : m;
    });
  }
  // a narrow screen (a phone): legends below a chart stack one entry per row, and small
  // multiples stack one per row at the screen's width, instead of running off its edge
  function fitted(spec, width) {
    // (the screen's width decides: a chart in a half-width column of a desktop keeps its
    // legend in columns)
    if (window.innerWidth >= 600) return spec;
    var copy = JSON.parse(JSON.stringify(spec));
    // the x axes' end labels inside the plot, and titles cut with an ellipsis, not the edge
    copy.config = copy.config || {};
    copy.config.axisX = Object.assign({}, copy.config.axisX,
      {labelFlush: true, titleLimit: Math.max(120, width - 120)});
    (function walk(node) {
      if (Array.isArray(node)) { node.forEach(walk); return; }
      if (!node || typeof node !== "object") return;
      if (node.legend && typeof node.legend === "object" && node.legend.orient === "bottom") {
        node.legend.columns = 1;
      }
      if (Array.isArray(node.concat)) {
        node.columns = 1;
        node.concat.forEach(function (panel) {
          if (typeof panel.width === "number") panel.width = Math.max(150, width - 70);
        });
      }
      Object.keys(node).forEach(function (key) {
        if (key !== "datasets") walk(node[key]);
      });
    })(copy);
    return copy;
  }
  var ids = Object.keys(specs);
  status.setAttribute("data-charts", String(ids.length));
  var jobs = ids.map(function (id) {
    var el = document.getElementById(id);
    return vegaEmbed(el, fitted(specs[id], el.clientWidth), opts).then(function (result) {
      if (el.getAttribute("data-model-param") === "1") {
        modelViews.push(result.view);
        return setModel(result.view);
      }
    }).catch(function (err) {
      el.classList.add("chart-error");
      el.textContent = "This chart could not be drawn: " + err;
      console.error("attrib chart " + id + ": " + err);
      throw err;
    });
  });
  Promise.allSettled(jobs).then(function (results) {
    var ok = results.filter(function (r) { return r.status === "fulfilled"; }).length;
    status.setAttribute("data-rendered", String(ok));
    status.setAttribute("data-failed", String(results.length - ok));
    status.setAttribute("data-done", "1");
  });
  labels();
  if (select) {
    select.addEventListener("change", function () {
      var m = select.value;
      document.querySelectorAll("[data-model]").forEach(function (el) {
        el.hidden = el.getAttribute("data-model") !== m;
      });
      labels();
      modelViews.forEach(function (v) { setModel(v); });
    });
  }
})();
"""
