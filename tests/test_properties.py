"""Property-based tests: the diff parser, the import reader and the redactor answer any
input with a result or a clear reason, never an exception; redaction is idempotent.

CI runs few examples (profile "ci"); `python benchmarks/bench_hardening.py` runs 10,000+.
"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prsynth.text.redact import redact
from tests.support.fuzzdata import (
    check_diff,
    check_import,
    check_redaction,
    diff_texts,
    record_lines,
    redact_inputs,
)

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("PRSYNTH_HYPOTHESIS_PROFILE", "ci"))


@given(diff_texts, st.integers(0, 400))
def test_diff_functions_answer_any_text(text, budget):
    check_diff(text, budget)


@given(st.lists(record_lines(), max_size=12))
def test_import_reader_answers_every_line_with_a_pr_or_a_reason(lines):
    check_import(lines)


@given(redact_inputs)
def test_planted_secrets_never_survive_and_redaction_is_idempotent(parts):
    before, case, after = parts
    check_redaction(before, case, after)


@given(st.text(max_size=300))
def test_redaction_of_any_text_is_idempotent(text):
    once = redact(text)
    assert redact(once) == once
