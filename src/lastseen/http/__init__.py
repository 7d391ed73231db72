"""The HTTP API: Clerk's frontend and backend session APIs, served by FastAPI."""
