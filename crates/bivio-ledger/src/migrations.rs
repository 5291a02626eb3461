//! Versioned schema migrations, embedded in the binary. Each version has one SQL file per backend; the two
//! must define the same tables and columns (names, order, meaning) — a test compares them on live
//! databases. Applied versions are rows of `ledger_migrations`; a database newer than this binary is
//! refused rather than written with an older idea of the schema.
//!
//! Rules for adding one: append to [`MIGRATIONS`] with the next version, never edit a released file.

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, in version order (1, 2, …, no gaps).
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "guard_action",
        sqlite: include_str!("../migrations/sqlite/0002_guard_action.sql"),
        postgres: include_str!("../migrations/postgres/0002_guard_action.sql"),
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = 2;

/// Creates the bookkeeping table (both dialects accept it).
pub(crate) const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS ledger_migrations (\
     version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)";

/// The migrations still to apply on a database at `current`.
pub(crate) fn pending(current: i64) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |migration| i64::from(migration.version) > current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dense_and_end_at_schema_version() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
        assert_eq!(pending(0).count(), MIGRATIONS.len());
        assert_eq!(pending(i64::from(SCHEMA_VERSION)).count(), 0);
    }
}
