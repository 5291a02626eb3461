"""Registers the Claude Code test's fixtures (defined in claude_code_harness.py)."""

from claude_code_harness import cc_bivio, cc_mock, cc_workdir

__all__ = ["cc_bivio", "cc_mock", "cc_workdir"]
