"""What `webhook-server dev` and `send` use: a local Postgres, signed samples, logging handlers."""
