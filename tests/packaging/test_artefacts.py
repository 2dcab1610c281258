"""The release artefacts: what the wheel and the sdist hold, their metadata, and which pyinit the
process-level tests really run.

CI builds dist/ once (`python -m build`: the sdist, then the wheel from the sdist) and passes it as
PYINIT_TEST_DIST; without it, the `dist` fixture builds both (needs `build`, from the test extras,
and the package index for setuptools in build's isolated environment).
"""

from __future__ import annotations

import email.message
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import pyinit

from helpers import DIST, PYINIT, PYINIT_BIN, TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
NAME = "pyinit-pid1"
PROJECT = NAME.replace("-", "_")  # the file-name form (wheel, sdist, dist-info)
BUILD_TIMEOUT = 300.0
# Made by setuptools in every sdist, next to the files MANIFEST.in takes from the checkout.
SDIST_GENERATED = {
    "PKG-INFO",
    "setup.cfg",
    *(
        f"{PROJECT}.egg-info/{name}"
        for name in (
            "PKG-INFO",
            "SOURCES.txt",
            "dependency_links.txt",
            "requires.txt",
            "top_level.txt",
        )
    ),
}
# Tracked files that are the repository's, not the project's: CI and git settings.
NOT_IN_SDIST = {".gitignore", ".ci/run"}


