"""Reproductions of the papers' figures, one command each (``python -m inrzip.experiments.<module>``).

Modules here sit on top of the public pieces (``api``, ``fitting``, ``codec``, ``signals``) and write
CSV tables and PNG plots under ``results/``; ``docs/experiments.md`` shows them.
"""
