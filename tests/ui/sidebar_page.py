"""Driving the xtrack runs sidebar in JupyterLab from Playwright: open it, read its rows,
filter, select, and wait for what the live feed brings."""

from __future__ import annotations

import time
from collections.abc import Callable
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
    """Open the sidebar by its icon in the left bar (no-op when it is already shown)."""
    if not page.locator(SIDEBAR).is_visible():
        page.locator(".jp-SideBar.jp-mod-left li[data-id='jupyter-xtrack-sidebar']").click()
    page.locator(SIDEBAR).wait_for(state="visible")


def run_numbers(page: Any) -> list[int]:
    """The run numbers of the rendered rows, top to bottom."""
    rows = page.locator(ROWS)
    pairs = [
        (float(r.get_attribute("data-index") or 0), int(r.get_attribute("data-run") or 0))
        for r in rows.all()
    ]
    return [n for _, n in sorted(pairs)]


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
    """From a run or compare view, back to the table."""
    back = page.locator(f"{SIDEBAR} button", has_text="← Runs")
    if back.count() and back.first.is_visible():
        back.first.click()
    page.locator(f"{SIDEBAR} .jp-xtrack-runs").wait_for(state="visible")


def sidebar_width(page: Any, width: int) -> None:
    """Drag the sidebar's split handle so the panel is `width` px wide."""
    panel = page.locator(SIDEBAR)
    box = panel.bounding_box()
    handle = page.locator("#jp-left-stack + .lm-SplitPanel-handle, .lm-SplitPanel-handle").first
    hbox = handle.bounding_box()
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
