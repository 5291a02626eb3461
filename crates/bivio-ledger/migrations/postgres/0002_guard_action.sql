-- The ledger, version 2 (PostgreSQL): the privacy guard's decision per request. Keep identical in name,
-- position (last column) and meaning to migrations/sqlite/0002_guard_action.sql.
-- allow | redact | local_only | block; NULL when the guard found nothing to decide about, and for every
-- request written before version 2 (the guard's decision was not recorded then).
ALTER TABLE ledger_requests ADD COLUMN guard_action TEXT;
