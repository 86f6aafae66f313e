"""The worker process: claims due events, runs their handlers, records outcomes and retries."""
