-- The end of a day, once detached: its files go at once, with none of a DELETE's dead rows,
-- index entries or vacuum.
DROP TABLE IF EXISTS {partition}
