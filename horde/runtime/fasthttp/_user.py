"""FastHttpUser: a User whose client is a FastHttpSession, closed when the user stops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from horde.runtime.exceptions import LocustError
from horde.runtime.fasthttp._session import FastHttpSession
from horde.runtime.users import User

if TYPE_CHECKING:
    from horde.runtime.environment import Environment


class FastHttpUser(User):
    """A user whose ``self.client`` is a FastHttpSession: fewer features, much less CPU per request."""

    abstract = True
    network_timeout: float = 60.0
    connection_timeout: float = 60.0
    max_redirects: int = 5
    insecure: bool = True
    default_headers: Mapping[str, str] | None = None
    concurrency: int = 10
    client: FastHttpSession

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if self.host is None:
            raise LocustError(
                "You must specify the base host. Either in the host attribute in the User class, "
                "or on the command line using the --host option."
            )
        self.client = FastHttpSession(
            environment,
            base_url=self.host,
            user=self,
            insecure=self.insecure,
            connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout,
            max_redirects=self.max_redirects,
            concurrency=self.concurrency,
            default_headers=self.default_headers,
        )

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.client.close()
