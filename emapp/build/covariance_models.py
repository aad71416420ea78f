"""The 14 covariance models as the page names, orders and groups them (pure).

emcore has R mclust's 14 models, ``Sigma_k = lambda_k D_k A_k D_k^T``: three letters say
whether the **volume** (lambda, the ellipse's size), the **shape** (A, how elongated) and the
**orientation** (D, its angle) are Equal for every component, Variable (each its own), or the
Identity (a circle; ellipses along the axes). The page offers them in mclust's order, grouped
by what they draw: circles (spherical), ellipses along the axes (diagonal), ellipses at any
angle (ellipsoidal).

A model is stored under emcore's ``model.name`` (scikit-learn's "spherical", "diag", "tied"
and "full" for VII, VVI, EEE and VVV; mclust's name for the other ten), so links, scenarios
and session state keep the values they had; this module gives each one its words.
"""

from __future__ import annotations

from emcore.covariance import MCLUST_ORDER, covariance_model

# What the page stores for each model, in mclust's order (EII, VII, EEI, ..., VVV).
MODEL_CHOICES: tuple[str, ...] = tuple(model.name for model in MCLUST_ORDER)

SPHERICAL, DIAGONAL, ELLIPSOIDAL = "spherical", "diagonal", "ellipsoidal"
KINDS: tuple[str, ...] = (SPHERICAL, DIAGONAL, ELLIPSOIDAL)
KIND_WORDS: dict[str, str] = {
    SPHERICAL: "Spherical: circles",
    DIAGONAL: "Diagonal: ellipses along the axes",
    ELLIPSOIDAL: "Ellipsoidal: ellipses at any angle",
}
# The three letters, in the order mclust writes them.
PROPERTIES: tuple[str, ...] = ("size", "shape", "orientation")
LETTER_WORDS: dict[str, str] = {
    "E": "equal for every component",
    "V": "variable: each component its own",
    "I": "identity: round (shape) or along the axes (orientation)",
}


def mclust_name(name: str) -> str:
    """``"VVV"`` for ``"full"``, ``"VEV"`` for ``"VEV"``: the model's three letters.

    Raises
    ------
    ValueError
        For a name emcore does not know (emcore's message lists the valid ones).
    """
    return covariance_model(name).mclust_name


def kind(name: str) -> str:
    """:data:`SPHERICAL` (shape I), :data:`DIAGONAL` (orientation I) or :data:`ELLIPSOIDAL`."""
    _, shape, orientation = mclust_name(name)
    if shape == "I":
        return SPHERICAL
    return DIAGONAL if orientation == "I" else ELLIPSOIDAL


def models_of_kind(which: str) -> tuple[str, ...]:
    """The stored names of one kind's models, in mclust's order."""
    return tuple(name for name in MODEL_CHOICES if kind(name) == which)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def model_words(name: str) -> str:
    """What the model's letters say, e.g. ``"same shape, own size and orientation"`` (VEV).

    Size is mclust's volume. Circles (EII, VII) and ellipses along the axes (EEI, ...,
    VVI) say so instead of naming an orientation.
    """
    letters = mclust_name(name)
    if kind(name) == SPHERICAL:
        return "circles, " + ("one size" if letters[0] == "E" else "own size")
    pairs = list(zip(PROPERTIES, letters, strict=True))
    same = [word for word, letter in pairs if letter == "E"]
    own = [word for word, letter in pairs if letter == "V"]
    parts = [f"same {_join(same)}" if same else "", f"own {_join(own)}" if own else ""]
    words = ", ".join(part for part in parts if part)
    return words + (", along the axes" if kind(name) == DIAGONAL else "")


def short_name(name: str) -> str:
    """``"VEV"``, or ``"VVV (full)"`` for a model scikit-learn names too."""
    letters = mclust_name(name)
    stored = covariance_model(name).name
    return letters if stored == letters else f"{letters} ({stored})"


def model_label(name: str) -> str:
    """The sidebar's words for a model: ``"VEV: same shape, own size and orientation"``."""
    return f"{short_name(name)}: {model_words(name)}"


def choice_words(name: str) -> str:
    """A few words that fit the sidebar's one-line choice: what each component has of its
    own (the rest is shared), e.g. ``"own size and angle"`` (VEV); ``"any ellipse"`` (VVV).

    The sidebar's box cannot wrap, so these are short; :func:`model_words` says it in full.
    """
    letters = mclust_name(name)
    which = kind(name)
    if which == SPHERICAL:
        return "circles, " + ("one size" if letters[0] == "E" else "own size")
    short = dict(zip(PROPERTIES, ("size", "shape", "angle"), strict=True))
    own = [short[word] for word, letter in zip(PROPERTIES, letters, strict=True) if letter == "V"]
    if which == DIAGONAL:
        if len(own) == 2:
            return "any ellipse on axes"
        return "on axes, " + (f"own {_join(own)}" if own else "all alike")
    if len(own) == 3:
        return "any ellipse"
    return f"own {_join(own)}" if own else "one shared ellipse"


def choice_label(name: str) -> str:
    """The sidebar's choice: ``"VEV: own size and angle"``, ``"VVV (full): any ellipse"``."""
    return f"{short_name(name)}: {choice_words(name)}"


def letter_rows(name: str) -> tuple[tuple[str, str, str], ...]:
    """``(property, letter, "same" / "own" / "round" / "along the axes")`` for each letter."""
    letters = mclust_name(name)
    meaning = {"E": "same", "V": "own"}
    rows = []
    for word, letter in zip(PROPERTIES, letters, strict=True):
        if letter == "I":
            said = "round" if word == "shape" else "along the axes"
            if kind(name) == SPHERICAL and word == "orientation":
                said = "none (circles)"
        else:
            said = meaning[letter]
        rows.append((word, letter, said))
    return tuple(rows)


# The sidebar's one-line names of the models, by stored name.
COVARIANCE_LABELS: dict[str, str] = {name: choice_label(name) for name in MODEL_CHOICES}
