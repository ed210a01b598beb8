"""Socket.IO: the waiting room, the clerk console, the dashboard and call signalling."""
