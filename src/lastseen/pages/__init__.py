"""Server-rendered pages: sign in, and list and sign out the devices of the signed-in user."""

from lastseen.pages.routes import router

__all__ = ["router"]
