"""The write path's vocabulary is loaded once per database and schema revision."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.usecases.studies.rules import Vocabulary

pytestmark = pytest.mark.db


def test_the_vocabulary_is_remembered_until_a_migration(session: Session) -> None:
    first = Vocabulary.cached(session)
    assert first == Vocabulary.load(session)
    assert Vocabulary.cached(session) is first  # no second load
    # A migration moves the revision: the next write reads the terms again.
    session.execute(text("UPDATE alembic_version SET version_num = 'zz-next'"))
    again = Vocabulary.cached(session)
    assert again is not first
    assert again == first  # (the terms themselves did not change here)
