"""Live state: waiting rooms, call rooms, presence (memory and Redis backends)."""
