"""Names from uploaded files, shown as written: :mod:`emapp.build.names`.

The unit tests check the escaping against the rules Streamlit 1.67's markdown and Plotly
apply (CommonMark escapes; the regular expressions Streamlit and GFM run over text nodes
after parsing; Plotly's tags, entities and templates). The browser test is the proof: it
renders every nasty string in real Streamlit elements and a real Plotly chart in Chromium
and reads back what is shown.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emapp.build.describe import table_header
from emapp.build.names import (
    BLANK,
    ELLIPSIS,
    display_names,
    markdown_literal,
    one_line,
    plotly_literal,
    shorten,
)

ROOT = Path(__file__).resolve().parents[1]
SPLIT = ":small[]"
PUNCTUATION = re.escape(r"""!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~""")

# Strings that Markdown, Streamlit or Plotly would draw as something else.
NASTY = (
    "![x](http://example.invalid/a.png)",
    "[link](http://example.invalid)",
    "<b>bold</b> <img src=x onerror=alert(1)>",
    "<a href=x>y</a> <!-- c --> <!--",
    "**bold** *em* _em_ __b__ ***x*** 2*3*4 *",
    "# heading",
    "> quote",
    "> [!NOTE]",
    "- item",
    "+ item",
    "* item",
    "1. item",
    "1) item",
    "- [x] done",
    "[ ] task",
    "$x^2$",
    "$$x$$",
    "price $5 and $6",
    r"\$x$ and \\$y$",
    r"\(x\) \[y\]",
    "$",
    ":red[red] :blue-badge[b] :small[s] :rainbow[r] :red-background[x]",
    ':color[c]{foreground="red"} :help[x] :shimmer[y]',
    "Σ :small[] end",
    ":smile: :+1: :-1: :heart: ::smile:: :white_check_mark:",
    ":material/home: :material_home: :streamlit: ::material/x::",
    ":-) :) ;) :D 8) B) :p",
    "a -> b <- c <-> d -- e >= f <= g ~= h",
    "->",
    "--",
    "<->",
    "-->",
    "a--b",
    "x <-",
    "=> <=>",
    "`code` ``x`` ```fence```",
    "~~strike~~ ~sub~ ~~~",
    "==x== ^sup^",
    "http://example.invalid/x www.example.invalid user@example.invalid",
    "HTTP://E.INVALID/A WWW.E.INVALID mailto:a@b.invalid",
    "<http://example.invalid> <user@example.invalid>",
    "[x]: http://example.invalid",
    "[^1] [x][y] [^a]: note",
    "&copy; &amp; &#60; &lt; &#x3C; &nbsp;",
    "a | b | c",
    "|---|",
    "back\\slash\\",
    "\\*not em\\*",
    "\\:smile\\:",
    "___",
    "***",
    "---",
    "===",
    "    indented",
    "\tx\ty",
    "a\nb\r\nc",
    "nul\x00here",
    "rtl\u202eevil\u202c",
    "x:y:z ratio:total[x] a:b :a a: b : ::",
    "{attr} [label]{x}",
    "100% %{x} %{meta} %{meta[0]} %{y:.2f}",
    "@@x@y.z",
    "x_y_z __init__",
    "Ünïcödé ✓ 日本語 עברית ：smile：",
    "a&b<c>d\"e'f",
)


# -- display_names ------------------------------------------------------------------------


def test_short_clean_names_stay_as_they_are() -> None:
    names = ("eruptions", "waiting", "Ünïcödé ✓")
    assert display_names(names) == names


def test_long_names_are_cut_with_an_ellipsis() -> None:
    (shown,) = display_names(["a" * 100], limit=40)
    assert shown == "a" * 39 + ELLIPSIS and len(shown) == 40
    assert display_names(["b" * 40], limit=40) == ("b" * 40,)


def test_names_with_the_same_start_stay_different_within_the_limit() -> None:
    long = "temperature at the north station in degrees Celsius"
    names = [long + " (max)", long + " (min)", long + " (mean)"]
    shown = display_names(names, limit=40)
    assert len(set(shown)) == 3
    assert all(len(name) <= 40 for name in shown)
    assert shown[0].endswith(ELLIPSIS)
    assert shown[1].endswith(f"{ELLIPSIS} (2)") and shown[2].endswith(f"{ELLIPSIS} (3)")


def test_a_suffix_never_takes_another_names_own_display() -> None:
    assert display_names(["x", "x", "x (2)"]) == ("x", "x (3)", "x (2)")


def test_three_100_kb_names_are_quick_and_short() -> None:
    names = [("n" * 100_000) + str(i) for i in range(3)]
    start = time.perf_counter()
    shown = display_names(names)
    assert time.perf_counter() - start < 1.0
    assert len(set(shown)) == 3 and all(len(name) <= 40 for name in shown)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a\nb", "a b"),
        ("a\r\n\tb", "a b"),
        ("nul\x00here", "nul here"),
        ("rtl\u202eevil\u202c", "rtl evil"),
        ("iso\u2067x\u2069", "iso x"),
        ("line\u2028sep", "line sep"),
        ("lone\ud800surrogate", "lone surrogate"),
        ("  padded  ", "padded"),
        ("", BLANK),
        ("\n\x00", BLANK),
    ],
)
def test_unprintable_characters_become_spaces(name: str, shown: str) -> None:
    assert display_names([name]) == (shown,)


def test_names_that_clean_to_the_same_text_are_told_apart() -> None:
    assert display_names(["a\nb", "a b", ""]) == ("a b", "a b (2)", BLANK)


def test_too_small_a_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        display_names(["x"], limit=3)


@given(st.lists(st.text(max_size=80), max_size=12), st.integers(10, 60))
def test_display_names_are_short_unique_one_line_and_in_order(names, limit) -> None:
    shown = display_names(names, limit)
    assert len(shown) == len(names)
    assert len(set(shown)) == len(shown)
    first_seen: set[str] = set()
    for full, name in zip(names, shown, strict=True):
        assert 0 < len(name) <= limit
        assert one_line(name) == name == name.strip()
        own = shorten(one_line(full).strip() or BLANK, limit)
        if own not in first_seen:  # the first name with a short form keeps it
            assert name == own
        first_seen.add(own)


# -- markdown_literal ----------------------------------------------------------------------

# What Streamlit 1.67's markdown does to *text nodes* after the escapes are resolved
# (StreamlitMarkdown's plugins, remark-emoji, GFM's literal autolinks): none may match.
TEXT_REWRITES = (
    re.compile(r":streamlit:"),
    re.compile(r":material_\w+:", re.ASCII),
    re.compile(r":\+1:|:-1:|:[\w-]+:", re.ASCII),
    re.compile(r"(^|\s)(<->|->|<-|--|>=|<=|~=)(\s|$)"),
    re.compile(r"https?://|www(?=\.)", re.IGNORECASE),
    re.compile(r"[-.\w+]+@[-\w]+(\.[-\w]+)+", re.ASCII),
)
# What it does to the whole source first: icons, and loading the emoji plugin at all.
SOURCE_REWRITES = (
    re.compile(r":material/"),
    re.compile(r":(?!material/|streamlit:)[\w+-][\w+-]*:", re.ASCII),
)


def unescape(markdown: str) -> str:
    return re.sub(rf"\\([{PUNCTUATION}])", r"\1", markdown)


def text_nodes(markdown: str) -> list[str]:
    """The text nodes the escaped markdown parses into (the splitters end them)."""
    return [unescape(piece) for piece in markdown.split(SPLIT)]


def assert_literal(text: str) -> None:
    markdown = markdown_literal(text)
    without_splits = markdown.replace(SPLIT, "")
    # Every ASCII punctuation character is escaped: no markdown syntax is left.
    assert re.fullmatch(rf"(?:\\[{PUNCTUATION}]|[^{PUNCTUATION}])*", without_splits)
    assert unescape(without_splits) == one_line(text).strip()
    for node in text_nodes(markdown):
        for pattern in TEXT_REWRITES:
            assert not pattern.search(node), (text, node, pattern.pattern)
    for pattern in SOURCE_REWRITES:
        assert not pattern.search(markdown), (text, pattern.pattern)
    assert "\n" not in markdown and "\x00" not in markdown


@pytest.mark.parametrize("text", NASTY)
def test_markdown_literal_leaves_no_syntax(text: str) -> None:
    assert_literal(text)


TRICKY = st.lists(
    st.sampled_from(
        [*":@.-<>~=/+_ $%&*[](){}!#`\\|^w\n\t\x00\u202e", "smile", "www", "http", "material"]
    ),
    max_size=30,
).map("".join)


@given(st.one_of(TRICKY, st.text(max_size=60)))
def test_markdown_literal_leaves_no_syntax_for_any_text(text: str) -> None:
    assert_literal(text)


def test_markdown_literal_examples() -> None:
    assert markdown_literal("petal_length") == r"petal\_length"
    assert markdown_literal("![i](x)") == r"\!\[i\]\(x\)"
    assert markdown_literal(":smile:") == r"\::small[]smile\:"
    assert markdown_literal("a -> b") == r"a \-:small[]\> b"
    assert markdown_literal("plain words") == "plain words"


# -- plotly_literal ------------------------------------------------------------------------


def test_plotly_literal_escapes_tags_entities_templates_and_formulas() -> None:
    assert plotly_literal("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert plotly_literal("&lt;") == "&amp;lt;"
    assert plotly_literal("%{x} 5%") == "&#37;{x} 5&#37;"
    assert plotly_literal("$x$") == "&#36;x&#36;"
    assert plotly_literal("![i](http://e.invalid/a.png)") == "![i](http://e.invalid/a.png)"


@given(st.text(max_size=60))
def test_plotly_literal_decodes_back_and_has_no_markup(text: str) -> None:
    shown = plotly_literal(text)
    assert html.unescape(shown) == text
    assert not set("<>%$") & set(shown)
    assert not re.search(r"&(?!amp;|lt;|gt;|#37;|#36;)", shown)


# -- in the browser --------------------------------------------------------------------------

PROBE = """
import json
import sys
from pathlib import Path

