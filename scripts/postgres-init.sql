-- Run once by the postgres image when it creates the database: the statistics the
-- operations guide queries when looking for slow statements.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
