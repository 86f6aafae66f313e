-- Put back a day retention detached but must keep (a replay made one of its events pending
-- again between the check and the detach): the bound is the one it had, as Postgres printed it.
ALTER TABLE {parent} ATTACH PARTITION {partition} {bound}