sys.path.insert(0, {root!r})

import plotly.graph_objects as go
import streamlit as st

from emapp.build.blobs import BlobSettings, make_blobs
from emapp.build.figures import PrebuiltFigure, build_figure
from emapp.build.names import display_names, markdown_literal, plotly_literal
from emapp.build.describe import table_data
from emapp.ui.player import render_table
from emapp.build.timeline import ModelSettings, compute_timeline

NASTY = json.loads(Path(__file__).with_name("nasty.json").read_text(encoding="utf-8"))
AXES = ({x!r}, {y!r})
for i, text in enumerate(NASTY):
    with st.container(key=f"n{{i}}"):
        st.caption(markdown_literal(text))
        st.error(markdown_literal(text))
        st.checkbox(markdown_literal(text), key=f"c{{i}}")
        st.markdown(f"Column **{{markdown_literal(text)}}** at 12:30:00 :smile:")
st.radio("options", range(len(NASTY)), format_func=lambda i: markdown_literal(NASTY[i]),
         key="options")
shown = display_names(NASTY, limit=60)
legend = go.Figure(layout={{"meta": "META", "height": 2400}})
for i, name in enumerate(shown):
    legend.add_scatter(x=[i], y=[i], name=plotly_literal(name))
    legend.add_annotation(x=i, y=i, text=plotly_literal(name))
