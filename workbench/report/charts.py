"""Altair chart builders shared by reports and notebooks.

Every builder takes a tidy pandas DataFrame with documented columns and returns an Altair chart;
`workbench.report.frames` turns engine and analysis results into those frames. Budgets are drawn
on a log-2 axis: test-time compute is compared in doublings.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np

_WIDTH, _HEIGHT = 520, 300


def _log2_ticks(values: Any) -> list[float] | None:
    """Powers of two spanning the data (Vega's own log-2 ticks add 1.5, 2.5, ... in between)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return None
    lo, hi = int(np.floor(np.log2(v.min()))), int(np.ceil(np.log2(v.max())))
    step = max(1, (hi - lo) // 12)  # at most about a dozen labels
    return [float(2.0**i) for i in range(lo, hi + 1, step)]


def _budget_axis(title: str = "budget (generations per question)", frame: Any = None,
                 field: str = "budget") -> alt.X:
    ticks = None if frame is None or field not in getattr(frame, "columns", ()) \
        else _log2_ticks(frame[field])
    axis = alt.Axis(values=ticks, format=",~g") if ticks else alt.Axis(format=",~g")
    return alt.X(f"{field}:Q", scale=alt.Scale(type="log", base=2), title=title, axis=axis)


def _dash(frame: Any) -> dict[str, Any]:
    """Dashed lines for curves that are not plain measurements (a `kind` column: "real",
    "oracle" = upper bound, "model" = fitted or extrapolated)."""
    if "kind" not in getattr(frame, "columns", ()):
        return {}
    return {"strokeDash": alt.StrokeDash(
        "kind:N", legend=None,  # the subtitle says what dashes mean (a dash legend shows blank)
        scale=alt.Scale(domain=["real", "oracle", "model"], range=[[1, 0], [6, 3], [2, 2]]),
    )}


def accuracy_vs_budget(
    frame: Any, *, title: str = "Accuracy vs test-time budget", budget_title: str | None = None,
    strategies: Any = None,
) -> Any:
    """Lines of accuracy per strategy with a CI band.

    Columns: strategy, budget, accuracy, lo, hi (CI bounds; NaN draws no band); optional kind
    ("real", "oracle", "model": oracle and model curves are dashed). `strategies`: the full
    list of strategy names, so that two charts showing different subsets colour each strategy
    the same way.
    """
    x = _budget_axis(budget_title or "budget (generations per question)", frame)
    scale = alt.Scale(domain=sorted(strategies)) if strategies is not None else alt.Undefined
    color = alt.Color("strategy:N", title="strategy", scale=scale,
                      legend=alt.Legend(labelLimit=320))
    base = alt.Chart(frame)
    band = base.mark_area(opacity=0.15).encode(x=x, y="lo:Q", y2="hi:Q", color=color)
    tooltip = ["strategy:N", alt.Tooltip("budget:Q", format=",.4~g"),
               alt.Tooltip("accuracy:Q", format=".3f"),
               alt.Tooltip("lo:Q", format=".3f"), alt.Tooltip("hi:Q", format=".3f")]
    if "kind" in getattr(frame, "columns", ()):
        tooltip.append("kind:N")
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(zero=False)),
        color=color,
        tooltip=tooltip,
        **_dash(frame),
    )
    dashed = "kind" in getattr(frame, "columns", ()) and bool((frame["kind"] != "real").any())
    head = alt.TitleParams(title, subtitle=(
        "dashed: oracle upper bound or model-based; bands: 95% CI" if dashed
        else "bands: 95% CI"))
    # the line layer first, so the shared colour legend shows line symbols, not faint bands
    return alt.layer(line, band).properties(width=_WIDTH, height=_HEIGHT, title=head)


def per_bin_curves(frame: Any, *, title: str = "Accuracy vs budget per difficulty bin") -> Any:
    """One small panel per difficulty bin. Columns: bin, strategy, budget, accuracy, lo, hi."""
    x = _budget_axis("budget", frame)
    color = alt.Color("strategy:N", legend=alt.Legend(labelLimit=320))
    base = alt.Chart().encode(x=x)
    layer = alt.layer(
        base.mark_line(point=True).encode(
            y=alt.Y("accuracy:Q", title="accuracy"), color=color,
            tooltip=["bin:N", "strategy:N", "budget:Q", alt.Tooltip("accuracy:Q", format=".3f")],
        ),
        base.mark_area(opacity=0.12).encode(y="lo:Q", y2="hi:Q", color=color),
        data=frame,
    ).properties(width=220, height=170)
    return layer.facet(facet=alt.Facet("bin:N", title="difficulty bin"), columns=3).properties(
        title=title
    )


