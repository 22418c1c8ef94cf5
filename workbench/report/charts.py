"""Altair chart builders shared by reports and notebooks.

Every builder takes a tidy pandas DataFrame with documented columns and returns an Altair chart;
`workbench.report.frames` turns engine and analysis results into those frames. Budgets are drawn
on a log-2 axis: test-time compute is compared in doublings.
"""

from __future__ import annotations

from typing import Any

import altair as alt

_WIDTH, _HEIGHT = 520, 300


def _budget_axis(title: str = "budget (generations per question)") -> alt.X:
    return alt.X("budget:Q", scale=alt.Scale(type="log", base=2), title=title)


def accuracy_vs_budget(
    frame: Any, *, title: str = "Accuracy vs test-time budget", budget_title: str | None = None
) -> alt.LayerChart:
    """Lines of accuracy per strategy with a CI band.

    Columns: strategy, budget, accuracy, lo, hi (CI bounds; NaN draws no band).
    """
    x = _budget_axis(budget_title or "budget (generations per question)")
    color = alt.Color("strategy:N", title="strategy")
    base = alt.Chart(frame)
    band = base.mark_area(opacity=0.18).encode(x=x, y="lo:Q", y2="hi:Q", color=color)
    line = base.mark_line(point=True).encode(
        x=x,
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(zero=False)),
        color=color,
        tooltip=["strategy:N", "budget:Q", alt.Tooltip("accuracy:Q", format=".3f"),
                 alt.Tooltip("lo:Q", format=".3f"), alt.Tooltip("hi:Q", format=".3f")],
    )
    return (band + line).properties(width=_WIDTH, height=_HEIGHT, title=title)


def per_bin_curves(frame: Any, *, title: str = "Accuracy vs budget per difficulty bin") -> Any:
    """One small panel per difficulty bin. Columns: bin, strategy, budget, accuracy, lo, hi."""
    x = _budget_axis("budget")
    color = alt.Color("strategy:N")
    base = alt.Chart().encode(x=x, color=color)
    layer = alt.layer(
        base.mark_area(opacity=0.15).encode(y="lo:Q", y2="hi:Q"),
        base.mark_line(point=True).encode(
            y=alt.Y("accuracy:Q", title="accuracy"),
            tooltip=["bin:N", "strategy:N", "budget:Q", alt.Tooltip("accuracy:Q", format=".3f")],
        ),
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
    """Efficiency ratio per bin and budget with CI bars. Columns: bin, budget, efficiency, lo, hi."""
    x = _budget_axis("policy budget")
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

    observed columns: k, value; fitted columns: law, k, pred, lo, hi.
    A dashed rule marks the pool size: right of it is extrapolation.
    """
    x = alt.X("k:Q", scale=alt.Scale(type="log", base=2), title="k (samples)")
    layers = [
        alt.Chart(fitted).mark_area(opacity=0.15).encode(x=x, y="lo:Q", y2="hi:Q",
                                                         color="law:N"),
        alt.Chart(fitted).mark_line().encode(x=x, y=alt.Y("pred:Q", title=y_title),
                                             color="law:N"),
        alt.Chart(observed).mark_point(color="black", filled=True, size=30).encode(
            x=x, y="value:Q", tooltip=["k:Q", alt.Tooltip("value:Q", format=".4f")]),
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
    return layer.facet(column=alt.Column("panel:N", title=None)).properties(title=title)
