"""Integrations with frameworks webhook-server does not depend on; each is an optional extra."""
