"""Pure rendering: plot data in, SVG or PNG bytes out (matplotlib's object-oriented API).

Nothing here knows HTTP, the database or the schemas: :mod:`service.usecases.judgement.figures`
turns a pooled answer into the plain dataclasses of :mod:`service.plots.data`.
"""
