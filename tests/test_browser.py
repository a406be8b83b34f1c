"""The widgets and the reports as people use them: real JupyterLab, real (headless) Chromium.

A student: a JupyterLab server on localhost (free port, random token, a temporary root holding
copies of the lessons) is opened in Chromium; every lesson with an explorer widget runs all its
cells, then each control of the explorer is moved in turn (density, method, layer, k, image),
and after each move the explorer's figure must change (pixels of its image) and its label must
show the new value, with no error in any cell.

A report reader: one lesson with a widget is run with ``sparsepriv-nb run``; its HTML is opened
with the network off, and the formulas must be typeset by the MathJax shipped with the report,
the widget area must show a picture, and the index's thumbnails must load and its links
resolve.

Screenshots of each state go to the test's temporary folder (printed with ``-s``). Marked
``browser``; skipped when Chromium or Playwright is missing, except under ``CI=true``, where that
is a failure. Run only these: ``python -m pytest tests/test_browser.py -m browser``
(``SPARSEPRIV_BROWSER_LESSONS=01,04`` restricts them to some lessons).
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
SERVER_START_S = 240   # JupyterLab on a busy 2-core machine
RUN_ALL_S = 900        # all lessons with widgets, run at once
ACTION_S = 180         # one control moved -> figure redrawn
# The controls a student must be able to move, per lesson (label of the control).
EXPECTED_CONTROLS = {"01": {"density", "method"}, "02": {"density"},
                     "04": {"k", "layer", "image"}}


def _chromium() -> str | None:
    for path in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium",
                 shutil.which("chromium-browser")):
        if path and Path(path).is_file():
            return path
    return None


def _require_browser():
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright for Python is not installed (pip install playwright)"
    if reason is None and _chromium() is None:
        reason = "no Chromium at /usr/bin/chromium (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI=true: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")


def _lessons_with_widgets() -> list[Path]:
    from sparsepriv_nb import _lessons

    folder = _lessons.lessons_dir()
    only = [k.strip() for k in os.environ.get("SPARSEPRIV_BROWSER_LESSONS", "").split(",")
            if k.strip()]
    return [p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))
            if "_explorer(" in p.read_text(encoding="utf-8")
            and (not only or p.name[:2] in only)]


LESSONS = _lessons_with_widgets()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _png_differs(a: bytes, b: bytes) -> bool:
    from PIL import Image, ImageChops

    ia, ib = Image.open(io.BytesIO(a)).convert("RGB"), Image.open(io.BytesIO(b)).convert("RGB")
    return ia.size != ib.size or ImageChops.difference(ia, ib).getbbox() is not None


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-shots")
    print(f"\nscreenshots in {folder}")
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``sparsepriv-nb run`` of one lesson with a widget, started at once in the background
    (it runs while JupyterLab does); waited for by the report test."""
    _require_browser()
    if not LESSONS:
        pytest.skip("no lesson has an explorer widget")
    out = tmp_path_factory.mktemp("report")
    key = "04" if any(p.name.startswith("04") for p in LESSONS) else LESSONS[0].name[:2]
    log = open(out.parent / "report.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "sparsepriv_nb", "run", "--only", key,
                             "--jobs", "1", "--output", str(out)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield proc, out, key, out.parent / "report.log"
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, report):
    """A JupyterLab server on a free port with a random token over a copy of the lessons;
    always shut down (kernels included) when the module's tests end."""
    _require_browser()
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    for path in LESSONS:
        shutil.copy(path, root / path.name)
    shutil.copytree(LESSONS[0].parent / "params", root / "params")
    # Render every cell (JupyterLab 4 virtualises long notebooks otherwise).
    settings = base / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"),
               JUPYTER_RUNTIME_DIR=str(base / "runtime"), IPYTHONDIR=str(base / "ipython"),
               OMP_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
           f"--port={port}", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.expose_app_in_browser=True",
           f"--LabApp.user_settings_dir={base / 'settings'}",
           f"--LabApp.workspaces_dir={base / 'workspaces'}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    log = open(base / "server.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start in {SERVER_START_S} s: "
                                       f"{(base / 'server.log').read_text()[-2000:]}") from None
                time.sleep(1)
        yield url, token, root
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


_KERNEL_READY = """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle'; }"""
_ALL_RAN = """() => { const nb = window.jupyterapp.shell.currentWidget;
  const cells = nb.content.widgets.filter(c => c.model.type === 'code');
  const errors = cells.some(c => c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  const done = cells.every(c => c.model.executionCount !== null &&
                                 c.promptNode.textContent.indexOf('*') < 0);
  return nb.sessionContext.session.kernel.status === 'idle' && (done || errors); }"""
_ERRORS = """() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter(c => c.model.type === 'code')
  .map((c, i) => c.model.outputs.toJSON().filter(o => o.output_type === 'error')
       .map(o => 'code cell ' + (i + 1) + ': ' + o.ename + ': ' + o.evalue)).flat()"""


