"""The CI gate (`align check`, `align baseline`, `align diff`): plain functions over scored
``Report`` objects, testable without a model and usable from any front end.

What lives where:

* ``rules``     judge the state of each plan: failing statuses, required and assessable tasks,
  minimum covered share per policy set (``evaluate``).
* ``baseline``  record a baseline and judge only what regressed against it
  (``make_baseline``, ``load_baseline``, ``compare_to_baseline``).
* ``diff``      per-task changes between two reports of a plan (``diff_reports``).
* ``evidence``  what the rules quote and count: best passage, supporting passages, snippets.
* ``config``    read the rules from ``align.toml`` or ``[tool.align]`` with file:line errors.
* ``git``       read a plan named ``REV:PATH`` from git into a temp file.

The results (``Violation``, ``CheckResult``, ``TaskDiff``, ``DiffResult``, ``AlignConfig``) are
plain data in ``align.findings``; their output formats are in ``align.report``.
"""
