"""Rate-distortion benchmarking on top of the public API: sweeps, classical codecs, results database,
Pareto frontiers, BD-rate, plots. Nothing here reaches inside the codec; ``execute.fit_encodings`` and
``execute.run_unit`` are the calls into ``inrzip.api``. The command line for it is ``inrzip.cli.bench``.
"""
