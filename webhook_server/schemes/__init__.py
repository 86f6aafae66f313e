"""Sender signature schemes, one module each: how a sender signs, and its verifier.

What every verifier gives the request path (base.py) is re-exported here; which endpoints use
which scheme is ``webhook_server.endpoints``.
"""

from __future__ import annotations

from webhook_server.schemes.base import Handshake, Rejected, VerifiedEvent, Verifier

__all__ = ["Handshake", "Rejected", "VerifiedEvent", "Verifier"]