@pytest.fixture(scope="module")
def pages(lab, browser, shots):
    """Every lesson with a widget opened in its own tab and run (all at once), as a student
    would with Run > Run All Cells."""
    url, token, _ = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = {}
    t0 = time.monotonic()
    for path in LESSONS:  # open all first: their kernels start side by side
        page = context.new_page()
        page.goto(f"{url}/lab/tree/{path.name}?token={token}")
        opened[path.name[:2]] = page
    for page in opened.values():
        page.wait_for_function(_KERNEL_READY, timeout=SERVER_START_S * 1000, polling=500)
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    for key, page in opened.items():
        left = max(1.0, RUN_ALL_S - (time.monotonic() - t0))
        page.wait_for_timeout(1000)
        page.wait_for_function(_ALL_RAN, timeout=left * 1000, polling=1000)
        page.screenshot(path=str(shots / f"{key}_after_run_all.png"))
    print(f"\nran {sorted(opened)} in JupyterLab in {time.monotonic() - t0:.0f} s")
    yield opened
    context.close()


def _state(widget, tries: int = 20):
    """(figure PNG data, screenshot of the figure, label -> shown value), retried while the
    output area is being redrawn (its image replaced under the locator)."""
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            return _state_once(widget)
        except Error:
            if attempt == tries - 1:
                raise
            widget.page.wait_for_timeout(500)


def _state_once(widget):
    img = widget.locator(".widget-output img").last
    img.wait_for(timeout=ACTION_S * 1000)
    labels = {}
    for control in widget.locator(".widget-slider, .widget-dropdown").all():
        label = control.locator("label.widget-label").inner_text().strip()
        if control.locator("select").count():
            labels[label] = control.locator("select").input_value()
        else:
            labels[label] = control.locator(".widget-readout").inner_text().strip()
    return img.get_attribute("src"), img.screenshot(), labels


def _shot(locator, path: Path, tries: int = 10) -> None:
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            locator.screenshot(path=str(path))
            return
        except Error:
            if attempt == tries - 1:
                raise
            locator.page.wait_for_timeout(500)


def _move(control) -> str:
    """Move one control to another value as a student would; return what it now shows."""
    if control.locator("select").count():
        select = control.locator("select")
        values = [o.get_attribute("value") for o in select.locator("option").all()]
        current = select.input_value()
        new = next(v for v in values if v != current)
        select.select_option(new)
        return new
    handle = control.locator(".noUi-handle")
    at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    handle.focus()
    handle.press("ArrowLeft" if at_end else "ArrowRight")
    return ""


@pytest.mark.parametrize("lesson", [p.name for p in LESSONS] or ["none"])
def test_student_moves_every_control_and_the_explorer_follows(lesson, pages, shots):
    if lesson == "none":
        pytest.skip("no lesson has an explorer widget")
    key = lesson[:2]
    page = pages[key]
    page.bring_to_front()  # background tabs do not render: screenshots never settle there
    errors = page.evaluate(_ERRORS)
    assert not errors, f"{lesson}: cells failed after Run All: {errors}"
    widget = page.locator(".widget-interact").first
    assert widget.count(), f"{lesson}: no explorer widget rendered after Run All"
    widget.scroll_into_view_if_needed()
    controls = widget.locator(".widget-slider, .widget-dropdown").all()
    moved = set()
    for step, control in enumerate(controls):
        label = control.locator("label.widget-label").inner_text().strip()
        src, shot, labels = _state(widget)
        _shot(widget, shots / f"{key}_{step}_before_{label}.png")
        chosen = _move(control)
        action = f"{lesson}: moving '{label}' from {labels[label]!r}"
        deadline = time.monotonic() + ACTION_S
        while True:
            new_src, new_shot, new_labels = _state(widget)
            if new_src != src and new_labels[label] != labels[label]:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"{action} did not update the explorer within {ACTION_S} s "
                            f"(label now {new_labels[label]!r}, figure "
                            f"{'changed' if new_src != src else 'unchanged'})")
            page.wait_for_timeout(500)
        _shot(widget, shots / f"{key}_{step}_after_{label}.png")
        if chosen:
            assert new_labels[label] == chosen, f"{action}: the menu shows {new_labels[label]!r}"
        assert _png_differs(shot, new_shot), f"{action}: the figure's pixels did not change"
        others = {k: v for k, v in new_labels.items() if k != label}
        assert others == {k: v for k, v in labels.items() if k != label}, \
            f"{action} changed other controls: {labels} -> {new_labels}"
        errors = page.evaluate(_ERRORS)
        assert not errors, f"{action}: a cell shows an error: {errors}"
        assert "Traceback" not in widget.locator(".widget-output").inner_text(), \
            f"{action}: the explorer shows an error"
        moved.add(label)
    missing = EXPECTED_CONTROLS.get(key, set()) - moved
    assert not missing, f"{lesson}: the explorer has no control {sorted(missing)} to move"


