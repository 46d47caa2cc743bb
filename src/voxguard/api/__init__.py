"""HTTP API: thin FastAPI routers over ``voxguard.services``."""
