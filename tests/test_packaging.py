"""The distribution ships what the app needs, and the schema matches the models."""

from __future__ import annotations

import re
import tomllib

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from office.migrate import current_revision, head_revision
from office.models import Base
from tests.helpers.constants import ROOT


def test_every_python_package_is_listed_in_pyproject() -> None:
    """Packages are listed explicitly; a new sub-package left out would be missing
    from the wheel (and the Docker image) while the editable install still works."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("common", "office", "rooms", "media", "signalling")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed


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
    templates = (ROOT / "signalling" / "templates").rglob("*.html")
    named = {
        match
        for template in templates
        for match in re.findall(r"static\('([^']+)'\)", template.read_text())
    }
    assert named, "the templates name no static files: the pattern is out of date"
    static = ROOT / "signalling" / "static"
    assert sorted(p for p in named if not (static / p).is_file()) == []
    fonts = (static / "vendor/kern-ux-native/dist/fonts/fira-sans.css").read_text()
    referenced = re.findall(r"url\(\"?\./([^\")]+)\"?\)", fonts)
    assert referenced and all(
        (static / "vendor/kern-ux-native/dist/fonts" / f).is_file() for f in referenced
    )
