//! The `[guard]` table the gateway embeds. Raw serde structs with `deny_unknown_fields` (a typo in a privacy
//! rule must stop start-up); `Scanner::new` and `Policy::new` validate them and name the TOML path at fault.
//!
//! ```toml
//! [guard]
//! default_action = "local_only"        # built-in kinds without their own entry
//! images = "local_only"                # default: local_only when any rule is strict, else allow
//!
//! [guard.actions]
//! email = "redact"
//! ip_address = "allow"
//!
//! [[guard.custom_terms]]
//! name = "clients"                     # label `custom:clients`
//! terms = ["Acme Corp", "Globex"]      # case-insensitive, whole words
//! action = "local_only"                # default: default_action
//!
//! [[guard.custom_regexes]]
//! name = "project_codes"
//! pattern = "PRJ-[0-9]{4}"
//! action = "redact"
//!
//! allow = ["support@example-corp.com"]  # never sensitive (plus the built-in list, BUILTIN_ALLOW)
//! ```

use serde::{Deserialize, Serialize};

use crate::kinds::Kind;

/// What happens to a request that contains a kind. Ordered by strictness: `Allow < Redact < LocalOnly <
/// Block`, which is the order in which the strictest rule wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Send as is.
    Allow,
    /// Replace each value with a placeholder for the cloud; restore it in the answer.
    Redact,
    /// Serve the request with a local model only.
    #[default]
    LocalOnly,
    /// Refuse the request.
    Block,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::LocalOnly => "local_only",
            Action::Block => "block",
        }
    }

    /// Strict actions keep data off the cloud entirely.
    pub fn is_strict(self) -> bool {
        matches!(self, Action::LocalOnly | Action::Block)
    }
}

/// `[guard]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GuardConfig {
    /// Action for built-in kinds without an entry in `actions`. Default `local_only`.
    pub default_action: Action,
    /// Per-kind actions.
    pub actions: KindActions,
    /// Action for requests with images (which the guard cannot read). Default: `local_only` when any rule
    /// (default, per kind or custom) is strict, `allow` otherwise. `redact` is refused: pixels cannot be.
    pub images: Option<Action>,
    /// `[[guard.custom_terms]]`: literal terms (client names, project code names).
    pub custom_terms: Vec<CustomTerms>,
    /// `[[guard.custom_regexes]]`: patterns in Rust `regex` syntax.
    pub custom_regexes: Vec<CustomRegex>,
    /// Values that are never sensitive (matched whole, case-insensitively), in addition to
    /// [`BUILTIN_ALLOW`]: public addresses and identifiers that clients put in every prompt.
    pub allow: Vec<String>,
}

/// Public values real clients send in every request, which must not make every request "sensitive":
/// Claude Code's system prompt asks for `Co-Authored-By: Claude <noreply@anthropic.com>` on commits.
pub const BUILTIN_ALLOW: &[&str] = &["noreply@anthropic.com"];

/// `[guard.actions]`: one optional entry per built-in kind, keyed by its label.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindActions {
    pub email: Option<Action>,
    pub phone: Option<Action>,
    pub iban: Option<Action>,
    pub payment_card: Option<Action>,
    pub codice_fiscale: Option<Action>,
    pub partita_iva: Option<Action>,
    pub us_ssn: Option<Action>,
    pub ip_address: Option<Action>,
    pub secret_anthropic: Option<Action>,
    pub secret_openai: Option<Action>,
    pub secret_aws: Option<Action>,
    pub secret_github: Option<Action>,
    pub secret_slack: Option<Action>,
    pub private_key: Option<Action>,
    pub jwt: Option<Action>,
    pub high_entropy_secret: Option<Action>,
}

