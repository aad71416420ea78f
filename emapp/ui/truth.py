"""The true clusters on the page (Streamlit): the sidebar's toggle and the chart it outlines.

The agreement (adjusted Rand index) is said by the run's last state description, and the
chart's figure carries the outlines at width 0 (see :mod:`emapp.build.truth`); this module
offers the toggle when there is a truth to show on a scatter plot, and shows the outlines
with a style, so the chart is not redrawn.
"""

from __future__ import annotations

import streamlit as st

from emapp.build.truth import OUTLINE_CSS

OUTLINE_KEY = "truth_outline"


def truth_toggle(has_truth: bool, scatter: bool, species: bool) -> bool:
    """The toggle that outlines the points by true cluster, when there is one to show."""
    if not has_truth:
        return False
    what = "species" if species else "true cluster"
    if not scatter:
        st.caption(f"The data know each point's {what}: the agreement is said once EM has run.")
        return False
    value = st.toggle(
        f"Outline the points by {what}",
        key=OUTLINE_KEY,
        help="Each point gets an outline in the colour of its true group, so you can see "
        "where EM's colours and the truth disagree. The agreement (adjusted Rand index) is "
        "said once EM has run.",
    )
    if value:
        st.html(OUTLINE_CSS)  # the figure has the outlines; this shows them
    return bool(value)


__all__ = ["OUTLINE_KEY", "truth_toggle"]
