"""Fixtures of the real-time integration tests: the app on memory or on the real Redis
(``backend``), its base URL, the room store and the settings they share. Defined in
``tests/realtime_fixtures.py``; registered here once for every module in this folder.
A module overrides ``settings_update`` to change a setting (e.g. the reconnect grace).
"""

from tests.realtime_fixtures import (  # noqa: F401 - pytest finds fixtures by name here
    backend_fixture,
    base_fixture,
    node_b_fixture,
    redis_db_fixture,
    settings_fixture,
    settings_update_fixture,
    store_fixture,
)
