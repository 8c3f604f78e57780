"""product clients package."""
