"""``orders cutover report``: the go/no-go evidence of a running orders service."""
