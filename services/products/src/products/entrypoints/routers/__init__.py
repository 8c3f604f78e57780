"""HTTP routers: every module here exposes ``router``; ``servicekit.routers`` mounts them all."""
