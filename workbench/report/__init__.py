"""Reports: Altair chart builders (shared with notebooks) and self-contained HTML/PNG output."""

from workbench.report.html import Report

__all__ = ["Report"]