def test_report_works_offline(report, browser, shots):
    """The HTML of an executed lesson and the index, opened with the network off."""
    _require_browser()
    proc, out, key, log = report
    try:
        proc.wait(timeout=RUN_ALL_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"sparsepriv-nb run --only {key} took over {RUN_ALL_S} s")
    assert proc.returncode == 0, log.read_text()[-3000:]
    context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
    requested = []

    def _route(route):
        if route.request.url.startswith("file:"):
            return route.continue_()
        requested.append(route.request.url)
        return route.abort()

    context.route("**/*", _route)
    try:
        page = context.new_page()
        html = next(out.glob(f"{key}_*.html"))
        page.goto(html.as_uri())
        page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue && "
                               "MathJax.Hub.queue.pending === 0 && "
                               "document.querySelectorAll('.MathJax, .MathJax_Display').length "
                               "> 0", timeout=60_000, polling=500)
        page.screenshot(path=str(shots / f"report_{key}.png"))
        text = page.inner_text("body")
        assert "$k" not in text and "$\\beta" not in text, "formulas left as raw TeX"
        assert page.locator(".MathJax_Error, .MathJax .merror").count() == 0
        # the explorer's cell shows its static view: a loaded picture, not an empty Out[...]
        views = page.locator("img").evaluate_all(
            "imgs => imgs.filter(i => i.complete && i.naturalWidth > 100).length")
        assert views > 0
        widget_cells = page.locator(".jp-CodeCell", has_text="_explorer(")
        assert widget_cells.count() >= 1
        area = widget_cells.last.locator(".jp-OutputArea-output img")
        assert area.count() >= 1, "the explorer's output area is empty in the HTML report"
        assert area.last.evaluate("i => i.complete && i.naturalWidth > 100")
        widget_cells.last.screenshot(path=str(shots / f"report_{key}_widget.png"))

        page.goto((out / "index.html").as_uri())
        thumbs = page.locator("img.thumb")
        assert thumbs.count() >= 1, "the index shows no headline thumbnail"
        assert thumbs.evaluate_all("imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
        for href in page.locator("a[href]").evaluate_all("as => as.map(a => a.href)"):
            assert href.startswith("file:"), href
            target = Path(urllib.parse.unquote(href[len("file://"):]))
            assert target.exists(), f"index link does not resolve: {href}"
        page.screenshot(path=str(shots / "report_index.png"), full_page=True)
        _assert_no_horizontal_scroll(page, "the index of a real run")
    finally:
        context.close()
    assert not requested, f"the report asked the network for {requested}"


_WIDTHS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def _assert_no_horizontal_scroll(page, what: str) -> None:
    scroll, client = page.evaluate(_WIDTHS)
    assert scroll <= client, f"{what} scrolls sideways at 1400 px: {scroll} > {client} px"


def test_report_index_reads_at_1400px_without_sideways_scrolling(browser, shots, tmp_path):
    """The index of a whole report (07's claims table, long verdicts, a failed notebook, one
    without verdicts), built from a synthetic report: headline first, figure readable, the
    rest folded, and nothing wider than the window, folded or unfolded."""
    from PIL import Image
    from test_report_findings import make_report

    out, rows = make_report(tmp_path / "report")
    # a figure wider than the window: the index must scale it down, not scroll
    Image.new("RGB", (1800, 900), (40, 120, 200)).save(out / "02.headline.png")
    rows[0]["thumbnail"] = "02.headline.png"
    from sparsepriv_nb import _report

    _report.write_index(out, rows, "quick")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.goto((out / "index.html").as_uri())
        page.screenshot(path=str(shots / "index_synthetic_1400.png"), full_page=True)
        _assert_no_horizontal_scroll(page, "the index")
        first = page.locator("section").first
        assert first.get_attribute("id") == "findings", "07's table does not head the index"
        bullets = page.locator("div.answer ul > li")  # 07's answer: one bullet per question
        assert bullets.count() == 5 and bullets.first.is_visible(), "answer not a list"
        assert bullets.first.locator("em").inner_text() == "Across densities"
        assert "- *" not in page.locator("div.answer").inner_text()
        headline = page.locator("section.notebook .headline").first
        assert headline.bounding_box()["width"] > 900, "the headline finding is not full width"
        figure = page.locator("img.figure").first
        box = figure.bounding_box()
        assert 700 <= box["width"] <= 1400, f"headline figure {box['width']} px wide"
        assert not page.locator("details.verdicts li").first.is_visible()  # folded
        for summary in page.locator("details summary").all():
            summary.click()
        assert page.locator("details.verdicts li").first.is_visible()
        page.screenshot(path=str(shots / "index_synthetic_1400_unfolded.png"), full_page=True)
        _assert_no_horizontal_scroll(page, "the index with every <details> open")
    finally:
        context.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-m", "browser", "-s"]))
