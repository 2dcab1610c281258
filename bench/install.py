"""The installation under test: a staged venv (pyinit as pip installs it), and the inits found."""

from __future__ import annotations

import shutil
import subprocess
import venv
from collections.abc import Sequence
from pathlib import Path

from harness import REPO, Init

C_INITS = ("tini", "dumb-init", "catatonit")


def stage_install(root: Path, source: Path = REPO) -> Path:
    """A venv with a plain copy of `source`'s pyinit/ and its bin/pyinit script, whose `#!python`
    shebang pip rewrites at install time the same way; return the venv's python."""
    builder = venv.EnvBuilder(with_pip=False, symlinks=True, clear=True)
    builder.create(root)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    )
    shutil.copytree(
        source / "pyinit", site / "pyinit", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("click",):  # pyinit's dependencies, beside it, as pip puts them
        package = _origin_dir(name)
        if package:
            shutil.copytree(package, site / name, ignore=shutil.ignore_patterns("__pycache__"))
    script = root / "bin" / "pyinit"
    shipped = (source / "bin" / "pyinit").read_text()
    script.write_text(shipped.replace("#!python", f"#!{python}", 1))
    script.chmod(0o755)
    subprocess.run([str(python), "-m", "compileall", "-q", str(site)], check=True, timeout=60)
    return python


def stage_revision(revision: str, work: Path) -> Init:
    """`pyinit before`: the script of git `revision` of this checkout, staged like the current one,
    so that one run measures before and after side by side."""
    source = work / "before-source"
    source.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision, "pyinit", "bin"],
        capture_output=True,
        check=True,
        timeout=60,
    )
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True, timeout=60)
    python = stage_install(work / "before-venv", source)
    return Init("pyinit before", [str(python.parent / "pyinit"), "--"])


def _origin_dir(package: str) -> str:
    """The directory of `package` in the harness's environment, for pyinit's dependencies."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return ""
    return str(next(iter(spec.submodule_search_locations)))


def find_inits(python: str, wanted: set[str] | None) -> tuple[list[Init], dict[str, str]]:
    """The inits to measure, and why any other was left out."""
    bindir = Path(python).parent
    script = bindir / "pyinit"
    found = []
    missing: dict[str, str] = {}
    if script.exists():
        found.append(Init("pyinit", [str(script), "--"]))
        # The fully isolated form the README recommends for images: `#!python -IS` would be the
        # same, but pip drops everything after `#!python`.
        found.append(Init("pyinit -IS", [python, "-IS", str(script), "--"], runtime=False))
    else:
        missing["pyinit"] = f"no console script at {script}"
    found.append(Init("pyinit -m", [python, "-m", "pyinit", "--"], runtime=False))
    for name in C_INITS:
        path = shutil.which(name)
        if path is None:
            missing[name] = "not installed (apt-get install tini dumb-init catatonit)"
        else:
            found.append(Init(name, [path, "--"]))
    if wanted is not None:
        missing.update({i.name: "not selected (--inits)" for i in found if i.name not in wanted})
        found = [i for i in found if i.name in wanted]
    return found, missing


def describe_versions(inits: Sequence[Init], python: str) -> dict[str, str]:
    versions = {}
    for init in inits:
        if init.name.startswith("pyinit"):
            argv = [python, "-c", "import pyinit; print(pyinit.__version__)"]
        else:
            argv = [init.argv[0], "--version"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            text = (done.stdout or done.stderr).strip().splitlines()
            versions[init.name] = text[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired) as exc:
            versions[init.name] = f"? ({exc})"
    return versions
