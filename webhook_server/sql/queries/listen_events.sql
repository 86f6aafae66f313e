-- Wake-ups for workers: the insert trigger notifies this channel once per storing transaction.
LISTEN webhook_events
