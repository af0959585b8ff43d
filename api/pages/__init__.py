"""HTML pages of the app (the API itself is JSON, under /api/v1)."""
