"""The embedded sandbox: a faithful local Customer Portal and NetSuite customer form, plus a mail outbox.

It is a separate web application; the engine reaches it only over HTTP. See README.md, "The sandbox".
"""

from __future__ import annotations

from automation.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
