//! The router: which model(s) should answer a request, and why.
//!
//! Three pure steps, one module each, so each can be tested and explained on its own:
//! 1. [`features`]: structural facts about the request (tools, turns, tokens, code, documents, language…),
//!    extracted in microseconds from the IR.
//! 2. [`classify`]: one task [`Category`] with a confidence, from weighted English and Italian cues plus those
//!    features. Transparent by design — every point of score is a named cue listed in the reasons — so an
//!    operator can see why a request went where it went, and the ledger can store it without content.
//! 3. [`policy`]: the configured rules ([`RouterConfig`]) turn the category, the guard's sensitivity verdict,
//!    the key, an optional `x-bivio-route` override and the models' context windows into a [`Decision`]: an
//!    ordered chain of model names plus reasons, or a [`RouteError`].
//!
//! [`explain`] renders a decision as text for `bivio route explain FILE`.
//!
//! Nothing here does I/O, reads clocks or logs; reasons never contain user text (only the names of cues,
//! rules and models), so they are safe for response headers and the ledger.

pub mod category;
pub mod classify;
pub mod config;
pub mod explain;
pub mod features;
mod lexicon;
pub mod policy;
mod text;

pub use category::Category;
pub use classify::{Classification, classify};
pub use config::{CategoryConfig, RouteSpec, RouteTarget, RouterConfig, Rule, When};
pub use explain::explain;
pub use features::{Features, Language};
pub use policy::{Decision, ModelInfo, RouteError, RouteInput, decide, named_chain};

/// The model alias that lets the policy choose.
pub const AUTO_MODEL: &str = "bivio/auto";

/// The request header a client may use to force a route: `local`, `cloud` or a model name.
pub const ROUTE_HEADER: &str = "x-bivio-route";

/// Whether a requested model name asks the router to decide.
pub fn is_auto(model: &str) -> bool {
    model == AUTO_MODEL
}
