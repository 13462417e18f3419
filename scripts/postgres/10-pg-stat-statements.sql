-- The statement statistics the operations guide queries when looking for slow statements
-- (the server must load it: shared_preload_libraries = 'pg_stat_statements').
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
