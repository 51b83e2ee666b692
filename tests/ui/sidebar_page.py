"""Driving the xtrack runs sidebar in JupyterLab from Playwright: open it, read its rows,
filter, select, and wait for what the live feed brings."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SIDEBAR = "#jupyter-xtrack-sidebar"
ROWS = f"{SIDEBAR} .jp-xtrack-body .jp-xtrack-row[data-run]"


def wait_for(predicate: Callable[[], bool], timeout_s: float = 30.0, what: str = "") -> None:
    """Poll `predicate` until true; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not met in {timeout_s} s: {what or predicate}")
        time.sleep(0.2)


def open_from_palette(page: Any) -> None:
    """Open the sidebar through the command palette entry."""
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette input")
    palette.wait_for(state="visible")
    palette.fill("Show Experiment Runs")
    page.locator(".lm-CommandPalette-item", has_text="Show Experiment Runs").first.click()
    page.locator(SIDEBAR).wait_for(state="visible")


def open_from_tab(page: Any) -> None:
    """Open the sidebar by its icon in the left bar (no click when its tab is already the
    current one: a click there would close it, e.g. when a reload restored it)."""
    tab = page.locator(".jp-SideBar.jp-mod-left li[data-id='jupyter-xtrack-sidebar']")
    tab.wait_for()
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    page.locator(SIDEBAR).wait_for(state="visible")


def run_numbers(page: Any) -> list[int]:
    """The run numbers of the rendered rows, top to bottom. Read in one go in the page: a
    row-by-row read could wait on a row that a re-render (a new filter) just removed."""
    pairs = page.locator(ROWS).evaluate_all(
        "rows => rows.map(r => [Number(r.dataset.index || 0), Number(r.dataset.run || 0)])"
    )
    return [int(n) for _, n in sorted(pairs)]


def row(page: Any, number: int) -> Any:
    return page.locator(f"{ROWS}[data-run='{number}']")


def cell_texts(page: Any, number: int) -> list[str]:
    return [t.strip() for t in row(page, number).locator(".jp-xtrack-cell").all_inner_texts()]


def header_texts(page: Any) -> list[str]:
    return [
        t.strip(" ▲▼")
        for t in page.locator(f"{SIDEBAR} .jp-xtrack-header .jp-xtrack-cell").all_inner_texts()
    ]


def set_filter(page: Any, text: str) -> None:
    box = page.locator(f"{SIDEBAR} input.jp-xtrack-filter")
    box.fill(text)
    box.press("Enter")


def back_to_runs(page: Any) -> None:
    """From a run or compare view, back to the table. Looked for until it shows: just after
    a theme change the view may still be drawing, its back button not yet visible."""
    back = page.locator(f"{SIDEBAR} button", has_text="← Runs")
    runs = page.locator(f"{SIDEBAR} .jp-xtrack-runs")

    def shown() -> bool:
        if runs.is_visible():
            return True
        if back.count() and back.first.is_visible():
            back.first.click()
        return runs.is_visible()

    wait_for(shown, what="the runs table")


