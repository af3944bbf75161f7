"""The L1/L2 study: the control, L1, L2 and L1+L2 retrained side by side, over seeds, and judged.

`run_study` (runner) trains the settings `grid` lays out in worker processes (`worker`), or as
Ray tasks (`on_ray`), and `verdict` judges the runs against the control's seed spread; the values
are in `values`.
"""
