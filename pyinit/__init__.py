"""pyinit: a small, correct PID 1 for containers."""

__version__ = "0.2.0"
