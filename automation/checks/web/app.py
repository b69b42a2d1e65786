"""The status page (`/`), `/api/status`, `/metrics`, `/healthz`, and the run folders behind the report links
(`/evidence/...`). Like Gatus' web package it reads the history store only: the page is right whether or not
the scheduler runs in this process. Everything is rendered on the server (Jinja, inline SVG, one stylesheet
under /static/): no JavaScript, no CDN, no web font, so it works on an air-gapped on-call laptop.

The page's links start with the app's root path (ASGI `root_path`): "" when `checks web` serves it at `/`,
"/checks" when the agent console mounts it there, so the same page works in both places.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any, Protocol
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from automation.checks.model import FAILING_STATUSES, CheckInfo, CheckRun
from automation.checks.storage.history import History
from automation.checks.web import status as st

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
REFRESH_S = 60
WINDOW = timedelta(hours=24)

# Chart geometry (SVG user units; the SVG scales to its box).
WIDTH, HEIGHT = 640, 150
LEFT, RIGHT, TOP, BOTTOM = 46, 10, 10, 22


class MetricsSource(Protocol):
    """What /metrics needs: in_process.Metrics (this process's runs) or from_store.FleetMetrics (the database)."""

    def render(self) -> tuple[bytes, str]: ...


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    kind: str  # "failed" or "degraded": the CSS class and the shape
    title: str


@dataclass(frozen=True)
class Chart:
    """One check's last 24 h, ready for the template to draw."""

    lines: tuple[str, ...]  # polyline point lists; a gap (maintenance, scheduler down) breaks the line
    markers: tuple[Marker, ...]
    skips: tuple[tuple[float, str], ...]  # x, title
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    threshold_y: float | None
    label: str  # for screen readers: what the chart says in words
    runs: int
    failed: int
    degraded: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def create_app(
    history: History,
    checks: Sequence[CheckInfo],
    *,
    metrics: MetricsSource,
    evidence_root: Path,
    in_maintenance: Callable[[str, datetime], bool] = lambda c, t: False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    healthy: Callable[[], dict[str, Any]] = lambda: {"ok": True},
    refresh_s: int | None = None,
) -> FastAPI:
    """The checks' web app; `checks serve` runs it beside the scheduler, tests run it alone.

    `refresh_s`: the status page reloads itself this often (REFRESH_S for a wall screen that asks for it);
    None, the default, for a page that does not: a page that reloads on its own fails WCAG 2.2.1 (axe-core
    counts it serious), and a reload every minute would keep a sign-in session alive for ever."""
    app = FastAPI(title="runbook checks", docs_url=None, redoc_url=None, openapi_url=None)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    root = evidence_root.resolve()
    by_name = {c.name: c for c in checks}

    @app.get("/", response_class=HTMLResponse)
    def status_page(request: Request) -> HTMLResponse:
        now = clock()
        rows = st.status_rows(history, checks, now, in_maintenance=in_maintenance)
        cards = [_card(row, by_name[row.name], history, now, root) for row in rows]
        html = env.get_template("status.html").render(
            rows=rows,
            cards=cards,
            summary=st.summary_line(rows),
            worst=rows[0].health if rows else "unknown",
            now=now,
            refresh_s=refresh_s,
            fmt_time=st.fmt_time,
            base=request.scope.get("root_path", "").rstrip("/"),
        )
        return HTMLResponse(html)

    @app.get("/api/status")
    def api_status(request: Request) -> JSONResponse:
        rows = st.status_rows(history, checks, clock(), in_maintenance=in_maintenance)
        base = request.scope.get("root_path", "").rstrip("/")
        return JSONResponse([_served_paths(row, root, base) for row in st.rows_json(rows)])

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        body, content_type = metrics.render()
        return Response(content=body, headers={"Content-Type": content_type})

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        # Open to anyone (a load balancer, a probe): it says ok or not, never why. A driver's error names the
        # database's host and port, so it goes to this server's log only.
        try:
            ok = bool(healthy().get("ok"))
        except Exception:  # a broken health probe is itself unhealthy, not a 500
            log.warning("checks web: the health probe failed", exc_info=True)
            ok = False
        return JSONResponse({"ok": ok}, status_code=200 if ok else 503)

    @app.get("/favicon.ico")
    def favicon() -> Response:
        # The reports under /evidence/ ask for one; a 404 would be a console error on every report page.
        return Response(status_code=204)

    @app.get("/evidence/{path:path}")
    def evidence(path: str) -> FileResponse:
        return FileResponse(_evidence_file(root, path))

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _evidence_file(root: Path, path: str) -> Path:
    """A file under the evidence root; anything else (`..`, a symlink out, a folder, a NUL byte, a name longer
    than the file system takes) is a 404, never a 500 with a traceback in the log."""
    try:
        target = (root / path).resolve()
        if target.is_relative_to(root) and target.is_file():
            return target
    except (OSError, ValueError):  # ValueError: "embedded null byte"; OSError: ENAMETOOLONG and the like
        pass
    raise HTTPException(status_code=404, detail="Not found")


def _served_paths(row: dict[str, Any], root: Path, base: str) -> dict[str, Any]:
    """A row of /api/status with its report as this server's link, never a path on the server's disk."""
    url = report_url(row.get("last_report"), root)
    return {**row, "last_report": base + url if url else None}


def report_url(report: str | None, root: Path) -> str | None:
    """The `/evidence/...` address of a report, or None when it lies outside the served folder."""
    if not report:
        return None
    try:
        relative = Path(report).resolve().relative_to(root)
    except (OSError, ValueError):
        return None
    return "/evidence/" + quote(relative.as_posix())


def _card(row: st.StatusRow, info: CheckInfo, history: History, now: datetime, root: Path) -> dict[str, Any]:
    runs = history.runs(row.name, since=now - WINDOW)
    return {
        "row": row,
        "note": st.note(row),
        "report_url": report_url(row.last_report, root),
        "chart": build_chart(runs, now, threshold_s=info.degraded_run_s),
        "last_age": st.fmt_age(now - row.last_at) if row.last_at else None,
        "alert_at": st.fmt_clock(row.alert_since, now) if row.alert_since else None,
        "failing_at": st.fmt_clock(row.failing_since, now) if row.failing_since else None,
        "down_for": st.fmt_span(now - row.failing_since) if row.failing_since else None,
        "uptime_24h": st.fmt_percent(row.uptime_24h),
        "uptime_7d": st.fmt_percent(row.uptime_7d),
        "p50": st.fmt_seconds(row.p50_s),
        "p95": st.fmt_seconds(row.p95_s),
    }


# -- the duration chart ----------------------------------------------------------------------------------------


def build_chart(runs: Sequence[CheckRun], now: datetime, *, threshold_s: float | None = None) -> Chart:
    """Durations over the 24 h before `now`: a line, failed (x) and degraded (triangle) runs marked, skips as
    ticks on the time axis, the degraded threshold dashed."""
    start = now - WINDOW
    window = sorted((r for r in runs if start <= r.started_at <= now), key=lambda r: r.started_at)
    probes = [r for r in window if r.status != "skipped"]
    y_max = _nice_ceiling(max([r.duration_s for r in probes] + [threshold_s or 0, 1.0]))

    def x(at: datetime) -> float:
        return LEFT + (at - start) / WINDOW * (WIDTH - RIGHT - LEFT)

    def y(seconds: float) -> float:
        return (HEIGHT - BOTTOM) - min(seconds, y_max) / y_max * (HEIGHT - BOTTOM - TOP)

    markers = tuple(
        Marker(x(r.started_at), y(r.duration_s), _marker_kind(r.status), _run_title(r))
        for r in probes
        if _marker_kind(r.status)
    )
    failed = sum(1 for r in probes if r.status in FAILING_STATUSES)
    degraded = sum(1 for r in probes if r.status == "degraded")
    return Chart(
        lines=tuple(
            " ".join(f"{x(r.started_at):.1f},{y(r.duration_s):.1f}" for r in seg) for seg in _segments(probes)
        ),
        markers=markers,
        skips=tuple((x(r.started_at), _run_title(r)) for r in window if r.status == "skipped"),
        y_ticks=tuple((y(v), _axis_seconds(v)) for v in (0.0, y_max / 2, y_max)),
        x_ticks=tuple(
            (x(now - timedelta(hours=h)), "now" if h == 0 else f"-{h} h") for h in (24, 18, 12, 6, 0)
        ),
        threshold_y=y(threshold_s) if threshold_s else None,
        label=f"Run durations over the last 24 h: {len(probes)} runs, {failed} failed, {degraded} degraded",
        runs=len(probes),
        failed=failed,
        degraded=degraded,
    )


def _marker_kind(status: str) -> str:
    if status in FAILING_STATUSES:
        return "failed"
    return "degraded" if status == "degraded" else ""


def _run_title(run: CheckRun) -> str:
    when = run.started_at.strftime("%H:%M UTC")
    took = "" if run.status == "skipped" else f" in {st.fmt_seconds(run.duration_s)}"
    return f"{when}: {run.status}{took}" + (f": {run.summary}" if run.summary else "")


def _segments(probes: list[CheckRun]) -> list[list[CheckRun]]:
    """Split where runs are much further apart than usual, so a gap is not drawn as a straight line."""
    if len(probes) < 2:
        return [probes] if probes else []
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in zip(probes, probes[1:], strict=False)]
    limit = 2.5 * median(gaps)
    segments: list[list[CheckRun]] = [[probes[0]]]
    for gap, run in zip(gaps, probes[1:], strict=True):
        if gap > limit:
            segments.append([])
        segments[-1].append(run)
    return segments


def _nice_ceiling(value: float) -> float:
    """A round axis top just above the data (4, 6, 80 s), so the halfway line is round too and a 61 s
    timeout does not squash the chart under a 100 s axis."""
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 3, 4, 5, 6, 8, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _axis_seconds(value: float) -> str:
    if value >= 120:
        return f"{value / 60:g} min"
    return f"{value:g} s"
