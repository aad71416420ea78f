"""The Streamlit side of the teaching page: widgets, session glue and the in-browser player.

These modules render what :mod:`emapp.build` computes; they hold no words or numbers about a
state of a run of their own.
"""
