"""The distribution ships what the app needs, and the schema matches the models."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from office.migrate import current_revision, head_revision
from office.models import Base
from tests.helpers.constants import ROOT
from tests.helpers.services import REQUIRE_SERVICES

SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
# The folders at the top of the repository that ship as data-only packages.
ASSETS = ("templates", "static", "locale")
DATA_PACKAGES = {f"buergerbuero.{top}" for top in ASSETS}


def folder_of(package: str) -> Path:
    package_dir: dict[str, str] = SETUPTOOLS["package-dir"]
    for name, folder in package_dir.items():
        if package == name or package.startswith(name + "."):
            return ROOT / folder / package.removeprefix(name).lstrip(".").replace(".", "/")
    return ROOT / package.replace(".", "/")


def test_every_python_package_is_listed_in_pyproject() -> None:
    """Packages are listed explicitly; a new sub-package left out would be missing
    from the wheel (and the Docker image) while the editable install still works.
    The folders of data (templates, fonts, the MRZ network) are listed beside them."""
    listed = set(SETUPTOOLS["packages"])
    code = {package for package in listed if (folder_of(package) / "__init__.py").is_file()}
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("common", "office", "rooms", "media", "signalling")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == code
    assert listed - code >= DATA_PACKAGES
    assert all(folder_of(package).is_dir() for package in listed)
    assert SETUPTOOLS["package-dir"] == {
        package: package.removeprefix("buergerbuero.") for package in DATA_PACKAGES
    }


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == head_revision()
    async with engine.connect() as connection:
        differences = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert differences == []


def test_every_static_file_a_template_names_exists() -> None:
    """A stylesheet or script left out of the repository (say, by an ignore rule)
    would leave pages unstyled or dead in a fresh clone, with no error anywhere."""
    templates = (ROOT / "templates").rglob("*.html")
    named = {
        match
        for template in templates
        for match in re.findall(r"static\('([^']+)'\)", template.read_text())
    }
    assert named, "the templates name no static files: the pattern is out of date"
    static = ROOT / "static"
    assert sorted(p for p in named if not (static / p).is_file()) == []
    fonts = (static / "vendor/kern-ux-native/dist/fonts/fira-sans.css").read_text()
    referenced = re.findall(r"url\(\"?\./([^\")]+)\"?\)", fonts)
    assert referenced and all(
        (static / "vendor/kern-ux-native/dist/fonts" / f).is_file() for f in referenced
    )


def _uv() -> str:
    """The uv that `make` installs (.uv/), or one on the PATH."""
    found = ROOT / ".uv" / "bin" / "uv"
    if found.is_file():
        return str(found)
    if on_path := shutil.which("uv"):
        return on_path
    message = "uv is not installed (make .venv/.installed installs it)"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; CI requires it", pytrace=False)
    pytest.skip(message)


def test_the_wheel_carries_templates_static_files_and_catalogues(tmp_path: Path) -> None:
    """Built from a copy of the sources (the editable install reads the folders
    in place, so only a real wheel shows what the Docker image gets), under the
    project's namespace, never as a top-level ``templates`` or ``static``."""
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    for top in ("common", "office", "rooms", "media", "signalling", *ASSETS):
        shutil.copytree(
            ROOT / top, source / top, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    built = subprocess.run(  # noqa: S603 - our own uv on our own copy
        [_uv(), "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(source)],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    # setuptools warns of every importable folder left out of `packages` (a screenful
    # each, above `make run`'s first lines on a fresh clone): none is.
    assert "absent from the `packages` configuration" not in built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())

    def expected(top: str) -> set[str]:
        return {
            f"buergerbuero/{path.relative_to(source).as_posix()}"
            for path in (source / top).rglob("*")
            if path.is_file()
        }

    for top in ASSETS:
        assert expected(top), top
        assert expected(top) <= shipped, top
    assert "buergerbuero/locale/en/LC_MESSAGES/messages.po" in shipped
    assert "buergerbuero/templates/mail/invoice.txt" in shipped
    assert "media/vision/models/mrz_ocrb.onnx" in shipped  # the MRZ reader's network
    assert {name.partition("/")[0] for name in shipped} == {
        "buergerbuero",
        "buergerbuero-0.1.0.dist-info",
        "common",
        "office",
        "rooms",
        "media",
        "signalling",
    }
