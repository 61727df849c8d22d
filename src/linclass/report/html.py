"""A self-contained HTML page for one run: settings, metrics, tables and plots.

``write_report`` builds one page with inline CSS, no script and nothing
fetched from the network. Images are referenced by their file name relative to
the page (so the output directory can be moved or zipped as a whole), or
embedded as base64 ``data:`` URIs with ``embed=True`` (one file to mail).
Every string that comes from the caller is HTML-escaped; numbers are printed
readably (``0.3876``, ``2.303``, ``1e-07``, ``2.5e+04``). Files are written
atomically: a temporary file in the same directory, fsync, ``os.replace``.
"""

from __future__ import annotations

import base64
import html as _html
import math
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

import numpy as np

from .._version import __version__
from ..errors import InputError
from ..persist import write_bytes
from .metrics import describe

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
         ".gif": "image/gif", ".svg": "image/svg+xml", ".webp": "image/webp"}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; border-bottom: 2px solid #4878a8; padding-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; color: #2c4f73; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .95em; }
th, td { border: 1px solid #ccd; padding: .25em .7em; text-align: left; vertical-align: top; }
th { background: #eef2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-size: 1.2em; font-weight: 600; color: #2c4f73;
          padding: .8em 0 .3em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2em; }
figure { margin: 0; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #dde; }
figcaption { font-size: .9em; color: #555; margin-top: .2em; }
footer { margin-top: 2em; font-size: .8em; color: #888; }
"""


def format_value(value) -> str:
    """A number or setting as short readable text (not yet HTML-escaped).

    Floats get 4 significant digits (``0.3876``, ``2.303``), switching to
    exponent form below 1e-3 or from 1e5 on (``1e-07``, ``2.5e+04``); integers
    are printed in full; ``None`` as an em dash; sequences and mappings item by item.
    """
    if value is None:
        return "\u2014"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return str(v)
        if v == 0:
            return "0"
        if abs(v) < 1e-3 or abs(v) >= 1e5:
            return f"{v:.3g}"
        return f"{v:.4g}"
    if isinstance(value, np.ndarray):
        return format_value(value.tolist())
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _esc(value) -> str:
    return _html.escape(format_value(value) if not isinstance(value, str) else value, quote=True)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _cell(tag: str, value) -> str:
    cls = ' class="num"' if tag == "td" and _is_number(value) else ""
    return f"<{tag}{cls}>{_esc(value)}</{tag}>"


def _table(caption: str, header, rows) -> str:
    header = list(header)
    out = ["<table>", f"<caption>{_esc(caption)}</caption>"]
    if header:
        out.append("<thead><tr>" + "".join(_cell("th", h) for h in header) + "</tr></thead>")
    out.append("<tbody>")
    for i, row in enumerate(rows):
        row = list(row)
        if header and len(row) != len(header):
            raise InputError(f"table {caption!r}: row {i} has {len(row)} cell(s) but the header has "
                             f"{len(header)}; give every row one value per column.")
        out.append("<tr>" + "".join(_cell("td", v) for v in row) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _mapping_table(caption: str, mapping) -> str:
    if not isinstance(mapping, Mapping):
        raise InputError(f"{caption.lower()} must be a dict of name -> value, got "
                         f"{type(mapping).__name__}; pass a dict.")
    return _table(caption, ["name", "value"], [[str(k), v] for k, v in mapping.items()])


def _metrics_table(metrics) -> str:
    """The metrics with their human label and a one-line explanation (see :mod:`.metrics`)."""
    if not isinstance(metrics, Mapping):
        raise InputError(f"metrics must be a dict of name -> value, got {type(metrics).__name__}; pass a dict.")
    rows = [[label, value, explanation] for label, explanation, value in
            ((*describe(str(k)), v) for k, v in metrics.items())]
    return _table("Metrics", ["metric", "value", "what it means"], rows)


def _image_src(report_dir: Path, filename, embed: bool) -> str:
    """The ``src`` of one image: a relative URL, or a base64 data URI when ``embed``."""
    file = Path(filename)
    full = file if file.is_absolute() else report_dir / file
    if embed:
        mime = _MIME.get(file.suffix.lower())
        if mime is None:
            raise InputError(f"cannot embed {str(file)!r}: unknown image type {file.suffix!r}; "
                             f"use one of {', '.join(sorted(_MIME))}.")
        try:
            data = full.read_bytes()
        except OSError as err:
            raise InputError(f"cannot embed image {str(full)!r}: {err.strerror}; write the plots "
                             "before the report, or pass embed=False.") from err
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    if file.is_absolute():
        try:
            file = file.resolve().relative_to(report_dir.resolve())
        except ValueError:
            raise InputError(f"image {str(file)!r} is outside the report's directory "
                             f"{str(report_dir)!r}; save it there and pass its file name, "
                             "or pass embed=True.") from None
    return quote(file.as_posix())


def render_report(*, title: str, settings: dict, metrics: dict, images=(), tables=(),
                  report_dir=".", embed: bool = False) -> str:
    """The report page as a string (see :func:`write_report`)."""
    report_dir = Path(report_dir)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{_esc(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>{_esc(title)}</h1>"]
    parts += [_metrics_table(metrics), _mapping_table("Settings", settings)]
    for i, table in enumerate(tables):
        if len(table) != 3:
            raise InputError(f"tables[{i}] must be (caption, header, rows), got {len(table)} item(s).")
        caption, header, rows = table
        parts.append(_table(caption, header, rows))
    if images:
        parts += ["<h2>Plots</h2>", '<div class="figures">']
        for i, image in enumerate(images):
            if len(image) != 2:
                raise InputError(f"images[{i}] must be (caption, filename), got {len(image)} item(s).")
            caption, filename = image
            src = _image_src(report_dir, filename, embed)
            parts.append(f'<figure><img src="{_html.escape(src, quote=True)}" alt="{_esc(caption)}">'
                         f"<figcaption>{_esc(caption)}</figcaption></figure>")
        parts.append("</div>")
    parts += [f"<footer>written by linclass {_esc(__version__)}</footer>", "</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(path, *, title: str, settings: dict, metrics: dict, images=(), tables=(),
                 embed: bool = False) -> Path:
    """Write one self-contained HTML page for a run and return its path.

    Parameters
    ----------
    path : where the page goes (its directory is created).
    title : the page's heading.
    settings : dict of name -> value, shown as a two-column table.
    metrics : dict of key -> value, shown with each key's label and explanation from
        :data:`linclass.report.metrics.METRICS` (an unknown key is shown as is).
    images : ``[(caption, filename), ...]``; a filename is relative to the page's
        directory (an absolute path inside that directory is made relative).
    tables : ``[(caption, header, rows), ...]`` with one value per column in each row.
    embed : put the images into the page as base64 ``data:`` URIs instead of
        referencing the files (the files must exist then).

    Everything given is HTML-escaped; the page has inline CSS only, no script,
    no network access. Written atomically (temp file + ``os.replace``).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_report(d / "report.html", title="run", settings={"lr": 1e-7}, metrics={"acc": 0.38}).name
    'report.html'
    """
    path = Path(path)
    page = render_report(title=title, settings=settings, metrics=metrics, images=images,
                         tables=tables, report_dir=path.parent, embed=embed)
    return write_bytes(path, page.encode("utf-8"))
