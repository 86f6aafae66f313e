-- This session's lock_timeout, to put back after a statement that needed its own.
SELECT current_setting('lock_timeout')
