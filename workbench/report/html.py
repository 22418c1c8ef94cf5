"""Self-contained HTML reports: text, tables and Altair charts in one offline file.

The Vega, Vega-Lite and Vega-Embed libraries come from vl-convert's JavaScript bundle and are
inlined once, so the page opens with the network off. Every chart spec is embedded as JSON in a
`<script type="application/json">` block (JSON-escaped for `</`, so model text inside a spec
cannot close the script), and every piece of text is HTML-escaped: model output is untrusted.
"""

from __future__ import annotations

import html
import json
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

_VL_VERSION = "6.4"  # a Vega-Lite version vl-convert bundles; charts are compiled against it

_PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1100px; padding: 0 1rem; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { margin-top: 2.2rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .9rem; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: right; }
th { background: #f6f8fa; } td.text, th.text { text-align: left; }
td.text { overflow-wrap: anywhere; } td.num { white-space: nowrap; }
caption { caption-side: top; text-align: left; color: #57606a; padding: .2rem 0; }
details { margin: .6rem 0; } summary { cursor: pointer; color: #0969da; }
.note { color: #57606a; font-size: .9rem; }
.chart { margin: 1rem 0; }
pre.sample { background: #f6f8fa; padding: .6rem; white-space: pre-wrap; font-size: .85rem;
             max-height: 16rem; overflow: auto; border: 1px solid #d0d7de; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .3rem; font-size: .8rem;
         background: #ddf4ff; color: #0969da; }
.badge.model { background: #fff8c5; color: #9a6700; }
.badge.warn { background: #ffebe9; color: #cf222e; }
nav.contents ul { margin: .2rem 0; } nav.contents li { margin: .1rem 0; }
table.summary td.text { max-width: 30rem; }
"""

_RENDER_JS = """
(function () {
  const blocks = document.querySelectorAll('script[type="application/json"][data-chart]');
  window.__charts = {total: blocks.length, rendered: 0, failed: []};
  blocks.forEach(function (block) {
    const target = document.getElementById(block.dataset.chart);
    const spec = JSON.parse(block.textContent);
    vegaEmbed(target, spec, {actions: false, renderer: "svg"}).then(function () {
      target.dataset.rendered = "1";
      window.__charts.rendered += 1;
    }).catch(function (err) {
      target.dataset.rendered = "error";
      window.__charts.failed.push(block.dataset.chart);
      console.error("chart " + block.dataset.chart + " failed: " + err);
    });
  });
})();
"""


def _whole_numbers(column: Any) -> bool:
    """True when every finite float of a column is a whole number (budgets, counts)."""
    values = [v for v in column if isinstance(v, float) and v == v and abs(v) != float("inf")]
    return bool(values) and all(v == int(v) and abs(v) < 1e15 for v in values)


def _tiny(column: Any) -> bool:
    """True when every finite non-zero float of a column is below 1e-3 in size (e.g. a fitted
    parameter of 2.6e-06): such a column is shown in significant digits, any other column with
    fixed decimals, so a gain of -0.00066 beside gains of 0.012 reads -0.001, not -0.000657."""
    values = [abs(v) for v in column if isinstance(v, float) and v == v and v != 0
              and abs(v) != float("inf")]
    return bool(values) and max(values) < 1e-3


def _number(v: float, digits: int, whole: bool, tiny: bool = False) -> str:
    if v != v:
        return ""
    if whole:
        return f"{int(v):,}"
    if abs(v) >= 1e4 or (tiny and v != 0):
        return f"{v:.{digits}g}"
    text = f"{v:.{digits}f}"
    return f"{0.0:.{digits}f}" if float(text) == 0 else text  # no "-0.000"


def slug(text: str) -> str:
    """An HTML id from a heading.

    >>> slug("1. MATH: Qwen2.5 + RM")
    '1-math-qwen2-5-rm'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


# Explicit bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) let untrusted
# text reorder what a reader sees around it ("Trojan Source", CVE-2021-42574); lone surrogates
# cannot be written as UTF-8 at all. Both become visible, inert text.
_UNSAFE_CHARS = re.compile("[\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    return f"[U+{ord(match.group()):04X}]"


def neutralise(text: str) -> str:
    """Untrusted text with bidi controls and lone surrogates shown as inert `[U+XXXX]` marks.

    >>> neutralise("price\\u202e$01")
    'price[U+202E]$01'
    """
    return _UNSAFE_CHARS.sub(_visible, text)


def esc(text: object) -> str:
    """HTML-escape any value for text content or attributes (bidi controls neutralised)."""
    return html.escape(neutralise(str(text)), quote=True)


def _neutralise_strings(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {_neutralise_strings(k): _neutralise_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_neutralise_strings(v) for v in value]
    return value


def _json_for_script(spec: dict[str, Any]) -> str:
    # "</script" would end the element and "<!--" changes how it is parsed: escaping every "<",
    # ">" and "&" as JSON unicode escapes makes model text inert and keeps the JSON identical.
    return (
        json.dumps(_neutralise_strings(spec))
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """The Vega + Vega-Lite + Vega-Embed JavaScript bundle (exposes `vegaEmbed` on window)."""
    # vl-convert's stub marks `snippet` required; at run time it is optional (None: the bundle)
    return str(vlc.javascript_bundle(vl_version=_VL_VERSION))  # type: ignore[call-arg]


def chart_spec(chart: alt.TopLevelMixin | dict[str, Any]) -> dict[str, Any]:
    """A chart's Vega-Lite spec as a dict (Altair charts validated by Altair)."""
    return chart if isinstance(chart, dict) else chart.to_dict()


@dataclass
class Report:
    """An HTML report assembled from blocks, written as one offline file.

    >>> r = Report("Demo")
    >>> _ = r.heading("Data").paragraph("<b>escaped</b>")
    >>> "&lt;b&gt;" in r.to_html(include_js=False)
    True
    """

    title: str
    blocks: list[str] = field(default_factory=list)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    headings: list[tuple[int, str, str]] = field(default_factory=list)
    """(level, text, id) of every heading, for the table of contents."""

    def heading(self, text: str, level: int = 2) -> Report:
        ids = {h[2] for h in self.headings}
        key = base = slug(text)
        n = 1
        while key in ids:
            n += 1
            key = f"{base}-{n}"
        self.headings.append((level, text, key))
        self.blocks.append(f'<h{level} id="{esc(key)}">{esc(text)}</h{level}>')
        return self

    def contents(self, *, levels: int = 3) -> Report:
        """A table of contents of the headings of levels 2 to `levels` (filled in when the
        page is written, so it lists headings added later too)."""
        self.blocks.append(f"<!--contents:{int(levels)}-->")
        return self

    def _contents_html(self, levels: int) -> str:
        items = []
        for level, text, key in self.headings:
            if 2 <= level <= levels and key != "summary":  # the contents follow it
                pad = f' style="margin-left:{(level - 2) * 1.2:g}rem"' if level > 2 else ""
                items.append(f'<li{pad}><a href="#{esc(key)}">{esc(text)}</a></li>')
        return ('<nav class="contents" id="contents"><h2>Contents</h2><ul>' + "".join(items)
                + "</ul></nav>")

    def paragraph(self, text: str, *, cls: str | None = None) -> Report:
        attr = f' class="{esc(cls)}"' if cls else ""
        self.blocks.append(f"<p{attr}>{esc(text)}</p>")
        return self

    def bullets(self, items: Iterable[str]) -> Report:
        self.blocks.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
        return self

    def table(
        self, frame: Any, *, caption: str | None = None, digits: int = 3,
        collapsed: str | None = None, css: str | None = None,
    ) -> Report:
        """A pandas DataFrame as an escaped HTML table.

        Floats are rounded to `digits` (a column whose values are all whole numbers is shown
        without decimals); `collapsed` puts the table in a closed <details> block with that
        summary line (long tables a reader may open).

        >>> import pandas as pd
        >>> html = Report("t").table(pd.DataFrame({"n": [1.0, 8.0], "acc": [0.5, 1.0]})).blocks[0]
        >>> ">8<" in html and ">1.000<" in html
        True
        """
        cols = list(frame.columns)
        whole = {c: _whole_numbers(frame[c]) for c in cols}
        tiny = {c: _tiny(frame[c]) for c in cols}
        head = "".join(
            f'<th class="{"text" if frame[c].dtype == object else "num"}">{esc(c)}</th>'
            for c in cols
        )
        rows = []
        for rec in frame.itertuples(index=False):
            cells = []
            for c, v in zip(cols, rec, strict=True):
                if isinstance(v, float):
                    txt, cls = _number(v, digits, whole[c], tiny[c]), "num"
                elif isinstance(v, numbers.Integral) and not isinstance(v, bool):
                    txt, cls = f"{int(v):,}", "num"
                else:
                    txt, cls = ("" if v is None else str(v)), "text"
                cells.append(f'<td class="{cls}">{esc(txt)}</td>')
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = f"<caption>{esc(caption)}</caption>" if caption else ""
        attr = f' class="{esc(css)}"' if css else ""
        block = (f"<table{attr}>{cap}<thead><tr>{head}</tr></thead><tbody>" + "".join(rows)
                 + "</tbody></table>")
        if collapsed is not None:
            block = f"<details><summary>{esc(collapsed)}</summary>{block}</details>"
        self.blocks.append(block)
        return self

    def chart(self, chart: alt.TopLevelMixin | dict[str, Any], name: str | None = None) -> Report:
        """Embed an Altair chart (or a Vega-Lite dict); rendered by vegaEmbed when opened."""
        key = name or f"chart-{len(self.charts) + 1}"
        if key in self.charts:
            raise ValueError(f"`name` {key!r} used twice in one report")
        spec = chart_spec(chart)
        self.charts[key] = spec
        self.blocks.append(
            f'<div class="chart" id="{esc(key)}"></div>'
            f'<script type="application/json" data-chart="{esc(key)}">'
            f"{_json_for_script(spec)}</script>"
        )
        return self

    def preformatted(self, text: str, *, label: str | None = None) -> Report:
        """Untrusted text (e.g. a model generation), escaped, in a scrolling block."""
        if label:
            self.blocks.append(f'<p class="note">{esc(label)}</p>')
        self.blocks.append(f'<pre class="sample">{esc(text)}</pre>')
        return self

    def raw_badge(self, text: str, *, model: bool = False, warn: bool = False) -> Report:
        """A coloured label: blue (real data), yellow (`model`: model-based / oracle) or red
        (`warn`: numbers a reader should not lean on, e.g. degenerate bins)."""
        cls = "badge warn" if warn else "badge model" if model else "badge"
        self.blocks.append(f'<p><span class="{cls}">{esc(text)}</span></p>')
        return self

    def to_html(self, *, include_js: bool = True) -> str:
        js = f"<script>{vega_bundle()}</script>" if include_js else ""
        blocks = [self._contents_html(int(b[len("<!--contents:"):-3]))
                  if b.startswith("<!--contents:") else b for b in self.blocks]
        return (
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(self.title)}</title><style>{_PAGE_CSS}</style>{js}</head><body>"
            f"<h1>{esc(self.title)}</h1>" + "\n".join(blocks)
            + f"<script>{_RENDER_JS}</script></body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the report atomically (a temporary file renamed into place)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(self.to_html(), encoding="utf-8")
        tmp.replace(out)
        return out

    def export_images(self, directory: str | Path, *, fmt: str = "png") -> list[Path]:
        """Write every chart as PNG or SVG with vl-convert; returns the paths."""
        if fmt not in ("png", "svg"):
            raise ValueError(f"`fmt` must be 'png' or 'svg', got {fmt!r}")
        outdir = Path(directory)
        outdir.mkdir(parents=True, exist_ok=True)
        paths = []
        for key, spec in self.charts.items():
            p = outdir / f"{key}.{fmt}"
            if fmt == "png":
                p.write_bytes(vlc.vegalite_to_png(spec, vl_version=_VL_VERSION, scale=2))
            else:
                p.write_text(vlc.vegalite_to_svg(spec, vl_version=_VL_VERSION))
            paths.append(p)
        return paths
