"""One student's upload stays that student's, and cannot stall the page (AppTest).

Uploads are read in a limited child process (emcore.bounded); the digest that keys the
shared run caches mixes in a secret of the session; names are shortened for the page and
shown as plain text, while the export keeps them whole.
"""

from __future__ import annotations

import pytest
from apptest_page import open_app, shown
from streamlit.testing.v1 import AppTest

import emapp.ui.upload as upload_module
from emapp.build.export import labels_csv
from emapp.build.names import markdown_literal
from emcore.bounded import ReadLimits

MARKUP = "![x](http://example.invalid/a.png)"
LONG = "w" * 100_000
CSV = f"{MARKUP},{LONG},plain\n1,2,3\n4,5,7\n2,1,0\n8,3,3\n5,5,1\n".encode()


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="csv_file").set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception, at.exception
    return at


def uploaded_page(name: str, content: bytes = CSV) -> AppTest:
    at = open_app()
    at.radio(key="source").set_value("Upload CSV")
    at.run()
    return upload(at, name, content)


def captions(at: AppTest) -> str:
    return " ".join(shown(c.value) for c in at.caption)


def test_identical_bytes_in_two_sessions_keep_their_own_names() -> None:
    alice = uploaded_page("alice_private_marks.csv")
    bob = uploaded_page("bob.csv")
    alice_run, bob_run = alice.session_state["em_run"], bob.session_state["em_run"]
    assert alice_run.export.name == "alice_private_marks.csv"
    assert bob_run.export.name == "bob.csv"
    # Not one cached object is shared: the runs are keyed by each session's own digest.
    assert alice_run is not bob_run and alice_run.key != bob_run.key
    assert alice_run.timeline is not bob_run.timeline
    assert "alice" not in repr(bob_run.key) and "alice" not in captions(bob)


def test_an_uploads_run_lives_in_its_session_not_in_the_shared_cache(monkeypatch) -> None:
    """No other session can reuse an upload's run, so it must go when its session goes."""
    import emapp.ui.runs as runs

    shared: list[tuple] = []
    cached_fit = runs.fit_table

    def recording_fit_table(fit_key: tuple, X, model_values: tuple):
        shared.append(fit_key)
        return cached_fit(fit_key, X, model_values)

    monkeypatch.setattr(runs, "fit_table", recording_fit_table)
    at = uploaded_page("mine.csv")
    run = at.session_state["em_run"]
    kept = at.session_state[runs.UPLOAD_RUNS]
    assert kept["view"][1].key == run.key
    assert kept["fit"][1].n_iterations == run.timeline.n_iterations
    assert run.key[1][0].startswith("file-") and not shared
    # Moving to another upload replaces the run instead of keeping both.
    at = upload(at, "other.csv", CSV)
    assert at.session_state[runs.UPLOAD_RUNS]["view"][1].key == at.session_state["em_run"].key
    assert at.session_state["em_run"].key != run.key and not shared
    # Built-in data still go through the shared cache.
    at.radio(key="source").set_value("Real data sets")
    at.run()
    assert not at.exception, at.exception
    assert shared and not shared[-1][0].startswith("file-")


def test_a_renamed_copy_in_one_session_takes_its_new_name() -> None:
    at = uploaded_page("first.csv")
    at = upload(at, "second.csv", CSV)
    assert at.session_state["em_run"].export.name == "second.csv"


def test_names_are_short_and_plain_on_the_page_and_whole_in_the_export() -> None:
    at = uploaded_page("names.csv")
    options = at.multiselect(key="fit_columns").options
    assert max(len(option) for option in options) <= 40
    assert MARKUP in options  # the name itself, shown as text
    for caption in at.caption:
        assert "![" not in caption.value or markdown_literal(MARKUP) in caption.value
    export = at.session_state["em_run"].export
    assert export.columns[:2] == (MARKUP, LONG)
    header = labels_csv(export.data, export.columns, export.resp).splitlines()[0]
    assert LONG in header


def test_a_read_over_the_time_limit_is_stopped_and_the_last_fit_kept(monkeypatch) -> None:
    at = uploaded_page("good.csv")
    before = at.session_state["em_run"]
    monkeypatch.setattr(upload_module, "READER", "tests.misbehaving_readers:sleep")
    monkeypatch.setattr(upload_module, "READ_LIMITS", ReadLimits(seconds=1.0, cpu_seconds=5))
    at = upload(at, "slow.csv", b"x,y\n1,2\n3,4\n")
    errors = [shown(e.value) for e in at.error]
    assert any("took longer than 1 seconds" in e for e in errors), errors
    assert at.session_state["em_run"] is before
    assert "Still showing good.csv" in captions(at)


@pytest.mark.parametrize(
    ("reader", "sentence"),
    [
        ("tests.misbehaving_readers:crash", "stopped unexpectedly"),
        ("tests.misbehaving_readers:allocate", "needed more than"),
    ],
)
def test_a_reader_that_dies_is_a_sentence(monkeypatch, reader: str, sentence: str) -> None:
    monkeypatch.setattr(upload_module, "READER", reader)
    monkeypatch.setattr(upload_module, "READ_LIMITS", ReadLimits(memory_bytes=200_000_000))
    at = uploaded_page("any.csv", b"x,y\n1,2\n3,4\n")
    assert any(sentence in shown(e.value) for e in at.error)


def test_the_read_slots_are_all_free_after_reads() -> None:
    uploaded_page("a.csv")
    uploaded_page("b.csv", b"nothing here\n")
    slots = upload_module._read_slots
    taken = [slots.acquire(timeout=5) for _ in range(upload_module.MAX_READS_AT_ONCE)]
    for _ in taken:
        slots.release()
    assert all(taken)
