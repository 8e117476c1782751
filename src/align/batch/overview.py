"""Moved to :mod:`align.report.overview`; kept for one release."""

from __future__ import annotations

from ..report.overview import Overview, PlanRow, SetColumn, TaskColumn, build_overview

__all__ = ["Overview", "PlanRow", "SetColumn", "TaskColumn", "build_overview"]