impl KindActions {
    /// The configured action of a built-in kind (`None` for custom kinds and unset entries).
    pub fn get(&self, kind: &Kind) -> Option<Action> {
        match kind {
            Kind::Email => self.email,
            Kind::Phone => self.phone,
            Kind::Iban => self.iban,
            Kind::PaymentCard => self.payment_card,
            Kind::CodiceFiscale => self.codice_fiscale,
            Kind::PartitaIva => self.partita_iva,
            Kind::UsSsn => self.us_ssn,
            Kind::IpAddress => self.ip_address,
            Kind::SecretAnthropic => self.secret_anthropic,
            Kind::SecretOpenai => self.secret_openai,
            Kind::SecretAws => self.secret_aws,
            Kind::SecretGithub => self.secret_github,
            Kind::SecretSlack => self.secret_slack,
            Kind::PrivateKey => self.private_key,
            Kind::Jwt => self.jwt,
            Kind::HighEntropySecret => self.high_entropy_secret,
            Kind::Custom(_) => None,
        }
    }
}

/// One `[[guard.custom_terms]]` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomTerms {
    /// snake_case; the findings' kind is `custom:<name>`.
    pub name: String,
    /// Matched case-insensitively (ASCII letters) as whole words.
    pub terms: Vec<String>,
    /// Default: `default_action`.
    #[serde(default)]
    pub action: Option<Action>,
}

/// One `[[guard.custom_regexes]]` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRegex {
    /// snake_case; the findings' kind is `custom:<name>`.
    pub name: String,
    /// Rust `regex` syntax, compiled at load.
    pub pattern: String,
    /// Default: `default_action`.
    #[serde(default)]
    pub action: Option<Action>,
}

/// A `[guard]` table that cannot be used. Messages name the TOML path; they never quote request content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardConfigError {
    #[error("{path}: invalid regex: {message}")]
    InvalidRegex { path: String, message: String },
    #[error("{path}: rule names are snake_case ([a-z0-9_]+), got {name:?}")]
    InvalidName { path: String, name: String },
    #[error("{path}: rule name {name:?} is already used by another custom rule or a built-in kind")]
    DuplicateName { path: String, name: String },
    #[error("{path}: {what}")]
    Invalid { path: String, what: &'static str },
}

impl GuardConfig {
    /// Checks names (snake_case, unique, not a built-in label), non-empty terms and patterns, compilable
    /// regexes and `images != redact`. `Scanner::new` and `Policy::new` call it.
    pub fn validate(&self) -> Result<(), GuardConfigError> {
        if self.images == Some(Action::Redact) {
            return Err(GuardConfigError::Invalid {
                path: "guard.images".into(),
                what: "images cannot be redacted: use allow, local_only or block",
            });
        }
        let mut names: Vec<&str> = Vec::new();
        let rules = self
            .custom_terms
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("guard.custom_terms[{i}]"), r.name.as_str()))
            .chain(
                self.custom_regexes
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("guard.custom_regexes[{i}]"), r.name.as_str())),
            );
        for (path, name) in rules {
            let path = format!("{path}.name");
            let snake = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && name.as_bytes()[0].is_ascii_lowercase();
            if !snake {
                return Err(GuardConfigError::InvalidName { path, name: name.into() });
            }
            if names.contains(&name) || Kind::from_label(name).is_some() {
                return Err(GuardConfigError::DuplicateName { path, name: name.into() });
            }
            names.push(name);
        }
        for (i, rule) in self.custom_terms.iter().enumerate() {
            if rule.terms.is_empty() {
                return Err(GuardConfigError::Invalid {
                    path: format!("guard.custom_terms[{i}].terms"),
                    what: "a custom term rule needs at least one term",
                });
            }
            if let Some(j) = rule.terms.iter().position(|t| t.trim().is_empty()) {
                return Err(GuardConfigError::Invalid {
                    path: format!("guard.custom_terms[{i}].terms[{j}]"),
                    what: "terms cannot be empty",
                });
            }
        }
        for (i, rule) in self.custom_regexes.iter().enumerate() {
            let path = format!("guard.custom_regexes[{i}].pattern");
            let regex = regex::Regex::new(&rule.pattern)
                .map_err(|e| GuardConfigError::InvalidRegex { path: path.clone(), message: e.to_string() })?;
            if regex.is_match("") {
                return Err(GuardConfigError::Invalid { path, what: "the pattern matches the empty string" });
            }
        }
        Ok(())
    }
}
