"""The report in a real browser: headless Chromium loads report.html from a file, with no
network, and every chart must render with no console error and no injected script running.

Needs Debian's ``chromium`` (``apt-get install chromium``); skipped with the reason when it is
absent. Nothing is installed at run time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report import SCRIPT, synthetic_run

from attrib.report import build_report


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (install Debian's chromium: apt-get install chromium)",
)

# Injected first into a copy of the page: records errors, console.error and console.warn,
# unhandled promise rejections and any alert() (an injected script running) into #__errors
# for --dump-dom, and switches the model selector once the charts are drawn.
PROBE = """<script>
(function () {
  var seen = [];
  function put() {
    var el = document.getElementById("__errors");
    if (el) el.textContent = JSON.stringify(seen);
  }
  window.__record = function (kind, msg) { seen.push(kind + ": " + msg); put(); };
  window.addEventListener("error", function (e) {
    window.__record("error", e.message || (e.target && e.target.outerHTML) || "?");
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    window.__record("rejection", String(e.reason));
  });
  var original = console.error;
  console.error = function () {
    window.__record("console.error", Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
  var originalWarn = console.warn;
  console.warn = function () {
    window.__record("console.warn", Array.prototype.join.call(arguments, " "));
    return originalWarn.apply(console, arguments);
  };
  window.alert = function (m) { window.__record("alert", String(m)); };
  // once every chart is drawn, pick the last model in the selector, as a user would
  function switchModel() {
    var st = document.getElementById("attrib-status");
    if (!st || st.getAttribute("data-done") !== "1") { setTimeout(switchModel, 50); return; }
    var sel = document.getElementById("model-select");
    if (!sel) return;
    var last = sel.options[sel.options.length - 1].value;
    sel.value = last;
    sel.dispatchEvent(new Event("change"));
    document.documentElement.setAttribute("data-switched-to", last);
  }
  document.addEventListener("DOMContentLoaded", function () { put(); switchModel(); });
})();
</script>"""


def _flags(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=30000",
    ]


def _chrome(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *_flags(profile), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


class ChartCheck(HTMLParser):
    """For each ``div.chart`` container: whether an <svg> or <canvas> was drawn inside it."""

    VOID = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "param",
            "source",
            "track",
            "wbr",
        ]
    )

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.drawn: dict[str, bool] = {}
        self.status: dict[str, str | None] = {}
        self.errors_text = ""
        self._in_errors = False
        self.switched_to: str | None = None
        self.model_blocks: list[tuple[str | None, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.switched_to = a.get("data-switched-to")
        if "data-model" in a:
            self.model_blocks.append((a["data-model"], "hidden" in a))
        if a.get("id") == "attrib-status":
            self.status = a
        if a.get("id") == "__errors":
            self._in_errors = True
        chart = a.get("id") if "chart" in (a.get("class") or "").split() else None
        if chart:
            self.drawn[chart] = False
        if tag in ("svg", "canvas"):
            for _, owner in self.stack:
                if owner:
                    self.drawn[owner] = True
        if tag not in self.VOID:
            self.stack.append((tag, chart))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in self.VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_errors = False
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_errors:
            self.errors_text += data


def with_probe(page: str) -> str:
    """The page with PROBE first in <head> and the #__errors element last in <body>."""
    head = page.index("<head>") + len("<head>")
    end = page.rindex("</body>")  # the last one: the Vega bundle has "</body>" in a string
    return page[:head] + PROBE + page[head:end] + '<pre id="__errors"></pre>' + page[end:]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("browser")
    out = synthetic_run(root, payload=True)
    page = build_report(out).read_text(encoding="utf-8")
    probe = with_probe(page)
    copy = root / "probe.html"
    copy.write_text(probe, encoding="utf-8")
    done = _chrome(["--dump-dom", copy.as_uri()], root / "profile-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    checker = ChartCheck()
    checker.feed(done.stdout)
    shot = root / "report.png"
    _chrome(
        ["--window-size=1280,2400", f"--screenshot={shot}", (out / "report.html").as_uri()],
        root / "profile-shot",
    )
    return {"page": page, "dom": done.stdout, "check": checker, "shot": shot}


def test_no_console_errors_and_no_injected_script(rendered: dict[str, object]) -> None:
    check = rendered["check"]
    assert isinstance(check, ChartCheck)
    assert check.errors_text, "the probe did not run: #__errors is empty"
    errors = [e for e in json.loads(check.errors_text) if not e.startswith("console.warn")]
    assert errors == []  # includes any alert() an unescaped channel name would have run


def test_no_vega_warnings(rendered: dict[str, object]) -> None:
    # Vega-Lite warns when it has to override a spec (e.g. a sort it drops): treat as a bug
    check = rendered["check"]
    assert isinstance(check, ChartCheck)
    assert [e for e in json.loads(check.errors_text or "[]") if e.startswith("console.warn")] == []


def test_every_chart_rendered(rendered: dict[str, object]) -> None:
    check = rendered["check"]
    assert isinstance(check, ChartCheck)
    page = str(rendered["page"])
    expected = re.findall(r'id="(chart-\d+)"', page)
    assert len(expected) >= 15
    assert sorted(check.drawn) == sorted(expected)
    assert [c for c, ok in check.drawn.items() if not ok] == []
    assert check.status.get("data-done") == "1"
    assert check.status.get("data-charts") == str(len(expected))
    assert check.status.get("data-rendered") == str(len(expected))
    assert check.status.get("data-failed") == "0"


def test_model_selector_switches_tables(rendered: dict[str, object]) -> None:
    check = rendered["check"]
    assert isinstance(check, ChartCheck)
    assert check.switched_to  # the probe changed the selection after the charts were drawn
    shown = {m for m, hidden in check.model_blocks if not hidden}
    assert shown == {check.switched_to}
    assert any(hidden for _, hidden in check.model_blocks)  # other models' tables hidden


def test_malicious_name_shown_as_text(rendered: dict[str, object]) -> None:
    dom = str(rendered["dom"])
    # serialised text nodes are escaped again: the name is on the page as text, not a tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert SCRIPT not in dom.split('<script type="application/json"')[0]


def test_screenshot(rendered: dict[str, object]) -> None:
    shot = rendered["shot"]
    assert isinstance(shot, Path)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank 1280x2400 page compresses to far less


# Loaded into a copy of the page shown in a 390 px iframe (a phone: Chromium's own window is
# never that narrow): once every chart is drawn, each chart's drawing that is wider than its
# container (a legend or a panel running off the screen) is posted to the parent page.
PHONE_PROBE = """<script>
(function () {
  function check() {
    var st = document.getElementById("attrib-status");
    if (!st || st.getAttribute("data-done") !== "1") { setTimeout(check, 50); return; }
    var wide = [];
    // (the Markov transition matrix keeps its readable cells and scrolls sideways)
    document.querySelectorAll("div.chart:not(.matrix)").forEach(function (el) {
      var svg = el.querySelector("svg");
      if (!svg) return;
      var box = svg.getBoundingClientRect(), room = el.clientWidth;
      if (box.width > room + 1) wide.push(el.id + " " + Math.round(box.width) + ">" + room);
      // a legend or an axis drawn past the drawing's edge is cut off (Vega clips it)
      svg.querySelectorAll(".role-legend, .role-axis").forEach(function (part) {
        var r = part.getBoundingClientRect();
        if (r.width && (r.right > box.right + 1 || r.left < box.left - 1)) {
          var at = [r.left, r.right, box.left, box.right].map(Math.round).join(",");
          wide.push(el.id + " " + part.getAttribute("class") + " " + at);
        }
      });
    });
    parent.postMessage(JSON.stringify({width: window.innerWidth, wide: wide}), "*");
  }
  document.addEventListener("DOMContentLoaded", check);
})();
</script>"""

PHONE_FRAME = """<!doctype html><html><body style="margin:0">
<pre id="result"></pre>
<iframe src="phone.html" style="width:390px;height:3000px;border:0"></iframe>
<script>
window.addEventListener("message", function (e) {
  document.getElementById("result").textContent = e.data;
});
</script></body></html>"""


def test_on_a_phone_no_chart_runs_off_the_screen(tmp_path: Path) -> None:
    """At 390 px the model legend showed 2 of its 4 columns (4 models' colours could not be
    told), the sourced legend one of three entries, and the monthly trend ran off the screen:
    legends below a chart list one entry per row, the trend's panels stack at the screen's
    width; no legend or axis is cut off at the drawing's edge."""
    out = synthetic_run(tmp_path, bootstrap=0)
    page = build_report(out).read_text(encoding="utf-8")
    head = page.index("<head>") + len("<head>")
    (tmp_path / "phone.html").write_text(page[:head] + PHONE_PROBE + page[head:], "utf-8")
    (tmp_path / "frame.html").write_text(PHONE_FRAME, encoding="utf-8")
    done = _chrome(
        ["--allow-file-access-from-files", "--dump-dom", (tmp_path / "frame.html").as_uri()],
        tmp_path / "profile",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found is not None, done.stdout[-2000:]
    assert found.group(1), done.stdout[-2000:]
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&gt;", ">"))
    assert result["width"] == 390
    assert result["wide"] == [], result["wide"]
