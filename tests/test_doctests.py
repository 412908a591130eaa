"""The examples in the docstrings run: every module that shows ``>>>`` is a test.

An example that cannot run here (it needs a database, a server) is written as prose,
not as a ``>>>`` example: this test fails on a module whose ``>>>`` lines doctest does
not find, so an example cannot quietly stop running.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gis", "layers", "auth", "api", "dothi")


def modules_with_examples() -> list[str]:
    """The dotted names of the package modules whose source shows ``>>>``."""
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__main__.py":  # importing it runs the command
                continue
            if ">>>" not in path.read_text(encoding="utf-8"):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


MODULES = modules_with_examples()


def test_the_packages_have_examples() -> None:
    # a wrong root or package list would make the parametrised test below vanish
    assert len(MODULES) >= 10


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name: str) -> None:
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for example in doctest.DocTestFinder().find(module):
        runner.run(example, out=report.append)
    assert runner.tries > 0, f"{module_name}: '>>>' lines that doctest does not run"
    assert runner.failures == 0, "".join(report)
