"""What the tests share, one module per kind of thing.

- ``constants``: the test secrets, the test Monday (``SLOT``, ``at``), working hours,
  the SDP and ICE samples, the fuzz seed;
- ``services``: whether a missing service fails or skips, free ports, the real Redis;
- ``private_servers``: Redis and PostgreSQL servers of a test's own, to kill and restart;
- ``clock``, ``mail`` (a real SMTP server and what it received), ``pages`` (reading forms);
- ``booking`` (appointments and sign-in cookies), ``peers`` (Socket.IO clients);
- ``polling``: ``eventually``, the one way a test waits for something to become true;
- ``browser`` (real Chromium) and ``paypal_standin`` (PayPal's documented API, locally).

Fixtures live in the ``conftest.py`` of the folder whose tests use them, never here.
"""
