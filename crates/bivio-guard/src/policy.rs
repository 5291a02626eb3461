//! `Policy::decide`: the guard's decision for a request, a pure function of its `Sensitivity` and the
//! config. Each kind found maps to its action (per-kind entry, else the custom rule's, else
//! `default_action`); images map to the `images` action. The strictest action wins —
//! `block > local_only > redact > allow` — and the decision lists the kinds that earned it, so the ledger's
//! reasons say why (labels only).

use std::collections::BTreeMap;

use crate::config::{Action, GuardConfig, GuardConfigError};
use crate::kinds::Kind;
use crate::request::Sensitivity;

/// What the gateway must do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardDecision {
    /// Send as is: nothing found, or only kinds whose action is `allow`.
    Allow,
    /// Redact these kinds (their findings) before a cloud call; restore the answer.
    Redact { kinds: Vec<Kind> },
    /// Serve locally only, because of these kinds (and/or images).
    LocalOnly { kinds: Vec<Kind>, images: bool },
    /// Refuse, because of these kinds (and/or images).
    Block { kinds: Vec<Kind>, images: bool },
}

impl GuardDecision {
    /// `allow`, `redact`, `local_only` or `block`: for metrics and the ledger.
    pub fn label(&self) -> &'static str {
        self.action().label()
    }

    pub fn action(&self) -> Action {
        match self {
            GuardDecision::Allow => Action::Allow,
            GuardDecision::Redact { .. } => Action::Redact,
            GuardDecision::LocalOnly { .. } => Action::LocalOnly,
            GuardDecision::Block { .. } => Action::Block,
        }
    }
}

/// The resolved actions of one config.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    default_action: Action,
    actions: BTreeMap<Kind, Action>,
    images: Action,
}

impl Policy {
    pub fn new(config: &GuardConfig) -> Result<Policy, GuardConfigError> {
        config.validate()?;
        let mut actions = BTreeMap::new();
        for kind in Kind::BUILTIN {
            let action = config.actions.get(&kind).unwrap_or(config.default_action);
            actions.insert(kind, action);
        }
        for rule in &config.custom_terms {
            actions.insert(Kind::Custom(rule.name.clone()), rule.action.unwrap_or(config.default_action));
        }
        for rule in &config.custom_regexes {
            actions.insert(Kind::Custom(rule.name.clone()), rule.action.unwrap_or(config.default_action));
        }
        let any_strict = actions.values().any(|a| a.is_strict());
        let images = config.images.unwrap_or(if any_strict { Action::LocalOnly } else { Action::Allow });
        Ok(Policy { default_action: config.default_action, actions, images })
    }

    /// The action for one kind.
    pub fn action(&self, kind: &Kind) -> Action {
        self.actions.get(kind).copied().unwrap_or(self.default_action)
    }

    /// The action for requests with images.
    pub fn images_action(&self) -> Action {
        self.images
    }

    /// Strictest wins: `block > local_only > redact > allow`.
    pub fn decide(&self, sensitivity: &Sensitivity) -> GuardDecision {
        let images = if sensitivity.images > 0 { self.images } else { Action::Allow };
        let strictest = sensitivity.kinds().map(|k| self.action(k)).chain([images]).max().unwrap_or(Action::Allow);
        let kinds: Vec<Kind> = sensitivity.kinds().filter(|k| self.action(k) == strictest).cloned().collect();
        let images = images == strictest;
        match strictest {
            Action::Allow => GuardDecision::Allow,
            Action::Redact => GuardDecision::Redact { kinds },
            Action::LocalOnly => GuardDecision::LocalOnly { kinds, images },
            Action::Block => GuardDecision::Block { kinds, images },
        }
    }
}
