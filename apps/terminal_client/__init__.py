"""Store-and-forward client for hall terminals: sign, queue in SQLite, drain in order.

    from apps.terminal_client import GatewayClient, Queue, StoreAndForward, new_review
    saf = StoreAndForward(GatewayClient(url, terminal_id, key), Queue("queue.sqlite"))
    saf.submit(new_review(terminal_id, hall_id, window_id, rating=5))
"""

from apps.terminal_client.client import (
    DrainResult, GatewayClient, Queue, Response, StoreAndForward, TerminalMisconfigured, Unreachable,
)
from apps.terminal_client.review import new_review

__all__ = ["DrainResult", "GatewayClient", "Queue", "Response", "StoreAndForward", "TerminalMisconfigured",
           "Unreachable", "new_review"]
