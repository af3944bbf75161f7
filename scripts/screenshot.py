"""Renders a sample's report.html in headless Chromium and saves a PNG for the README.

Usage: python scripts/screenshot.py [REPORT_HTML] [OUT_PNG]
Defaults: audit-report/report.html (from `make sample`) -> docs/report.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> str | None:
    """Return the path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(
    html: Path, png: Path, width: int = 1200, height: int = 2200
) -> subprocess.CompletedProcess:
    """Render HTML into PNG with headless Chromium; return the finished process."""
    binary = chromium()
    if binary is None:
        raise SystemExit("chromium not found: apt-get install chromium")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png.resolve()}",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )


def main() -> int:
    """Screenshot the report named on the command line; return the exit code."""
    html = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("audit-report/report.html")
    png = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("docs/report.png")
    done = screenshot(html, png)
    if done.returncode != 0 or not png.exists():
        print(done.stderr[-2000:], file=sys.stderr)
        return 1
    print(f"wrote {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
