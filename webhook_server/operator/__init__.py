"""The operator commands (events, replay, stats, reconcile): their queries and their output."""
