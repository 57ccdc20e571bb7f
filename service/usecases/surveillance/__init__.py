"""Surveillance (issue 28): search runs, candidates, screening, PRISMA counts, ongoing trials.

Bots find records (:mod:`.runs`), which are cleaned and checked (:mod:`.records`), ranked
(:mod:`.relevance`) and deduplicated (:mod:`.dedup`); curators screen them (:mod:`.screening`);
:mod:`.prisma` counts the flow and :mod:`.ongoing` lists registered trials still to report.
Nothing is ever excluded automatically: duplicates are kept, visible, and may be screened.
"""