with st.container(key="legend"):
    st.plotly_chart(legend, theme=None)
X = make_blobs(BlobSettings(n_points=120, n_clusters=2, seed=1))
timeline = compute_timeline(X, ModelSettings(n_components=2, seed=0))
spec = build_figure(X, timeline, AXES)
spec["layout"]["meta"] = "META"
with st.container(key="chart"):
    st.plotly_chart(PrebuiltFigure(spec), theme=None)
render_table(table_data(timeline, "v1", AXES))
"""
AXES = ("<b>x</b> %{meta} $a$", "![i](http://example.invalid/a.png) :smile:")
FORBIDDEN = (
    "img, a, strong, b, em, i, del, s, sup, code, pre, h1, h2, h3, h4, h5, h6, ul, ol, li, "
    "blockquote, table, hr, input, svg, .katex, [role=img], .stMarkdownColoredText, "
    ".stMarkdownColoredBackground, .stMarkdownBadge, .stMarkdownShimmer"
)
READ_BLOCKS = """([count, forbidden]) => {
  const describe = (e) => e.tagName + (e.getAttribute("role") ? "@" + e.getAttribute("role") : "");
  const blocks = [];
  for (let i = 0; i < count; i += 1) {
    const box = document.querySelector(`.st-key-n${i}`);
    const parts = box.querySelectorAll(
      "[data-testid=stCaptionContainer], [data-testid=stMarkdownContainer]");
    blocks.push([...parts].map((part) => ({
      text: part.innerText,
      tags: [...part.querySelectorAll(forbidden)].map(describe),
    })));
  }
  return blocks;
}"""
SMILE = "\N{SMILING FACE WITH OPEN MOUTH AND SMILING EYES}"


@pytest.fixture(scope="module")
def probe_url(tmp_path_factory) -> Iterator[str]:
    """A throwaway Streamlit script showing every nasty string, served on a free port."""
    from emapp.serve import serve

    folder = tmp_path_factory.mktemp("names_probe")
    (folder / "nasty.json").write_text(json.dumps(NASTY), encoding="utf-8")
    script = folder / "probe.py"
    script.write_text(PROBE.format(root=str(ROOT), x=AXES[0], y=AXES[1]), encoding="utf-8")
    with serve(script, cwd=ROOT) as url:
        yield url


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.browser
def test_streamlit_and_plotly_show_every_name_as_written(chromium, probe_url) -> None:
    from emapp.serve import IDLE

    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(probe_url)
    page.wait_for_selector(".st-key-chart .js-plotly-plot .g-xtitle")
    page.wait_for_selector(".em-table th")
    page.wait_for_selector(IDLE)
    # Markdown plugins (KaTeX, emoji) load lazily behind a skeleton.
    page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')")
    blocks = page.evaluate(READ_BLOCKS, [len(NASTY), FORBIDDEN])
    wrong = []
    for text, parts in zip(NASTY, blocks, strict=True):
        want = collapse(one_line(text))
        caption, error, label, sentence = parts
        for part in (caption, error, label):
            if collapse(part["text"]) != want or part["tags"]:
                wrong.append((text, part))
        # The app's own markdown around the name still works (bold, an emoji).
        expected = f"Column {want} at 12:30:00 {SMILE}"
        if collapse(sentence["text"]) != expected or sentence["tags"] != ["STRONG"]:
            wrong.append((text, sentence))
    assert not wrong, wrong
    options = page.locator("[data-testid=stRadio] [role=radiogroup] label").all_inner_texts()
    assert [collapse(o) for o in options] == [collapse(one_line(t)) for t in NASTY]
    labels = page.locator("[data-testid=stRadio] [data-testid=stMarkdownContainer]")
    assert labels.locator(":is(img, a, strong, em, code, .katex, [role=img])").count() == 0

    shown = list(display_names(NASTY, limit=60))
    assert page.locator(".st-key-legend .legendtext").all_text_contents() == shown
    assert page.locator(".st-key-legend .annotation-text").all_text_contents() == shown
    assert page.locator(".st-key-chart .g-xtitle").text_content() == AXES[0]
    assert page.locator(".st-key-chart .g-ytitle").text_content() == AXES[1]
    assert page.locator(".js-plotly-plot svg a, .js-plotly-plot tspan[style*=bold]").count() == 0

    # The parameter table's header cells are set with textContent: names show as written.
    header = page.locator(".em-table th").all_text_contents()
    assert header == table_header(AXES)
    assert page.locator(".em-table :is(img, b, a)").count() == 0
    assert not [url for url in requests if "example.invalid" in url]
    exceptions = page.locator("[data-testid='stException']").count()
    context.close()
    assert exceptions == 0
