-- Bytes the spool's rows take: pages in use, freed pages excluded (they are used again).
SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()
