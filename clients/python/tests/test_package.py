"""The package installs offline with pip, ships py.typed, and has the server's version."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

import granary
import support

PACKAGE = os.path.join(support.ROOT, "clients", "python")


class PackageTest(unittest.TestCase):
    def test_version_is_package_json_version(self) -> None:
        with open(os.path.join(support.ROOT, "package.json"), encoding="utf-8") as handle:
            version = json.load(handle)["version"]
        with open(os.path.join(PACKAGE, "pyproject.toml"), encoding="utf-8") as handle:
            match = re.search(r'^version = "([^"]+)"', handle.read(), re.M)
        self.assertIsNotNone(match)
        assert match is not None
        self.assertEqual(match.group(1), version)
        self.assertEqual(granary.__version__, version)

    def test_pip_installs_it_without_an_index(self) -> None:
        target = tempfile.mkdtemp(prefix="granary-pip-")
        build = tempfile.mkdtemp(prefix="granary-pip-build-")
        # A copy, so the build leaves nothing (build/, *.egg-info) in the work tree.
        subprocess.run(["cp", "-r", PACKAGE + "/.", build], check=True)
        run = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation", "--no-deps", "--target", target, build],
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertTrue(os.path.isfile(os.path.join(target, "granary", "py.typed")))
        check = subprocess.run(
            [sys.executable, "-c", "import granary, sys; print(granary.__file__); print(granary.login.__doc__ is not None)"],
            env={**os.environ, "PYTHONPATH": target},
            capture_output=True,
            text=True,
        )
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assertTrue(check.stdout.startswith(os.path.join(target, "granary")), check.stdout)


if __name__ == "__main__":
    unittest.main()
