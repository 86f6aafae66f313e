"""Retention: deleting finished events once they are old, shared by ``prune`` and the worker."""
