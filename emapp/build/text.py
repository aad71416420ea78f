"""Words on the page that do not depend on a run: the page's CSS, and the friendly
explanation of what E and M do, with their formulas (pure; :mod:`emapp.ui.page` shows them).

The words about a state of a run (status line, notes, parameter table) are in
:mod:`emapp.build.describe`.
"""

from __future__ import annotations

# Larger type for a projector, and the first screen laid out to fit a projector's (1024x768,
# 1280x720 and up, the sidebar open): title, stepping buttons, status line, notes, scrub row
# and the whole chart, which takes the height the rest leaves. Each row above the chart keeps
# one height in every state (the notes scroll in their own box), so the chart never moves.
# On a phone the page simply flows, and the chart is as tall as its stacked panels need.
PAGE_CSS = """
<style>
/* Streamlit's header bar is see-through: the page starts at the top of the screen. */
[data-testid="stHeader"] { background: transparent; pointer-events: none; }
[data-testid="stHeader"] div { pointer-events: none; }
[data-testid="stHeader"] button, [data-testid="stHeader"] a { pointer-events: auto; }
.block-container { padding: 0.6rem 1.5rem 2rem 1.5rem; max-width: 1500px; }
/* The first screen, one screen high once it holds the chart; the chart takes the rest. */
.st-key-em-stage:has(.st-key-em-chart) { height: calc(100dvh - 1.2rem); flex: 0 0 auto;
  min-height: 0; }
.st-key-em-stage .st-key-em-chart { flex: 1 1 0; min-height: 0; }
.st-key-em-stage [data-testid="stVerticalBlock"] { gap: 0.5rem; }
.st-key-em-stage h2 { font-size: 1.6rem; padding: 0.1rem 0; line-height: 1.3; }
.st-key-em-stage [data-testid="stMarkdownContainer"]:has(h2) { margin-bottom: 0; }
/* The stepping buttons share their row out, none narrower than its whole label. */
.st-key-em-buttons > div { flex: 1 0 fit-content; }
.st-key-em-buttons button { width: 100%; white-space: nowrap; }
/* The scrub row: slider (or the words standing in for it) and re-seed buttons, one height. */
.st-key-em-scrub-row { flex: none; height: 3rem; flex-wrap: nowrap; }
.st-key-em-scrub-row > div { flex: none; }
.st-key-em-scrub-row > div:has([data-testid="stSlider"]),
.st-key-em-scrub-row > div:has([data-testid="stCaptionContainer"]) { flex: 1 1 0; min-width: 30%; }
.st-key-em-scrub-row > div:has(.st-key-em-reseeds) { flex: 0 1 auto; min-width: 0;
  overflow-x: auto; }  /* several re-seed buttons scroll sideways */
.st-key-em-reseeds { flex-wrap: nowrap; }
/* During Play the half-step words take the chart's top right, where Plotly's tool buttons
   show on hover (player.js marks the chart): zooming mid-animation is no use anyway. */
.js-plotly-plot.em-playing .modebar-container { display: none; }
@media (max-width: 640px) {
  .block-container { padding: 3.2rem 1rem 2rem 1rem; }  /* under the header's buttons */
  .st-key-em-stage:has(.st-key-em-chart) { height: auto; }
  .st-key-em-stage .st-key-em-chart { flex: none; height: min(165vw, 100dvh); }
  .st-key-em-stage h2 { font-size: 1.35rem; }
  .st-key-em-scrub-row { height: auto; flex-wrap: wrap; }
  .st-key-em-reseeds { flex-wrap: wrap; }
}
[data-testid="stBaseButton-primary"] p, [data-testid="stBaseButton-secondary"] p {
  font-size: 1.15rem; font-weight: 600; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li {
  font-size: 1.08rem; }
[data-testid="stSidebar"] [data-testid="stMarkdownContainer"] p { font-size: 1rem; }
/* Streamlit 1.67 says why it refused a file ("File must be 20.0MB or smaller.") only in a
   tooltip shown on hover; on the file's chip the words are 1-px screen-reader text. Show
   them under the file's name, in the red of the chip's icon. */
[data-testid="stFileChip"]:has(> [role="alert"]) { flex-wrap: wrap; height: auto; }
[data-testid="stFileChip"] > [role="alert"] { position: static; width: 100%; height: auto;
  margin: 0.2rem 0 0 0; overflow: visible; clip: auto; clip-path: none; white-space: normal;
  color: #B3261E; font-size: 0.9rem; line-height: 1.3; }
/* KaTeX draws a formula of several lines 2 px past its own box (a vlist's -2px margin): in
   a column only as wide as the formula that cut off the M-step's last bracket. */
.katex-display > .katex { padding-right: 2px; }
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
# One short line each: in the page's narrow column at 1024 x 768 the covariance line, written
# on one line with pi_k beside N_k, ran 80 px past the column's edge.
M_STEP_FORMULA = (
    r"\begin{aligned}"
    r"N_k &= \sum_i r_{ik} \\"
    r"\pi_k &= \frac{N_k}{n} \\"
    r"\mu_k &= \frac{1}{N_k} \sum_i r_{ik} \, x_i \\"
    r"\Sigma_k &= \frac{1}{N_k} \sum_i r_{ik} \, (x_i - \mu_k) \\"
    r"&\qquad \times (x_i - \mu_k)^\top"
    r"\end{aligned}"
)
CLOSING_TEXT = """
**Why it works.** Neither step can lower the log-likelihood (the curve on the right), so
EM climbs until it levels off: that is convergence. It may level off on a poor fit: try
another seed or initialisation.

The ellipses are drawn at 1, 2 and 3 standard deviations (solid, dashed, dotted): about
39 %, 86 % and 99 % of a 2-D Gaussian's points lie inside them.
"""
