"""Ship the reference policy sets inside the package too.

The policy data lives at the repository's top level (``reference_policies/``), where reviewers
and users edit it; a regular (non-editable) install copies it to ``align/reference_policies`` so
that ``pip install .`` (pre-commit, CI runners) finds it beside the module.
"""

from pathlib import Path
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPolicies(build_py):
    def run(self) -> None:
        super().run()
        src = Path(__file__).parent / "reference_policies"
        dst = Path(self.build_lib) / "align" / "reference_policies"
        if not any(src.glob("*.toml")):
            # a wheel without them fails every command: refuse to build it
            raise SystemExit(f"reference_policies/ missing beside {__file__} (MANIFEST.in?)")
        shutil.copytree(src, dst, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithPolicies})
