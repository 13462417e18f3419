-- PostgreSQL 13 renamed pg_stat_statements' total_time and mean_time to total_exec_time and
-- mean_exec_time. The operations guide's query uses the old names, so the view gets both.
-- Safe to run again; does nothing without the extension. A restore runs it after loading.
DO $compat$
DECLARE
    view_oid oid := pg_catalog.to_regclass('public.pg_stat_statements');
    definition text;
BEGIN
    IF view_oid IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute
        WHERE attrelid = view_oid AND attname = 'total_time' AND NOT attisdropped
    ) OR NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_attribute
        WHERE attrelid = view_oid AND attname = 'total_exec_time' AND NOT attisdropped
    ) THEN
        RETURN;
    END IF;
    definition := pg_catalog.rtrim(pg_catalog.pg_get_viewdef(view_oid), ';');
    definition := pg_catalog.regexp_replace(
        definition, '\s+FROM\s',
        E',\n    pg_stat_statements.total_exec_time AS total_time,'
        || E'\n    pg_stat_statements.mean_exec_time AS mean_time\n   FROM ');
    EXECUTE 'CREATE OR REPLACE VIEW public.pg_stat_statements AS ' || definition;
END
$compat$;
