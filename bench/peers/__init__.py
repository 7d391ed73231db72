"""A minimal Django project serving one user's session list with a session-tracking app.

It runs with django-user-sessions or django-qsessions (chosen by ``BENCH_PEER``), as an
ASGI app on uvicorn with SQLite, so row 7 can compare lastseen's endpoint with each.
"""
