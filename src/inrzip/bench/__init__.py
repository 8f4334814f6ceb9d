"""Rate-distortion benchmarking on top of the public API: sweeps, classical codecs, results database,
executors (a local process pool, Ray), Pareto frontiers, BD-rate, plots, a static report site and exports.
Nothing here reaches inside the codec; ``execute.fit_encodings`` and ``execute.run_unit`` are the calls into
``inrzip.api`` (and ``report`` decodes files with ``inrzip.api.decode``). The command line for it is
``inrzip.cli.bench``.
"""
