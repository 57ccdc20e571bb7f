"""The ongoing trials' sentence and the memo of addendum stamps (issue 28, item 4), no DB."""

from __future__ import annotations

from service.schemas.certainty import StatementRead
from service.schemas.pooled_view import PooledHeadlineRead
from service.usecases.pooled.addenda import AddendumStamps, with_stamp
from service.usecases.surveillance.answers import ongoing_read, with_ongoing
from service.usecases.surveillance.ongoing import OngoingCount, ongoing_sentence


def test_the_sentence_counts_trials_and_names_the_latest_year() -> None:
    assert ongoing_sentence(OngoingCount(0, None)) is None
    assert ongoing_sentence(OngoingCount(1, 2026)) == (
        "1 registered trial is expected to report by 2026."
    )
    assert ongoing_sentence(OngoingCount(3, 2028)) == (
        "3 registered trials are expected to report by 2028."
    )
    assert ongoing_sentence(OngoingCount(2, None)) == (
        "2 registered trials are still to report, without an expected date."
    )


def test_the_stamp_is_empty_for_none_and_says_count_and_year_otherwise() -> None:
    assert OngoingCount(0, None).stamp == ""
    assert OngoingCount(2, 2027).stamp == "2:2027"
    assert OngoingCount(2, None).stamp == "2:"
    assert with_stamp("spec", "") == "spec"
    assert with_stamp("spec", "2:2027") != with_stamp("spec", "2:2028")


def test_the_count_is_added_to_the_statement_and_as_fields() -> None:
    statement = StatementRead(text="T.", plain_language="We do not yet know.")

    class Answer(PooledHeadlineRead):
        statement: StatementRead | None = None

    answer = Answer.model_validate(
        {
            "status": "insufficient_evidence", "k": 0, "participants": 0, "estimate": None,
            "ci_lower": None, "ci_upper": None, "pi_lower": None, "pi_upper": None, "tau2": None,
            "i2": None, "outcome": "empowerment", "outcome_name": "Empowerment",
            "p_value": None, "evidence_version": 0, "evidence_created_at": None,
            "engine_version": "1", "canonical": "c", "statement": statement.model_dump(),
        }
    )  # fmt: skip
    assert with_ongoing(answer, "empowerment", OngoingCount(0, None)) is answer
    counted = with_ongoing(answer, "empowerment", OngoingCount(2, 2027))
    assert isinstance(counted, Answer)
    assert counted.statement is not None
    assert counted.statement.plain_language == (
        "We do not yet know. 2 registered trials are expected to report by 2027."
    )
    assert counted.ongoing == ongoing_read("empowerment", OngoingCount(2, 2027))
    dumped = counted.model_dump(exclude_unset=True)  # as the cache serializes it
    assert dumped["ongoing"]["count"] == 2
    assert "ongoing" not in answer.model_dump(exclude_unset=True)


def test_stamps_are_kept_for_the_state_they_were_worked_out_at() -> None:
    stamps = AddendumStamps()
    assert stamps.known((1, 0), "ongoing", "empowerment") is None
    stamps.remember((1, 0), "ongoing", "empowerment", "")
    stamps.remember((1, 0), "ongoing", "self-efficacy", "1:2027")
    assert stamps.known((1, 0), "ongoing", "empowerment") == ""
    assert stamps.known((1, 0), "ongoing", "self-efficacy") == "1:2027"
    assert stamps.known((1, 1), "ongoing", "empowerment") is None  # a candidate was written
    stamps.remember((1, 1), "ongoing", "empowerment", "2:2027")
    assert stamps.known((1, 0), "ongoing", "self-efficacy") is None  # forgotten
    assert stamps.known((1, 1), "ongoing", "empowerment") == "2:2027"
    assert stamps.known((2, 1), "ongoing", "empowerment") is None  # a new version
