"""The municipal domain: catalogue, hours, appointments, clerks, mail, audit.

Nothing here imports aiohttp, socketio or aiortc: the transport lives in
``signalling``.
"""
