"""The conclusions worker: what follows from a committed evidence version, computed after it.

See :mod:`service.usecases.conclusions.worker`.
"""
