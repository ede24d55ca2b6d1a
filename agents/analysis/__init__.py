"""Results people can look at: read run directories, aggregate across seeds with rliable, draw figures.

Modules (import what you need; ``stats``, ``aggregate`` and the figure modules import rliable/matplotlib):

- ``runs``: find and read run directories (``discover_runs``, ``load_run``, ``run_curve``), never raising
  on damaged ones.
- ``stats``: IQM / mean / median / optimality gap with stratified bootstrap CIs, probability of
  improvement, performance profiles, aggregate learning curves (rliable).
- ``aggregate``: from runs to per env x agent numbers (``analyse_metric``, ``curve_bands``).
- ``figures``: learning curves, final-score bars, performance profiles (PNG + SVG).
- ``method_figures``: each method's own figure (N2N, noise mask, BN-MARL, wireless).
- ``markdown``: the report text. ``cli``: ``key=value`` option parsing.

Command lines: ``python -m agents.plot <folder> metric=...`` and ``python -m agents.report <folder>``.
"""
