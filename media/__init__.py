"""Server-side WebRTC capture peers and document vision."""
