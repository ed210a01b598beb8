"""Where the files beside the code are: ``templates/``, ``static/`` and ``locale/``.

In the repository they sit at the top level, beside the packages. Installed, they
are data-only packages under the project's own name (``buergerbuero.templates`` and
so on, see ``[tool.setuptools.package-dir]`` in pyproject.toml), so nothing generic
like ``templates`` lands in site-packages. Asking the import system for those names
gives the right folder whatever the install: the wheel's copy in site-packages, or
the repository's own folder through the editable install's finder.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Literal

Asset = Literal["templates", "static", "locale"]


@cache
def asset_dir(name: Asset) -> Path:
    """The folder holding ``name``; raises if the project is not installed."""
    spec = importlib.util.find_spec(f"buergerbuero.{name}")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    for location in locations:
        if Path(location).is_dir():
            return Path(location)
    raise RuntimeError(
        f"buergerbuero.{name} is not installed: install the project (make .venv/.installed "
        "or pip install) rather than running it from the source tree alone"
    )
