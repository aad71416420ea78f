"""Streamlit entry point (the teaching app is built in its own issue)."""

import streamlit as st

st.set_page_config(page_title="EM for Gaussian mixtures", layout="wide")
st.title("Expectation-Maximization for Gaussian mixtures")
st.write("The interactive page is on its way.")
