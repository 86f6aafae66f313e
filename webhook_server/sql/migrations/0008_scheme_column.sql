-- The column `provider` holds the scheme that verified the event (stripe, github, …, or a generic
-- HMAC endpoint's name): the word the code uses since 0.1.0. It keeps its first name: renaming it
-- would break a server not yet upgraded during a rolling deploy (its inserts name the column), and
-- the operators' own SQL. Only its description changes.
COMMENT ON COLUMN webhook_events.provider IS 'the scheme that verified the event (stripe, github, …; a generic endpoint''s name); the column keeps its pre-0.1.0 name';
