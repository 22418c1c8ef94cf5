"""Moved to `workbench.analysis.demo` (the demo's analysis); this alias keeps old imports such
as `from workbench.report.demo import game24` working during the transition."""

from workbench.analysis.demo import *  # noqa: F403
from workbench.analysis.demo import __all__  # noqa: F401
