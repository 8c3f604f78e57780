"""Ways into the products service: HTTP routers and the command line."""
