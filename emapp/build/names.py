"""Names from uploaded files, made safe to show (pure: no Streamlit).

Column and file names come from whoever wrote the CSV file. Two things go wrong when they
are drawn as they are: a long name keeps the browser busy laying it out, and a name that
looks like markup (a Markdown image, ``<b>``, ``$x$``, ``:red[...]``) is drawn as markup.

- :func:`display_names` shortens names for the screen (the export keeps the full ones);
- :func:`markdown_literal` makes text show as written in Streamlit's markdown elements;
- :func:`plotly_literal` makes text show as written in Plotly's titles, legends and hovers.

Both ``*_literal`` functions are for the *name part* of a sentence only: the app's own
formatting around it stays markdown (or Plotly markup).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ELLIPSIS = "…"
DEFAULT_LIMIT = 40
# Room for the shortest shortened name that still says something: a few characters, the
# ellipsis and a " (n)" suffix.
MIN_LIMIT = 10
BLANK = "(blank)"
# Invisible characters that reorder the text around them: a name could otherwise show a
# different name (or reverse the sentence it sits in).
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f"  # the direction marks
    + "".join(map(chr, range(0x202A, 0x202F)))  # embeddings and overrides
    + "".join(map(chr, range(0x2066, 0x206A)))  # isolates
)
_WHITESPACE = re.compile(r"\s+")

# -- Streamlit markdown --------------------------------------------------------------------
# CommonMark lets a backslash make any ASCII punctuation character literal.
_ASCII_PUNCTUATION = frozenset(r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~""")
# Streamlit rewrites text *after* markdown has resolved the escapes, by regular expressions
# over each text node, so a backslash cannot stop it: ":streamlit:", ":material_x:" and
# emoji shortcodes (":smile:", ":+1:") become pictures, " -> ", " -- ", " >= " and friends
# become arrows and dashes, and GFM turns "http://...", "www.x.y" and "a@b.cd" into links.
# Each pattern needs two neighbouring characters in one text node: a colon followed by
# [A-Za-z0-9_+-/], two of "-<>~=", "w." or "@" followed by [A-Za-z0-9_-]. An empty
# ``:small[]`` directive between them ends the text node there and draws nothing (an empty
# <span>), so the text shows exactly as written.
_SPLIT = ":small[]"
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_AFTER_COLON = _WORD | frozenset("+-/")
_AFTER_AT = _WORD | frozenset("-")
_ARROW_PARTS = frozenset("-<>~=")

# -- Plotly --------------------------------------------------------------------------------
# Plotly reads a subset of HTML (tags and entities) in all its text, fills in "%{...}"
# templates in titles, legend names and annotations (from layout.meta) and in hover
# templates, and hands "$...$" to MathJax when the page has it. Entities are decoded last,
# so writing these characters as entities shows them as they are.
_PLOTLY_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "%": "&#37;", "$": "&#36;"}


def is_unprintable(char: str) -> bool:
    """Whether ``char`` cannot be shown as itself on one line: control characters, line and
    paragraph separators, bidirectional controls and lone surrogates."""
    category = unicodedata.category(char)
    return category in ("Cc", "Zl", "Zp", "Cs") or char in BIDI_CONTROLS


def one_line(text: str) -> str:
    """``text`` with every unprintable character a space and runs of spaces made one.

    Browsers collapse runs of spaces anyway, and Markdown reads four leading spaces as code.
    """
    printable = "".join(" " if is_unprintable(char) else char for char in text)
    return _WHITESPACE.sub(" ", printable)


def shorten(text: str, limit: int, suffix: str = "") -> str:
    """``text`` + ``suffix`` in at most ``limit`` characters, cutting ``text`` with "…"."""
    if len(text) + len(suffix) <= limit:
        return text + suffix
    keep = max(limit - len(suffix) - len(ELLIPSIS), 0)
    return text[:keep].rstrip() + ELLIPSIS + suffix


