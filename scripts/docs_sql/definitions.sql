-- Every constraint, index, trigger and function of the current schema, as Postgres prints them.
SELECT c.relname, 'constraint', con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
WHERE c.relname LIKE 'webhook\_%' AND con.contype <> 'n'  -- Postgres 18 lists NOT NULL as constraints too; the columns show it
UNION ALL
SELECT i.tablename, 'index', i.indexname, i.indexdef
FROM pg_indexes i WHERE i.schemaname = current_schema() AND i.tablename LIKE 'webhook\_%'
UNION ALL
SELECT c.relname, 'trigger', t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
WHERE c.relname LIKE 'webhook\_%' AND NOT t.tgisinternal
UNION ALL
SELECT '', 'function', p.proname, pg_get_function_identity_arguments(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = current_schema()
WHERE p.proname LIKE 'webhook\_%'
ORDER BY 1, 2, 3
