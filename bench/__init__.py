"""Benchmarks of the engine and of the running service (``make bench``; not part of the tests).

``python -m bench`` runs everything and writes ``bench/RESULTS.md``; ``python -m bench.engine``
prints the engine table alone, ``python -m bench.service`` the service tables alone.
"""
