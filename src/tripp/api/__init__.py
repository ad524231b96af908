"""The HTTP adapter: FastAPI app factory, authentication, problem+json errors, paging."""