def source_version() -> str:
    """The version the checkout declares (pyinit/__init__.py is its single source)."""
    text = (ROOT / "pyinit" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    assert match is not None, "no __version__ in pyinit/__init__.py"
    return match.group(1)


VERSION = source_version()


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with this checkout's sdist and wheel."""
    if DIST is not None:
        return DIST
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def only(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {dist}: {found}"
    return found[0]


def wheel_metadata(dist: Path) -> email.message.Message:
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        text = wheel.read(f"{PROJECT}-{VERSION}.dist-info/METADATA").decode()
    return email.parser.Parser().parsestr(text)


# -- the wheel -----------------------------------------------------------------------------
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_wheel_holds_exactly_the_package_the_command_the_license_and_metadata(dist: Path) -> None:
    """The wheel should hold pyinit/*.py, py.typed, bin/pyinit as a script, the license and
    the metadata: no tests, bench or examples, nothing a later change slips in."""
    wheel = only(dist, "*.whl")
    assert wheel.name == f"{PROJECT}-{VERSION}-py3-none-any.whl"
    info = f"{PROJECT}-{VERSION}.dist-info"
    expected = {
        *(f"pyinit/{module.name}" for module in (ROOT / "pyinit").glob("*.py")),
        "pyinit/py.typed",
        f"{PROJECT}-{VERSION}.data/scripts/pyinit",
        f"{info}/licenses/LICENSE",
        f"{info}/METADATA",
        f"{info}/WHEEL",
        f"{info}/RECORD",
        f"{info}/top_level.txt",
    }
    with zipfile.ZipFile(wheel) as archive:
        assert set(archive.namelist()) == expected


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_wheel_ships_bin_pyinit_unchanged_as_its_command(dist: Path) -> None:
    """The command should be bin/pyinit itself (pip rewrites its `#!python` on install), not a
    generated entry-point wrapper, which would import `re` before the signals are blocked."""
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        script = wheel.read(f"{PROJECT}-{VERSION}.data/scripts/pyinit")
        names = wheel.namelist()
    assert script == (ROOT / "bin" / "pyinit").read_bytes()
    assert not any(name.endswith("entry_points.txt") for name in names)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_metadata_names_the_free_distribution_name_version_and_license(dist: Path) -> None:
    """The metadata should carry the distribution name, the package's version, the SPDX
    license with its file, the runtime dependencies and the README as markdown."""
    meta = wheel_metadata(dist)
    assert meta["Name"] == NAME
    assert meta["Version"] == VERSION
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(runtime) == sorted(declared)
    assert meta["Description-Content-Type"] == "text/markdown"
    description = meta.get_payload()
    assert isinstance(description, str)
    assert description.strip() == (ROOT / "README.md").read_text().strip()
    classifiers = meta.get_all("Classifier") or []
    assert "Operating System :: POSIX :: Linux" in classifiers
    # setuptools>=77 refuses a license classifier next to an SPDX expression, PyPI too.
    assert not [c for c in classifiers if c.startswith("License ::")]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_claimed_python_versions_are_the_ones_ci_runs(dist: Path) -> None:
    """The Python versions in the classifiers and requires-python should be exactly those
    .ci/run tests on: claim only what CI proves."""
    ci_script = ROOT / ".ci" / "run"
    if not ci_script.exists():
        pytest.skip("no .ci/run here (an unpacked sdist)")
    match = re.search(r'^PYTHON_VERSIONS="([^"]+)"$', ci_script.read_text(), re.MULTILINE)
    assert match is not None, "no PYTHON_VERSIONS=... line in .ci/run"
    tested = match.group(1).split()
    meta = wheel_metadata(dist)
    prefix = "Programming Language :: Python :: "
    claimed = [
        c.removeprefix(prefix)
        for c in meta.get_all("Classifier") or []
        if re.fullmatch(r"\d+\.\d+", c.removeprefix(prefix))
    ]
    assert claimed == tested
    assert meta["Requires-Python"] == f">={tested[0]}"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert declared["requires-python"] == f">={tested[0]}"


# -- the sdist -----------------------------------------------------------------------------
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_sdist_holds_the_checkout_without_ci_files(dist: Path) -> None:
    """The sdist should hold every file git knows but .ci/run and .gitignore (the tests, bench
    and examples included, so the suite runs from it), plus what setuptools generates, and
    nothing git ignores (built wheels, caches, results)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to compare the sdist with")
    tracked = subprocess.run(
        # Tracked, and new files not ignored yet: what this working tree's sdist should hold.
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout.decode()
    expected = {name for name in tracked.split("\0") if name} - NOT_IN_SDIST | SDIST_GENERATED
    sdist = only(dist, "*.tar.gz")
    assert sdist.name == f"{PROJECT}-{VERSION}.tar.gz"
    top = f"{PROJECT}-{VERSION}/"
    with tarfile.open(sdist) as archive:
        members = archive.getmembers()
    assert all(f"{member.name}/".startswith(top) for member in members)
    files = {member.name.removeprefix(top) for member in members if member.isfile()}
    assert files == expected


# -- which pyinit the tests run ------------------------------------------------------------
def installed_python(command: Path) -> Path:
    """The interpreter an installed script runs with: pip wrote it into the shebang."""
    first_line = command.read_bytes().split(b"\n", 1)[0].decode()
    assert first_line.startswith("#!/"), f"{command}: not an installed script: {first_line!r}"
    return Path(first_line.removeprefix("#!").strip())


def package_dir_of(python: Path) -> Path:
    """Where a plain install into `python`'s environment puts the package."""
    purelib = subprocess.run(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT,
    ).stdout.strip()
    return Path(purelib) / "pyinit"


def loaded_package_dirs(argv: list[str], cwd: Path) -> tuple[set[Path], str]:
    """(the directories the `pyinit` modules came from, stdout) for `argv --version`, from
    the interpreter's own import log (PYTHONVERBOSE)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYINIT_")}
    result = subprocess.run(
        [*argv, "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=cwd,
        env={**env, "PYTHONVERBOSE": "1"},
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    found = re.findall(r"(/[^\s']*)/pyinit/(?:__pycache__/)?[\w.-]+\.py", result.stderr)
    return {Path(prefix) / "pyinit" for prefix in found}, result.stdout


def test_command_under_test_imports_the_expected_pyinit() -> None:
    """PYINIT (what every process-level test runs) should import pyinit from the wheel's venv
    when PYINIT_TEST_BIN is set, else from the tests' own install, even run from the checkout
    (where a stray `pyinit/` on sys.path would shadow the install)."""
    if PYINIT_BIN is None:
        expected = Path(pyinit.__file__).parent
    else:
        expected = package_dir_of(installed_python(PYINIT_BIN))
    dirs, stdout = loaded_package_dirs(PYINIT, cwd=ROOT)
    assert dirs == {expected}
    assert stdout.strip() == f"pyinit {VERSION}"


def test_python_m_pyinit_runs_the_installed_package(tmp_path: Path) -> None:
    """`python -m pyinit` of the environment under test should work and use that install."""
    python = Path(sys.executable) if PYINIT_BIN is None else installed_python(PYINIT_BIN)
    dirs, stdout = loaded_package_dirs([str(python), "-m", "pyinit"], cwd=tmp_path)
    assert dirs == {package_dir_of(python) if PYINIT_BIN else Path(pyinit.__file__).parent}
    assert stdout.strip() == f"pyinit {VERSION}"


def test_tests_import_the_wheel_when_they_run_in_its_venv() -> None:
    """When the tests themselves run in the wheel's venv (CI's other Python versions), the
    unit tests' `import pyinit` should find the wheel, not the checkout on sys.path."""
    if PYINIT_BIN is None or installed_python(PYINIT_BIN).parent.parent != Path(sys.prefix):
        pytest.skip("the tests do not run in the venv of PYINIT_TEST_BIN")
    assert Path(pyinit.__file__).parent == package_dir_of(Path(sys.executable))


# -- the documents -------------------------------------------------------------------------
def test_install_lines_name_the_distribution_not_the_unrelated_pyinit() -> None:
    """Every `pip install` of pyinit in the README, Dockerfile.example and examples/ should
    name `pyinit-pid1`: a bare `pyinit` (pinned or not) installs another project."""
    documents = [ROOT / "README.md", ROOT / "Dockerfile.example"]
    documents += [path for path in (ROOT / "examples").rglob("*") if path.is_file()]
    wrong = re.compile(r"""["']?\bpyinit(?:[<>=!~]=?[\w.*]+)?["']?(?=\s|$)""")
    found = []
    for path in documents:
        # A shell continuation joins a command's lines (Dockerfile RUN ... \).
        for line in path.read_text().replace("\\\n", " ").splitlines():
            command = re.search(r"\bpip install\b(.*)", line)
            if command is None:
                continue
            requirements = command.group(1)
            if wrong.search(requirements.replace("/opt/pyinit", "")):
                found.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert found == []
