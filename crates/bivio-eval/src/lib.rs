//! The evaluation lab: the seed's benchmarks (GSM8K, HumanEval, MMLU/GPQA-style multiple choice, tool use,
//! custom JSONL suites) and a pairwise arena, run on the user's own models through the same providers the
//! gateway uses, with every item stored next to the ledger.
//!
//! The crate is layered so each piece can be tested alone:
//! - [`suites`] turn files into [`item::Item`]s (pure parsing; every error names file, line and field);
//! - [`score`] turns an answer into a [`item::Score`] (pure, except HumanEval's sandboxed `python3` and the
//!   LLM judge);
//! - [`target`] calls one configured model (IR → provider wire → IR);
//! - [`runner`] runs suites × models with bounded concurrency, skipping items already scored (resume);
//! - [`store`] keeps runs, items and arena votes in the ledger database, in tables of its own;
//! - [`report`], [`gap`] and [`render`] turn stored rows into tables, Markdown, JSON and HTML;
//! - [`arena`] collects pairwise judgements and fits Bradley–Terry and Elo ratings.

pub mod arena;
mod error;
pub mod gap;
pub mod item;
pub mod progress;
pub mod render;
pub mod report;
pub mod runner;
pub mod score;
pub mod stats;
pub mod store;
pub mod suites;
pub mod target;

pub use error::EvalError;