def display_names(names: Sequence[str], limit: int = DEFAULT_LIMIT) -> tuple[str, ...]:
    """Names short enough to draw, on one line, and still all different.

    Parameters
    ----------
    names : sequence of str
        The full names (e.g. a table's columns), in order.
    limit : int, default 40
        The most characters (Unicode code points) a shown name may have, "…" included.

    Returns
    -------
    tuple of str
        One name per input, in the same order: unprintable characters (controls, line
        breaks, bidirectional overrides) turned into spaces, runs of spaces made one and
        the ends trimmed, an empty name shown as "(blank)", and a name longer than
        ``limit`` cut to ``limit`` characters ending in "…". Names that come out equal get
        " (2)", " (3)", ... (still within ``limit``); a name that is already unique is
        never changed by another one's suffix.

    Raises
    ------
    ValueError
        If ``limit`` is below 10, or there are too many equal names for their suffixes to
        fit in ``limit``.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}; got {limit}.")
    cleaned = [one_line(str(name)).strip() or BLANK for name in names]
    first = [shorten(text, limit) for text in cleaned]
    # Every name's own short form is reserved first, so a suffixed name never takes it.
    taken = set(first)
    seen: set[str] = set()
    shown = []
    for text, short in zip(cleaned, first, strict=True):
        if short in seen:
            short = numbered(text, limit, taken)
            taken.add(short)
        seen.add(short)
        shown.append(short)
    return tuple(shown)


def numbered(text: str, limit: int, taken: set[str]) -> str:
    """``text`` with the first " (n)" suffix, n >= 2, that makes it a name not yet taken."""
    number = 2
    while True:
        suffix = f" ({number})"
        if len(suffix) + len(ELLIPSIS) > limit:
            raise ValueError("Too many equal names to tell apart within the length limit.")
        candidate = shorten(text, limit, suffix)
        if candidate not in taken:
            return candidate
        number += 1


def markdown_literal(text: str) -> str:
    """Markdown that Streamlit (1.67) shows as exactly ``text``, on one line.

    For the names inside ``st.markdown``, ``st.caption``, ``st.error`` / ``warning`` /
    ``info`` / ``success``, ``st.toast``, widget labels, ``help`` and option labels that
    accept markdown. Nothing in ``text`` becomes a link, image, emphasis, heading, list,
    code, table, HTML, LaTeX, colour or badge directive, emoji, icon or arrow.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        Every ASCII punctuation character backslash-escaped (CommonMark's escape), an empty
        ``:small[]`` directive between the character pairs Streamlit rewrites after
        parsing (see ``_SPLIT``), and unprintable characters turned into spaces (runs of
        spaces made one and the ends trimmed, as the browser shows them). The browser
        shows ``one_line(text).strip()``.
    """
    # Spaces at the ends would show as nothing, and break "**" around the name.
    text = one_line(text).strip()
    pieces = []
    for index, char in enumerate(text):
        if index and splits(text[index - 1], char):
            pieces.append(_SPLIT)
        pieces.append("\\" + char if char in _ASCII_PUNCTUATION else char)
    return "".join(pieces)


def splits(before: str, after: str) -> bool:
    """Whether ``before`` + ``after`` can start or be part of something Streamlit rewrites
    after parsing: an icon, emoji, logo or URL after a colon, an arrow or a dash, a "www."
    or an e-mail address."""
    if before == ":":
        return after in _AFTER_COLON
    if before == "@":
        return after in _AFTER_AT
    if after == ".":
        return before in "wW"
    return before in _ARROW_PARTS and after in _ARROW_PARTS


def plotly_literal(text: str) -> str:
    """Text that Plotly shows as exactly ``text``: in titles, axis titles, legend names,
    annotations, hover text and hover templates.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``&``, ``<``, ``>``, ``%`` and ``$`` written as HTML entities, so no tag
        (``<b>``, ``<a href>``, ``<br>``), entity, ``%{...}`` template or ``$...$`` formula
        in ``text`` is read as one. Other characters are unchanged: pass names through
        :func:`display_names` first for one line of bounded length.
    """
    return "".join(_PLOTLY_ENTITIES.get(char, char) for char in text)
