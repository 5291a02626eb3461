//! The privacy guard: finds sensitive data in everything a request would send upstream, decides what the
//! gateway must do about it, and redacts reversibly. Pure: no I/O, no clocks, no logging.
//!
//! - [`Scanner`] — built-in detectors (e-mail, phones, IBAN, payment cards, codice fiscale, partita IVA, US
//!   SSN, IP addresses, vendor secrets, private keys, JWTs, high-entropy assignments) validated by checksums
//!   where the format has one, plus custom terms and regexes from config. `scan_text` → [`Finding`]s (kind +
//!   byte span), `scan_request` → [`Sensitivity`] (counts per kind, findings located by [`Place`]).
//! - [`Policy`] — per-kind [`Action`]s from [`GuardConfig`]; `decide` → [`GuardDecision`], strictest wins.
//! - [`Redactor`] / [`Restorer`] — `[[EMAIL_1]]`-style placeholders and their (streaming) restoration.
//!
//! Invariant: only kind labels and counts leave this crate for logs, metrics and the ledger. Findings carry
//! spans, never values; `Debug` of the redaction types prints counts only.

pub mod checksum;
pub mod config;
mod detectors;
pub mod kinds;
pub mod policy;
pub mod redact;
pub mod request;
pub mod restore;
pub mod scan;

pub use config::{Action, CustomRegex, CustomTerms, GuardConfig, GuardConfigError, KindActions};
pub use kinds::{Finding, Kind};
pub use policy::{GuardDecision, Policy};
pub use redact::{RedactOutcome, Redactor};
pub use request::{BlockPart, Located, Place, Sensitivity, ToolPart};
pub use restore::{RestoreMode, Restorer};
pub use scan::Scanner;
