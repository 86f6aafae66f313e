-- Complete a DETACH PARTITION ... CONCURRENTLY that was cut short.
ALTER TABLE {parent} DETACH PARTITION {partition} FINALIZE
