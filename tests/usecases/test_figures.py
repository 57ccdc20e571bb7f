"""What the plots and pages say about certainty: only what the answer carries."""

from __future__ import annotations

from service.usecases.judgement.figures import certainty_text


def test_certainty_and_statement_when_the_answer_has_them() -> None:
    answer = {
        "certainty": {"level": "low", "domains": {}},
        "statement": {"text": "Peer support may increase empowerment.", "plain_language": "..."},
    }
    assert certainty_text(answer) == "Low. Peer support may increase empowerment."
    assert certainty_text({"certainty": {"level": "moderate"}}) == "Moderate."
    assert certainty_text({"certainty": "high"}) == "High."
    # The GRADE level's name, never its slug (issue 26: "very_low" on the plots).
    assert certainty_text({"certainty": {"level": "very_low"}}) == "Very low."


def test_nothing_when_the_answer_has_no_certainty() -> None:
    assert certainty_text({"status": "pooled"}) is None
    assert certainty_text({"certainty": None, "statement": None}) is None
