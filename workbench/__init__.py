"""ttc-workbench: offline analysis of test-time compute on cached generations."""

__version__ = "0.1.0"
