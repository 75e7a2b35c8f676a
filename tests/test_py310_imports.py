"""Every module of the project imports on Python 3.10, where the standard library has no `tomllib`.

Python 3.10 is allowed by pyproject.toml; there `tomllib` is missing and `tomli` (a dependency for
python_version < "3.11", and a test dependency) stands in. The test hides `tomllib` in a fresh interpreter
(`sys.modules["tomllib"] = None` makes `import tomllib` raise ModuleNotFoundError, as on 3.10) and imports
every module of the dubkit, model, eval and langs packages and the cli module.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = r"""
import importlib, pkgutil, sys, traceback
sys.modules["tomllib"] = None
failed = []
names = ["cli"]
for package in ("dubkit", "model", "eval", "langs"):
    module = importlib.import_module(package)
    names.append(package)
    names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
for name in names:
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc(limit=1).strip().splitlines()[-1])
print(len(names), "modules")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


@pytest.mark.slow
def test_every_module_imports_without_tomllib():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"modules that fail to import without tomllib:\n{done.stdout}\n{done.stderr}"
    assert int(done.stdout.split()[0]) > 50  # the walk really found the project's modules
