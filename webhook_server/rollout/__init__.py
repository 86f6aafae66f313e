"""The rolling deploy (scripts/rolling-deploy) and the HAProxy runtime API it drives."""
