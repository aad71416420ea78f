"""Words on the page that do not depend on a run: the page's CSS, and the friendly
explanation of what E and M do, with their formulas (pure; :mod:`emapp.ui.page` shows them).

The words about a state of a run (status line, notes, parameter table) are in
:mod:`emapp.build.describe`.
"""

from __future__ import annotations

# Larger type for a projector, and a tighter top so the chart fits on one screen.
PAGE_CSS = """
<style>
.block-container { padding-top: 2.2rem; padding-bottom: 2rem; max-width: 1500px; }
[data-testid="stBaseButton-primary"] p, [data-testid="stBaseButton-secondary"] p {
  font-size: 1.15rem; font-weight: 600; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: 1.08rem; }
[data-testid="stSidebar"] [data-testid="stMarkdownContainer"] p { font-size: 1rem; }
</style>
"""

E_STEP_TEXT = """
EM fits a mixture of Gaussian "blobs" to the points by repeating two simple steps.

**E-step (Expectation): who explains each point?**
Every component looks at every point and asks "how likely is this point if it came from
me?". The answers are shared out so they add up to 1: these are the **responsibilities**.
A point in the middle of the blue cluster is 100 % blue; a point between blue and orange
is part blue, part orange, and is drawn in the mixed colour. *The colours change, the
ellipses stay.*
"""
E_STEP_FORMULA = (
    r"r_{ik} = \frac{\pi_k \, \mathcal{N}(x_i \mid \mu_k, \Sigma_k)}"
    r"{\sum_j \pi_j \, \mathcal{N}(x_i \mid \mu_j, \Sigma_j)}"
)
M_STEP_TEXT = """
**M-step (Maximisation): move to fit your points.**
Every component moves to the weighted average of the points, using the responsibilities
as weights; its ellipse takes the weighted spread of those points, and its weight becomes
its share of all points. *The ellipses move, the colours stay.*
"""
# One equation per line: the page's right column is narrow on a projector.
M_STEP_FORMULA = (
    r"\begin{aligned}"
    r"N_k &= \sum_i r_{ik}, \qquad \pi_k = \frac{N_k}{n} \\"
    r"\mu_k &= \frac{1}{N_k} \sum_i r_{ik} \, x_i \\"
    r"\Sigma_k &= \frac{1}{N_k} \sum_i r_{ik} \, (x_i - \mu_k)(x_i - \mu_k)^\top"
    r"\end{aligned}"
)
CLOSING_TEXT = """
**Why it works.** Neither step can lower the log-likelihood (the curve on the right), so
EM climbs until it levels off: that is convergence. It may level off on a poor fit: try
another seed or initialisation.

The ellipses are drawn at 1, 2 and 3 standard deviations (solid, dashed, dotted): about
39 %, 86 % and 99 % of a 2-D Gaussian's points lie inside them.
"""
