"""pyinit's Python is its own: every way pip installs it starts and supervises a command, and the
app's PYTHON* environment and import path stay the app's (issue 12, item 4; issue 15).

Each install is real: one wheel of this checkout (plus click's) is built per session and
installed into a venv, a user base (`pip install --user`) and a target directory (`pip install
--target`, the distroless recipe). No editable install: its import hook would run in `site`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from helpers import TIMEOUT, UNSHARE, built_wheel

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# The interpreter the test venv was made from (not in typeshed; CPython sets it since 3.7).
BASE_PYTHON: str = getattr(sys, "_base_executable", sys.executable)
PIP_TIMEOUT = 120
DISTRIBUTION = "pyinit-pid1"  # the command and the import package are `pyinit`
# Modules pyinit imports after its start-up block; an app directory that holds its own versions
# must not replace them inside pyinit. Each one fails loudly if pyinit imports it. `python -m`
# itself (runpy) imports contextlib, collections and functools before any pyinit code runs, so an
# app that shadows those breaks every `python -m` with that PYTHONPATH, pyinit's or not.
SHADOWED = ("select", "signal", "enum", "errno", "math")
SHADOWED_BEFORE_RUNPY = ("contextlib", "collections", "functools")
APP = (
    "import os, sys, select; "
    "print('app-path', os.pathsep.join(sys.path)); "
    "print('app-pythonpath', os.environ.get('PYTHONPATH'))"
)


def _pip(pip: list[str], *args: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        [*pip, "install", "-q", "--no-index", "--no-warn-script-location", *args],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pyinit's wheel, and its dependency click's at the version the test venv has."""
    where = tmp_path_factory.mktemp("wheelhouse")
    pins = [f"{name}=={metadata.version(name)}" for name in ("click",)]
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(where)]
    wheel = built_wheel()  # CI's artefact, when it passes one
    if wheel is not None:
        shutil.copy(wheel, where / wheel.name)
    else:
        # From a clean copy: building in the checkout would reuse its build/ (stale files too).
        source = tmp_path_factory.mktemp("source")
        for tree in ("pyinit", "bin"):
            shutil.copytree(
                REPO / tree, source / tree, ignore=shutil.ignore_patterns("__pycache__")
            )
        for name in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
            shutil.copy(REPO / name, source / name)
        pins.append(str(source))
    done = subprocess.run(
        [*pip_wheel, *pins],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return where


@pytest.fixture(scope="session")
def venv_python(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("venv")
    subprocess.run(
        [BASE_PYTHON, "-m", "venv", "--without-pip", str(root)],
        check=True,
        timeout=PIP_TIMEOUT,
    )
    python = root / "bin" / "python"
    _pip(
        [sys.executable, "-m", "pip", "--python", str(python)], "-f", str(wheelhouse), DISTRIBUTION
    )
    return python


@pytest.fixture(scope="session")
def user_base(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `pip install --user` into a fresh PYTHONUSERBASE, by the interpreter the venv is from."""
    base = tmp_path_factory.mktemp("userbase")
    if subprocess.run([BASE_PYTHON, "-m", "pip", "--version"], check=False).returncode:
        pytest.skip("the base interpreter has no pip")
    env = {**os.environ, "PYTHONUSERBASE": str(base)}
    _pip([BASE_PYTHON, "-m", "pip"], "--user", "-f", str(wheelhouse), DISTRIBUTION, env=env)
    return base


@pytest.fixture(scope="session")
def target_dir(wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The distroless recipe's builder step: `pip install --target /opt/pyinit pyinit-pid1`."""
    target = tmp_path_factory.mktemp("opt") / "pyinit"
    _pip(
        [sys.executable, "-m", "pip"], "--target", str(target), "-f", str(wheelhouse), DISTRIBUTION
    )
    return target


@pytest.fixture
def shadow_dir(tmp_path: Path) -> Path:
    """An app directory whose modules carry standard-library names."""
    for name in SHADOWED:
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('the app shadowed {name}')\n")
    (tmp_path / "select.py").write_text("print('app-select')\n")
    return tmp_path


def _system_python() -> str:
    """The distroless image's interpreter: a plain python3, no venv, no pip-installed pyinit."""
    if Path("/usr/bin/python3").exists():
        return "/usr/bin/python3"
    return BASE_PYTHON


def _run(argv: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, str]:
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, done.stdout + done.stderr


def _base_env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}


def _app_lines(output: str) -> dict[str, str]:
    lines = (line.partition(" ") for line in output.splitlines())
    return {key: value for key, _, value in lines if key.startswith("app-")}


# -- every install layout starts and supervises ---------------------------------------------------
def test_venv_script_has_the_venv_interpreter_and_supervises(venv_python: Path) -> None:
    """pyinit should run from a venv as pip installs it, and exit with the child's code."""
    script = venv_python.parent / "pyinit"
    assert script.read_text().splitlines()[0] == f"#!{venv_python}"
    assert _run([str(script), "--", "sh", "-c", "exit 7"], _base_env())[0] == 7


def test_venv_script_runs_isolated_without_site(venv_python: Path) -> None:
    """`python -IS venv/bin/pyinit` should find pyinit and its dependencies after the block."""
    argv = [str(venv_python), "-IS", str(venv_python.parent / "pyinit"), "--help"]
    code, output = _run(argv, _base_env())  # --help loads click: the dependencies are found
    assert (code, "Usage:" in output) == (0, True), output


def test_user_install_supervises(user_base: Path) -> None:
    """A `pip install --user` pyinit should run as installed and with -IS."""
    script = user_base / "bin" / "pyinit"
    env = _base_env(PYTHONUSERBASE=str(user_base))
    assert _run([str(script), "--", "sh", "-c", "exit 3"], env)[0] == 3
    code, output = _run([BASE_PYTHON, "-IS", str(script), "--", "sh", "-c", "exit 4"], env)
    assert code == 4, output


@pytest.mark.parametrize("flags", [["-IS"], ["-I"]], ids=["-IS", "-I"])
def test_target_install_keeps_its_packages_off_the_apps_path(
    target_dir: Path, flags: list[str]
) -> None:
    """The distroless recipe: pyinit and click come from the target directory, the app's Python
    never sees it (no PYTHONPATH), and an app without click cannot import pyinit's."""
    python = _system_python()
    app = APP + "; import importlib.util as u; print('app-click', u.find_spec('click'))"
    argv = [python, *flags, str(target_dir / "bin" / "pyinit"), "--", python, "-c", app]
    code, output = _run(argv, _base_env())
    assert code == 0, output
    seen = _app_lines(output)
    assert str(target_dir) not in seen["app-path"]
    assert str(target_dir) not in seen["app-click"]
    code, output = _run([python, *flags, str(target_dir / "bin" / "pyinit"), "--help"], _base_env())
    assert (code, "Usage:" in output) == (0, True), output


def test_target_install_wins_over_the_interpreters_own_click_and_pyinit(
    target_dir: Path, tmp_path: Path
) -> None:
    """An image whose Python already holds an (older, app's) click and a stale pyinit: the
    target directory's copies, beside the script, are the ones pyinit runs (--help needs click)."""
    venv = tmp_path / "app-venv"
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    site_packages = venv / "lib" / version / "site-packages"
    for name in ("click", "pyinit"):
        (site_packages / name).mkdir()
        (site_packages / name / "__init__.py").write_text(f"raise ImportError('stale {name}')\n")
    python = str(venv / "bin" / "python")
    for flags in ([], ["-IS"]):
        argv = [python, *flags, str(target_dir / "bin" / "pyinit"), "--help"]
        code, output = _run(argv, _base_env())
        assert (code, "Usage:" in output) == (0, True), (flags, output)


# -- the app's import path is the app's ----------------------------------------------------------
def _entry_points(venv_python: Path) -> dict[str, list[str]]:
    script = str(venv_python.parent / "pyinit")
    return {
        "script": [script],
        "python -m": [str(venv_python), "-m", "pyinit"],
        "python -IS script": [str(venv_python), "-IS", script],
    }


@pytest.mark.parametrize("entry", ["script", "python -m", "python -IS script"])
@pytest.mark.parametrize(
    "pidns", [False, pytest.param(True, marks=pytest.mark.pidns)], ids=["wrapper", "pid1"]
)
def test_apps_pythonpath_and_cwd_do_not_shadow_pyinits_modules(
    venv_python: Path, shadow_dir: Path, entry: str, pidns: bool
) -> None:
    """PYTHONPATH (and the working directory) holding select.py, signal.py, enum.py ... should
    leave pyinit working, and reach the app unchanged, so the app imports its own select.py."""
    if pidns and shutil.which("unshare") is None:
        pytest.skip("no unshare")
    if entry != "python -m":
        for name in SHADOWED_BEFORE_RUNPY:
            (shadow_dir / f"{name}.py").write_text(f"raise ImportError('shadowed {name}')\n")
    argv = [*(UNSHARE if pidns else []), *_entry_points(venv_python)[entry]]
    argv += ["--", str(venv_python), "-c", APP]
    code, output = _run(argv, _base_env(PYTHONPATH=str(shadow_dir)), cwd=shadow_dir)
    assert code == 0, output
    assert "app-select" in output
    seen = _app_lines(output)
    assert seen["app-pythonpath"] == str(shadow_dir)
    assert str(shadow_dir) in seen["app-path"].split(os.pathsep)


@pytest.mark.parametrize("entry", ["script", "python -IS script"])
def test_app_gets_the_environment_byte_for_byte(venv_python: Path, entry: str) -> None:
    """The app's PYTHON* variables and a C locale (PEP 538 coercion, which -I cannot turn off)
    should reach the app exactly as pyinit got them."""
    env = _base_env(
        PYTHONPATH="/nonexistent/app",
        PYTHONWARNINGS="error",
        PYTHONCOERCECLOCALE="0",
        PYTHONSTARTUP="/nonexistent/startup.py",
        LC_CTYPE="C",
        ODD="\udcff-not-utf-8",
    )
    if entry != "script":
        env["PYTHONHOME"] = "/nonexistent/home"  # would stop an interpreter without -I
    argv = [*_entry_points(venv_python)[entry], "--", "env", "-0"]
    done = subprocess.run(
        argv,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    sent = sorted(f"{k}={v}".encode(errors="surrogateescape") for k, v in env.items())
    assert sorted(done.stdout.split(b"\0")[:-1]) == sent
