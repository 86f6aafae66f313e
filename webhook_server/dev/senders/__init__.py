"""Samples of the senders an endpoint of WEBHOOK_ENDPOINTS_FILE names by scheme, one module each:
how the sender signs (``headers``), by its documented recipe and never with the server's
verification code, and a realistic delivery for `send` (``sample``); samples.py dispatches."""
