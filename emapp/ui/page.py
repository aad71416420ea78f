"""The page's fixed words: the header and the explanation of what E and M do (Streamlit).

The words themselves are in :mod:`emapp.build.text`.
"""

from __future__ import annotations

import streamlit as st

from emapp.build.text import (
    CLOSING_TEXT,
    E_STEP_FORMULA,
    E_STEP_TEXT,
    M_STEP_FORMULA,
    M_STEP_TEXT,
    PAGE_CSS,
)


def page_header() -> None:
    """The page's CSS (larger type for a projector) and its title."""
    st.html(PAGE_CSS)
    st.markdown("## Expectation-Maximization, one step at a time")


def explanation() -> None:
    """What the E-step and the M-step do, in words and formulas (an open expander)."""
    with st.expander("What do the E-step and the M-step do?", expanded=True):
        st.markdown(E_STEP_TEXT)
        st.latex(E_STEP_FORMULA)
        st.markdown(M_STEP_TEXT)
        st.latex(M_STEP_FORMULA)
        st.markdown(CLOSING_TEXT)
