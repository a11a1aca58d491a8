"""Benchmarks, run by ``make bench`` (``python -m effleura.bench``).

* ``availability``: the slot engine and its database loading (issue 3).
"""