def difficulty_histogram(frame: Any, *, title: str = "Per-problem difficulty") -> alt.Chart:
    """Histogram of per-problem pass@1, coloured by bin. Columns: value, bin."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", bin=alt.Bin(maxbins=25), title="per-problem pass@1"),
            y=alt.Y("count():Q", title="problems"),
            color=alt.Color("bin:N", title="bin"),
        )
        .properties(width=_WIDTH, height=220, title=title)
    )


def efficiency_chart(frame: Any, *, title: str = "Efficiency over best-of-N (weighted)") -> Any:
    """Efficiency ratio per bin and budget with CI bars.

    Columns: bin, budget, efficiency, lo, hi.
    """
    x = _budget_axis("policy budget", frame)
    base = alt.Chart(frame).encode(x=x, color=alt.Color("bin:N"))
    rule = alt.Chart().mark_rule(strokeDash=[4, 4], color="gray").encode(y=alt.datum(1))
    return alt.layer(
        base.mark_errorbar().encode(y=alt.Y("lo:Q", title="efficiency ratio",
                                            scale=alt.Scale(type="log")), y2="hi:Q"),
        base.mark_point(filled=True).encode(
            y="efficiency:Q",
            tooltip=["bin:N", "budget:Q", alt.Tooltip("efficiency:Q", format=".2f")],
        ),
        rule,
    ).properties(width=_WIDTH, height=_HEIGHT, title=title)


def law_fit_chart(
    observed: Any, fitted: Any, *, pool_size: float | None = None,
    title: str = "Scaling-law fit and extrapolation", y_title: str = "pass@k",
) -> Any:
    """Observed points with fitted curves and prediction bands.

    observed columns: k, value, optional role (e.g. "fitted on", "held out": drawn as different
    shapes); fitted columns: law, k, pred, lo, hi.
    A dashed rule marks the pool size: right of it is extrapolation.
    """
    x = _budget_axis("k (samples)", fitted, "k")
    shape = ({"shape": alt.Shape("role:N", title="observed", legend=alt.Legend(labelLimit=320))}
             if "role" in getattr(observed, "columns", ()) else {})
    layers = [
        alt.Chart(fitted).mark_area(opacity=0.15).encode(x=x, y="lo:Q", y2="hi:Q",
                                                         color="law:N"),
        alt.Chart(fitted).mark_line().encode(
            x=x, y=alt.Y("pred:Q", title=y_title, scale=alt.Scale(zero=False)), color="law:N"),
        alt.Chart(observed).mark_point(color="black", filled=True, size=30).encode(
            x=x, y="value:Q", tooltip=["k:Q", alt.Tooltip("value:Q", format=".4f")], **shape),
    ]
    if pool_size is not None:
        layers.append(alt.Chart().mark_rule(strokeDash=[4, 4], color="gray")
                      .encode(x=alt.datum(pool_size)))
    return alt.layer(*layers).properties(width=_WIDTH, height=_HEIGHT, title=title)


def exchange_chart(frame: Any, *, title: str = "Test-time compute vs a larger model") -> Any:
    """Accuracy difference (small + test-time compute minus large) per bin and R, with CIs.

    Columns: panel (e.g. dataset), bin, R (as text), difference, lo, hi, winner.
    """
    base = alt.Chart().encode(
        x=alt.X("bin:N", title="difficulty bin"),
        xOffset="R:N",
        color=alt.Color("R:N", title="R = D_inf / D_pre"),
    )
    layer = alt.layer(
        base.mark_bar(opacity=0.75).encode(
            y=alt.Y("difference:Q", title="accuracy(small+TTC) - accuracy(large)"),
            tooltip=["bin:N", "R:N", alt.Tooltip("difference:Q", format=".3f"), "winner:N"],
        ),
        base.mark_errorbar().encode(
            y=alt.Y("lo:Q", title="accuracy(small+TTC) - accuracy(large)"), y2="hi:Q"
        ),
        alt.Chart().mark_rule(color="black").encode(y=alt.datum(0)),
        data=frame,
    ).properties(width=300, height=220)
    order = list(dict.fromkeys(frame["panel"])) if "panel" in getattr(frame, "columns", ()) \
        else None  # panels in the order given, not alphabetical
    # each panel shows only the bins it has (a published curve has "all" only): no empty slots
    return layer.facet(column=alt.Column("panel:N", title=None, sort=order,
                                         header=alt.Header(labelLimit=300))
                       ).resolve_scale(x="independent").properties(title=title)


def strategy_points(frame: Any, *, title: str = "Accuracy per strategy") -> Any:
    """Accuracy of each strategy at one budget with its CI: a dot-and-whisker chart, for runs
    whose pool allows only one or two budgets. Columns: strategy, accuracy, lo, hi, kind."""
    y = alt.Y("strategy:N", title=None, sort=None, axis=alt.Axis(labelLimit=320))
    base = alt.Chart(frame).encode(y=y)
    return alt.layer(
        base.mark_rule(strokeWidth=2, opacity=0.6).encode(
            x=alt.X("lo:Q", title="accuracy", scale=alt.Scale(zero=False)), x2="hi:Q"),
        base.mark_point(filled=True, size=60).encode(
            x="accuracy:Q", color=alt.Color("kind:N", title="kind", scale=alt.Scale(
                domain=["real", "oracle", "model"], range=["#4c78a8", "#f58518", "#9d755d"])),
            tooltip=["strategy:N", alt.Tooltip("accuracy:Q", format=".3f"),
                     alt.Tooltip("lo:Q", format=".3f"), alt.Tooltip("hi:Q", format=".3f")]),
    ).properties(width=_WIDTH, title=title)
