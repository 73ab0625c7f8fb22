"""The connection pool of a client's own aiohttp session: at most ``limit`` sockets in all.

aiohttp's ``TCPConnector(limit=n)`` counts only the connections in use: idle keep-alive
sockets wait in the pool beside them, one pool per host, so a client that talks to the API
host and a storage host could hold nearly twice its limit. :class:`BoundedConnector` closes
the longest-idle sockets before it opens one past the limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from aiohttp.client_proto import ResponseHandler
    from aiohttp.client_reqrep import ClientRequest
    from aiohttp.tracing import Trace


class BoundedConnector(aiohttp.TCPConnector):
    """A ``TCPConnector`` whose open sockets, idle ones included, never exceed ``limit``
    (0: no limit). It relies on aiohttp's pool internals (``_conns``, ``_acquired``), checked
    by the hostile tests for the aiohttp versions the package allows."""

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        self._trim_idle()
        return await super()._create_connection(req, traces, timeout)

    def _trim_idle(self) -> None:
        """Close the longest-idle sockets so that, with the one about to open (already
        counted as in use), no more than ``limit`` are open."""
        if not self.limit:
            return
        idle = [(used, key, proto) for key, conns in self._conns.items() for proto, used in conns]
        surplus = len(self._acquired) + len(idle) - self.limit
        if surplus <= 0:
            return
        idle.sort(key=lambda entry: entry[0])
        for used, key, proto in idle[:surplus]:
            conns = self._conns[key]
            conns.remove((proto, used))
            if not conns:
                del self._conns[key]
            proto.close()
