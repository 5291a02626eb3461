//! Invariants of `decide` over random configs, models and requests: whatever the rules, overrides and
//! availability, a decision never sends sensitive data to a non-local model, never lists an unavailable
//! model or one whose window is too small, and a long-context refusal is true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use bivio_protocol::ir::ChatRequest;
use bivio_router::{
    Category, Classification, Features, ModelInfo, RouteError, RouteInput, RouteSpec, RouterConfig, Rule, When, decide,
};
use proptest::prelude::*;

fn model_strategy() -> impl Strategy<Value = (bool, Option<u64>, bool)> {
    (any::<bool>(), prop_oneof![Just(None), Just(Some(4_000)), Just(Some(32_000)), Just(Some(200_000))], any::<bool>())
}

fn spec_strategy() -> impl Strategy<Value = RouteSpec> {
    prop_oneof![
        Just(RouteSpec::default()),
        Just(RouteSpec::Target(bivio_router::RouteTarget::Cloud)),
        proptest::collection::vec(0usize..6, 1..4)
            .prop_map(|ids| RouteSpec::Models(ids.into_iter().map(|i| format!("m{i}")).collect())),
    ]
}

proptest! {
    #[test]
    fn decisions_respect_sensitivity_availability_and_windows(
        models in proptest::collection::vec(model_strategy(), 1..6),
        category in 0usize..10,
        confidence in 0.0f64..1.0,
        sensitive in any::<bool>(),
        header in prop_oneof![Just(None), Just(Some("local")), Just(Some("cloud")), Just(Some("auto")), Just(Some("m0")), Just(Some("m1"))],
        tokens in prop_oneof![Just(100u64), Just(10_000), Just(100_000), Just(500_000)],
        rules in proptest::collection::vec((proptest::option::of(any::<bool>()), spec_strategy()), 0..3),
        default in spec_strategy(),
        chains in (proptest::collection::vec(0usize..6, 0..3), proptest::collection::vec(0usize..6, 0..3)),
    ) {
        let models: Vec<ModelInfo> = models
            .into_iter()
            .enumerate()
            .map(|(i, (local, context_window, available))| ModelInfo { name: format!("m{i}"), local, context_window, available })
            .collect();
        let config = RouterConfig {
            default,
            local: chains.0.iter().map(|i| format!("m{i}")).collect(),
            cloud: chains.1.iter().map(|i| format!("m{i}")).collect(),
            rules: rules
                .into_iter()
                .map(|(sensitive, route)| Rule { when: When { sensitive, ..When::default() }, route, reason: None })
                .collect(),
            ..RouterConfig::default()
        };
        let mut features = Features::extract(&ChatRequest::default());
        features.estimated_tokens = tokens;
        let classification =
            Classification { category: Category::ALL[category], confidence, reasons: vec![], scores: vec![] };
        let input = RouteInput {
            features: &features,
            classification: &classification,
            sensitive,
            key: None,
            override_header: header,
            override_allowed: true,
            models: &models,
        };
        let needed = tokens + config.context_reserve_tokens;
        match decide(&config, &input) {
            Ok(decision) => {
                prop_assert!(!decision.chain.is_empty());
                for name in &decision.chain {
                    let model = models.iter().find(|m| &m.name == name).unwrap();
                    prop_assert!(model.available, "{decision:?}");
                    prop_assert!(!sensitive || model.local, "sensitive to cloud: {decision:?}");
                    prop_assert!(model.context_window.is_none_or(|w| w >= needed), "{decision:?}");
                }
            }
            Err(RouteError::LongContext { needed: n, largest }) => {
                prop_assert_eq!(n, needed);
                prop_assert!(largest.is_none_or(|l| l < needed));
            }
            Err(RouteError::SensitiveNoLocal) => prop_assert!(sensitive),
            Err(_) => {}
        }
    }
}
