"""
The filter chain around the outermost server (placeholder).
"""

from __future__ import annotations

from typing import Any

from twisted.web.resource import Resource, getChildForRequest


class HandlerChain(Resource):
    isLeaf = True

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        super().__init__()
        self.handler = handler
        self.wait_group = kwargs.get("wait_group")

    def render(self, request: Any) -> Any:
        if self.wait_group is not None and not getattr(request, "long_running", False):
            self.wait_group.add()
            request.notifyFinish().addBoth(lambda _: self.wait_group.done())
        return getChildForRequest(self.handler, request).render(request)


def build_handler_chain(handler: Any, **kwargs: Any) -> Any:
    return HandlerChain(handler, **kwargs)
