"""Real processes (gunicorn, nginx, HAProxy, socket activation, signed load) for proofs, benchmarks and tests."""