def sidebar_width(page: Any, width: int) -> None:
    """Drag the sidebar's split handle so the panel is `width` px wide. The sidebar is
    brought back first if another left panel took its place (CI once found it so after the
    theme menu was used, the left area open on some other panel)."""
    open_from_tab(page)
    panel = page.locator(SIDEBAR)
    box = panel.bounding_box()
    # The visible split handle nearest the panel's right edge (hidden ones have no box).
    boxes = [h.bounding_box() for h in page.locator(".lm-SplitPanel-handle").all()]
    hbox = min((b for b in boxes if b and b["width"] > 0 and b["height"] > 100),
               key=lambda b: abs(b["x"] - (box["x"] + box["width"])))
    y = hbox["y"] + hbox["height"] / 2
    page.mouse.move(hbox["x"] + hbox["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + width, y, steps=5)
    page.mouse.up()


MAIN_DOCK = "#jp-main-dock-panel"


def main_tabs(page: Any, label: str) -> Any:
    """The main area's tabs whose label is exactly `label`."""
    return page.locator(f"{MAIN_DOCK} .lm-TabBar-tab").filter(
        has=page.locator(".lm-TabBar-tabLabel", has_text=label)
    ).filter(has_text=label)


def close_main_tab(page: Any, label: str) -> None:
    """Close the main-area tab labelled `label` by its close button."""
    tab = main_tabs(page, label)
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    tab.wait_for(state="detached")


# -- stores filled through the Python API (tests not about tracking) ---------------------
STORE_RUNS: tuple[tuple[str, str, str | None, dict[str, float | str], float], ...] = (
    # (name, experiment, notebook, params, final acc)
    ("base-a", "baseline", "explore.ipynb", {"lr": 0.1, "depth": 3, "opt": "sgd"}, 0.71),
    ("base-b", "baseline", "explore.ipynb", {"lr": 0.05, "depth": 4, "opt": "sgd"}, 0.74),
    ("sweep-1", "sweep", "sweep.ipynb", {"lr": 0.01, "depth": 6, "opt": "adam"}, 0.83),
    ("sweep-2", "sweep", "sweep.ipynb", {"lr": 0.02, "depth": 8, "opt": "adam"}, 0.88),
    ("sweep-3", "sweep", "sweep.ipynb", {"lr": 0.03, "depth": 5, "opt": "adam"}, 0.79),
    ("sweep-4", "sweep", "sweep.ipynb", {"lr": 0.04, "depth": 7, "opt": "adam"}, 0.81),
    ("scratch", "default", None, {"lr": 0.5, "depth": 1, "opt": "sgd"}, 0.50),
)


def fill_store(store_dir: Path, notebook_dir: Path) -> dict[str, str]:
    """Record STORE_RUNS in the store at `store_dir`, finished, each with a 10-step loss
    history, a final acc, a tag and (most) a notebook under `notebook_dir` and a cell id.
    Returns run name -> run id."""
    from jupyter_xtrack.store import open_store

    store = open_store(store_dir)
    ids: dict[str, str] = {}
    t0 = time.time() - 3600
    try:
        for i, (name, experiment, notebook, params, acc) in enumerate(STORE_RUNS):
            run_id, _ = store.create_run(
                name=name, experiment=experiment, started_at=t0 + 60 * i,
                notebook_path=str(notebook_dir / notebook) if notebook else None,
                cell_id=f"cell-{name}" if notebook else None, tags={"team": "ml"},
            )
            store.set_params(run_id, params)
            store.log_metrics(
                [(run_id, "loss", float(params["lr"]) * 10 / (s + 1), s, t0 + 60 * i + s)
                 for s in range(10)]
                + [(run_id, "acc", acc, None, t0 + 60 * i + 10)]
            )
            store.finish_run(run_id, status="finished", ended_at=t0 + 60 * i + 12)
            ids[name] = run_id
    finally:
        store.close()
    return ids


# -- views: grouping, columns, selection, colours ---------------------------------------
def set_group_by(page: Any, label: str) -> None:
    """Pick "no grouping", "by experiment" or "by notebook"."""
    page.locator(f"{SIDEBAR} select[aria-label='group runs by']").select_option(label=label)


def group_headers(page: Any) -> list[tuple[str, int]]:
    """The group headings on screen, top to bottom: (label, run count). A heading whose
    count has not arrived yet reads -1."""
    heads = page.locator(f"{SIDEBAR} .jp-xtrack-body .jp-xtrack-group-row")
    out = []
    for head in sorted(heads.all(), key=lambda h: float(h.get_attribute("data-index") or 0)):
        label = head.locator(".jp-xtrack-group-label").inner_text().strip()
        count = head.locator(".jp-xtrack-group-count")
        out.append((label, int(count.inner_text()) if count.count() else -1))
    return out


def _open_columns(page: Any) -> Any:
    chooser = page.locator(f"{SIDEBAR} details.jp-xtrack-columns")
    if chooser.get_attribute("open") is None:
        chooser.locator("summary").click()
    return chooser


def column_choices(page: Any) -> list[str]:
    """The params/metrics/tags columns the chooser offers."""
    chooser = _open_columns(page)
    names = [t.strip() for t in chooser.locator("label").all_inner_texts()]
    chooser.locator("summary").click()
    return names


def choose_columns(page: Any, columns: list[str]) -> None:
    """Tick exactly `columns` in the chooser, in this order. The first is ticked before the
    others are unticked: with no box ticked the table falls back to its default columns."""
    chooser = _open_columns(page)

    def box(name: str) -> Any:
        return chooser.locator("label").filter(has_text=name).locator("input")

    box(columns[0]).check()
    for label in chooser.locator("label").all():
        name = label.inner_text().strip()
        if name != columns[0] and label.locator("input").is_checked():
            label.locator("input").uncheck()
    for name in columns[1:]:
        box(name).check()
    chooser.locator("summary").click()


def select_runs(page: Any, numbers: list[int]) -> None:
    """Tick the selection boxes of these runs (unticking any others)."""
    ticked = page.locator(f"{ROWS} input[type=checkbox]:checked")
    while ticked.count():
        ticked.first.uncheck()
    for n in numbers:
        row(page, n).locator("input[type=checkbox]").check()


COLOURS_JS = """() => {
  const side = document.querySelector('#jupyter-xtrack-sidebar');
  const pick = sel => {
    const el = side.querySelector(sel) || side;
    const cs = getComputedStyle(el);
    return {background: cs.backgroundColor, color: cs.color};
  };
  const probe = document.createElement('div');
  probe.style.background = 'var(--jp-layout-color1)';
  document.body.appendChild(probe);
  const layout1 = getComputedStyle(probe).backgroundColor;
  probe.remove();
  return {
    panel: pick(':scope'), header: pick('.jp-xtrack-header'),
    row: pick('.jp-xtrack-row[data-run]'), filter: pick('input.jp-xtrack-filter'),
    theme: {layout1},
  };
}"""


def computed_colours(page: Any) -> dict[str, dict[str, str]]:
    """Computed background and text colours of the panel, the table header, a row and the
    filter box, plus the theme's --jp-layout-color1 as a computed colour."""
    return dict(page.evaluate(COLOURS_JS))


def use_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab's theme from its Settings menu (as a user does)."""
    page.locator(".lm-MenuBar-item", has_text="Settings").click()
    page.locator(".lm-Menu-item", has_text="Theme").first.hover()
    page.locator(".lm-Menu-item").filter(has=page.get_by_text(theme, exact=True)).click()


def _rgb(colour: str) -> tuple[float, float, float]:
    """0..1 channels of a computed colour: rgb()/rgba() or color(srgb ...) (what Chromium
    gives for color-mix)."""
    inner = colour[colour.index("(") + 1:colour.rindex(")")].replace(",", " ").replace("/", " ")
    parts = inner.split()
    if colour.startswith("color("):
        return float(parts[1]), float(parts[2]), float(parts[3])
    return float(parts[0]) / 255, float(parts[1]) / 255, float(parts[2]) / 255


def luminance(colour: str) -> float:
    """WCAG relative luminance of a computed colour."""
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of text colour `fg` on background `bg` (1 to 21)."""
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def colours_of(page: Any, selector: str) -> dict[str, str]:
    """Computed background and text colour of the first element matching `selector`."""
    return dict(page.locator(selector).first.evaluate(
        "e => { const cs = getComputedStyle(e); "
        "return {background: cs.backgroundColor, color: cs.color}; }"))
