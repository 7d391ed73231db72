"""lastseen: sessions with activities. Sign in, list every device, revoke.

The SDK lives in :mod:`lastseen.client`; the server is built by
:func:`lastseen.http.app.create_app` and run by the ``lastseen`` command.
"""

from lastseen.errors import APIError, ConfigurationError, LastseenError, ServiceError
from lastseen.settings import Settings

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "ConfigurationError",
    "LastseenError",
    "ServiceError",
    "Settings",
    "__version__",
]
