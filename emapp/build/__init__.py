"""Pure builders for the teaching page: data, runs, words, figures and exports.

Nothing below this package imports Streamlit (``tests/test_app_layout.py`` checks), so all of
it can be tested and benchmarked as plain functions of numbers and names.
"""
