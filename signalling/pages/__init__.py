"""HTML pages, one module per user path."""
