-- Retention: take one day out of its table without blocking inserts or reads (run outside a
-- transaction; it waits for the transactions that might still use the partition). Cut short
-- (a timeout, a crash), it leaves the partition pending detach: finish_detach.sql completes it.
ALTER TABLE {parent} DETACH PARTITION {partition} CONCURRENTLY
