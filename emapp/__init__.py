"""The Streamlit teaching app on top of :mod:`emcore`, split into small testable modules.

Pure modules (no Streamlit import): :mod:`emapp.blobs`, :mod:`emapp.colors`,
:mod:`emapp.geometry`, :mod:`emapp.timeline`, :mod:`emapp.state`, :mod:`emapp.figures`.
Streamlit modules: :mod:`emapp.sidebar`, :mod:`emapp.controls`, :mod:`emapp.text`,
:mod:`emapp.upload`, :mod:`emapp.player` (the in-browser animation driver).
"""
