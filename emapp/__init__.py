"""The Streamlit teaching app on top of :mod:`emcore`, in two packages.

- :mod:`emapp.build`: pure Python, no Streamlit import anywhere below it (a test checks):
  the EM run state by state, the cursor the buttons move, everything the page says about a
  state (:mod:`emapp.build.describe`), the figures, tables, exports and teaching content.
- :mod:`emapp.ui`: the Streamlit widgets and the session glue, which only render what
  :mod:`emapp.build` computes, plus the in-browser player (``ui/player.js``).

``app.py`` (the entry point) lays the page out from :mod:`emapp.ui`; :mod:`emapp.serve`
runs it headless for the browser tests and the benchmarks.
"""
