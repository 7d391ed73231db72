"""Broadcasting that sessions stopped authenticating, so host apps refuse their tokens early.

Session tokens verify offline until they expire. Host apps that cannot wait that long keep a
set of ended session ids, fed by Redis pub/sub (a message within milliseconds) or by polling
``GET /v1/revocations`` (within one poll interval).
"""

import json
import logging
import time
from collections.abc import Sequence

logger = logging.getLogger("lastseen.revocations")

#: The Redis channel that carries ended session ids, as JSON ``{"session_ids": [...]}``.
REVOCATION_CHANNEL = "lastseen:revocations"


class RedisRevocationPublisher:
    """Publishes ended session ids on the Redis channel; a listener of ``Sessions``."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def __call__(self, session_ids: Sequence[str]) -> None:
        message = json.dumps({"session_ids": list(session_ids), "at": int(time.time() * 1000)})
        receivers = self.client.publish(REVOCATION_CHANNEL, message)
        logger.debug("revocations published count=%d receivers=%s", len(session_ids), receivers)

    def close(self) -> None:
        self.client.close()
