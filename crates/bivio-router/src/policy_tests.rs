use super::*;
use crate::config::CategoryConfig;
use crate::features::Language;

fn features(tokens: u64) -> Features {
    Features {
        tools: 0,
        tool_calls: 0,
        tool_results: 0,
        turns: 1,
        estimated_tokens: tokens,
        max_output_tokens: None,
        structured_output: false,
        code_blocks: 0,
        code_languages: vec![],
        code_bytes: 0,
        documents: 0,
        images: 0,
        last_user_tokens: tokens,
        last_user_words: 10,
        asks_question: true,
        long_context: false,
        pasted_text: false,
        language: Language::En,
        numbers: 0,
        math_symbols: 0,
    }
}

fn class(category: Category, confidence: f64) -> Classification {
    Classification { category, confidence, reasons: vec![], scores: vec![] }
}

fn model(name: &str, local: bool, window: Option<u64>) -> ModelInfo {
    ModelInfo { name: name.into(), local, context_window: window, available: true }
}

fn models() -> Vec<ModelInfo> {
    vec![
        model("qwen", true, Some(32_000)),
        model("llama", true, Some(8_000)),
        model("sonnet", false, Some(200_000)),
        model("haiku", false, Some(200_000)),
    ]
}

struct Case {
    f: Features,
    c: Classification,
    sensitive: bool,
    key: Option<&'static str>,
    header: Option<&'static str>,
    allowed: bool,
    models: Vec<ModelInfo>,
}

impl Case {
    fn new(category: Category) -> Case {
        Case {
            f: features(100),
            c: class(category, 0.9),
            sensitive: false,
            key: None,
            header: None,
            allowed: true,
            models: models(),
        }
    }
    fn run(&self, config: &RouterConfig) -> Result<Decision, RouteError> {
        decide(
            config,
            &RouteInput {
                features: &self.f,
                classification: &self.c,
                sensitive: self.sensitive,
                key: self.key,
                override_header: self.header,
                override_allowed: self.allowed,
                models: &self.models,
            },
        )
    }
}

#[test]
fn seed_defaults_per_category() {
    let config = RouterConfig::default();
    for category in [Category::Agentic, Category::CodeReview, Category::Critical, Category::BusinessFinance] {
        let d = Case::new(category).run(&config).unwrap();
        assert_eq!(d.route_label, "cloud", "{category}");
        assert_eq!(d.chain, vec!["sonnet", "haiku"]);
    }
    for category in
        [Category::CodeGen, Category::Extraction, Category::Rag, Category::Chat, Category::Math, Category::Writing]
    {
        let d = Case::new(category).run(&config).unwrap();
        assert_eq!(d.route_label, "local", "{category}");
        assert_eq!(d.chain, vec!["qwen", "llama"]);
    }
    let d = Case::new(Category::Critical).run(&config).unwrap();
    assert_eq!(d.reasons, vec!["category critical -> cloud"]);
}

#[test]
fn writing_is_configurable_and_named_chains_order() {
    let mut config = RouterConfig { cloud: vec!["haiku".into(), "sonnet".into()], ..Default::default() };
    config.categories.insert(Category::Writing, CategoryConfig { route: RouteSpec::Target(RouteTarget::Cloud) });
    let d = Case::new(Category::Writing).run(&config).unwrap();
    assert_eq!(d.chain, vec!["haiku", "sonnet"]);
    assert_eq!(d.route_label, "cloud");
}

#[test]
fn min_confidence_applies_the_default() {
    let config = RouterConfig { default: RouteSpec::Models(vec!["llama".into()]), ..Default::default() };
    let mut case = Case::new(Category::Critical);
    case.c.confidence = 0.3;
    let d = case.run(&config).unwrap();
    assert_eq!(d.chain, vec!["llama"]);
    assert_eq!(d.route_label, "llama");
    assert_eq!(d.category, Category::Critical);
    assert!(d.reasons[0].starts_with("confidence 0.30 < min_confidence 0.50"), "{:?}", d.reasons);
    case.c.confidence = 0.5;
    assert_eq!(case.run(&config).unwrap().route_label, "cloud");
}

#[test]
fn rules_in_order_first_match_wins() {
    let config: RouterConfig = toml::from_str(
        r#"
        [[rules]]
        when = { key = "team-a", category = "chat" }
        route = ["sonnet"]
        reason = "team a wants sonnet for chat"
        [[rules]]
        when = { category = "chat" }
        route = "cloud"
        [[rules]]
        when = { key = "team-a" }
        route = ["llama"]
        [[rules]]
        when = { tokens_over = 1000 }
        route = ["haiku"]
        "#,
    )
    .unwrap();
    let mut case = Case::new(Category::Chat);
    case.key = Some("team-a");
    let d = case.run(&config).unwrap();
    assert_eq!(d.chain, vec!["sonnet"]);
    assert_eq!(d.reasons[0], "rule 1: team a wants sonnet for chat");
    case.key = Some("team-b");
    let d = case.run(&config).unwrap();
    assert_eq!(d.route_label, "cloud");
    assert_eq!(d.reasons[0], "rule 2: category=chat");
    let mut case = Case::new(Category::Math);
    case.key = Some("team-a");
    assert_eq!(case.run(&config).unwrap().chain, vec!["llama"]);
    let mut case = Case::new(Category::Math);
    case.f.estimated_tokens = 5_000;
    assert_eq!(case.run(&config).unwrap().chain, vec!["haiku"]);
    case.f.estimated_tokens = 1_000;
    assert_eq!(case.run(&config).unwrap().route_label, "local");
}

#[test]
fn rules_on_images_tools_sensitivity() {
    let config: RouterConfig = toml::from_str(
        r#"
        [[rules]]
        when = { has_images = true }
        route = ["sonnet"]
        [[rules]]
        when = { has_tools = true }
        route = ["haiku"]
        [[rules]]
        when = { sensitive = true }
        route = ["llama"]
        "#,
    )
    .unwrap();
    let mut case = Case::new(Category::Chat);
    case.f.images = 1;
    assert_eq!(case.run(&config).unwrap().chain, vec!["sonnet"]);
    let mut case = Case::new(Category::Chat);
    case.f.tool_results = 1;
    assert_eq!(case.run(&config).unwrap().chain, vec!["haiku"]);
    let mut case = Case::new(Category::Chat);
    case.sensitive = true;
    assert_eq!(case.run(&config).unwrap().chain, vec!["llama"]);
}

#[test]
fn override_allowed_and_forbidden() {
    let config = RouterConfig::default();
    let mut case = Case::new(Category::Chat);
    case.header = Some("cloud");
    let d = case.run(&config).unwrap();
    assert_eq!(d.route_label, "cloud");
    assert_eq!(d.reasons[0], "override: x-bivio-route cloud");
    case.header = Some("haiku");
    let d = case.run(&config).unwrap();
    assert_eq!((d.route_label.as_str(), d.chain.clone()), ("haiku", vec!["haiku".to_owned()]));
    case.header = Some("LOCAL");
    assert_eq!(case.run(&config).unwrap().route_label, "local");
    case.header = Some("auto");
    assert_eq!(case.run(&config).unwrap().reasons[0], "category chat -> local");
    case.header = Some("gpt-9");
    assert_eq!(case.run(&config).unwrap_err(), RouteError::UnknownOverride { value: "gpt-9".into() });
    case.header = Some("cloud");
    case.allowed = false;
    let err = case.run(&config).unwrap_err();
    assert_eq!(err, RouteError::OverrideForbidden);
    assert_eq!(err.http_status(), 403);
    // Overrides beat rules.
    let config: RouterConfig = toml::from_str("[[rules]]\nroute = [\"llama\"]").unwrap();
    case.allowed = true;
    assert_eq!(case.run(&config).unwrap().route_label, "cloud");
}

#[test]
fn sensitive_never_goes_to_cloud() {
    let config: RouterConfig =
        toml::from_str("[[rules]]\nwhen = { category = \"critical\" }\nroute = [\"sonnet\", \"llama\", \"haiku\"]")
            .unwrap();
    for category in Category::ALL {
        for header in [None, Some("cloud"), Some("sonnet"), Some("local")] {
            let mut case = Case::new(category);
            case.sensitive = true;
            case.header = header;
            let d = case.run(&config).unwrap();
            for name in &d.chain {
                assert!(case.models.iter().any(|m| &m.name == name && m.local), "{category} {header:?}: {d:?}");
            }
            assert!(!d.chain.is_empty());
        }
    }
    let mut case = Case::new(Category::Critical);
    case.sensitive = true;
    let d = case.run(&config).unwrap();
    assert_eq!(d.chain, vec!["llama"]);
    assert!(d.reasons.contains(&"sensitive: non-local models removed".to_owned()));
    let d = case.run(&RouterConfig::default()).unwrap();
    assert_eq!(d.chain, vec!["qwen", "llama"]);
    assert_eq!(d.route_label, "local");
    assert!(d.reasons.contains(&"sensitive: kept on local models".to_owned()));
    // Fail closed when no local model can take it.
    case.models = vec![model("sonnet", false, None), ModelInfo { available: false, ..model("qwen", true, None) }];
    let err = case.run(&RouterConfig::default()).unwrap_err();
    assert_eq!(err, RouteError::SensitiveNoLocal);
    assert_eq!(err.http_status(), 503);
}

#[test]
fn cloud_unavailable_falls_back_to_local() {
    let mut case = Case::new(Category::Agentic);
    for m in &mut case.models {
        if !m.local {
            m.available = false;
        }
    }
    let d = case.run(&RouterConfig::default()).unwrap();
    assert_eq!(d.chain, vec!["qwen", "llama"]);
    assert_eq!(d.route_label, "local");
    assert_eq!(d.reasons[1], "cloud unavailable: falling back to local");
    // An empty cloud side (no cloud models at all) too.
    case.models.retain(|m| m.local);
    assert_eq!(case.run(&RouterConfig::default()).unwrap().reasons[1], "cloud unavailable: falling back to local");
    // A rule naming only cloud models.
    let config: RouterConfig = toml::from_str("[[rules]]\nroute = [\"sonnet\"]").unwrap();
    assert_eq!(case.run(&config).unwrap().chain, vec!["qwen", "llama"]);
    // An explicit model override does not silently change model.
    case.models = models();
    case.models[2].available = false;
    case.header = Some("sonnet");
    assert_eq!(case.run(&RouterConfig::default()).unwrap_err(), RouteError::NoModel { route: "sonnet".into() });
    // Nothing at all.
    case.header = None;
    case.models.iter_mut().for_each(|m| m.available = false);
    assert!(matches!(case.run(&RouterConfig::default()), Err(RouteError::NoModel { .. })));
}

#[test]
fn long_context_drops_small_windows_then_falls_back_then_400() {
    let config = RouterConfig::default();
    // 10k tokens + 1024 reserve: llama (8k) is dropped, qwen (32k) stays.
    let mut case = Case::new(Category::Chat);
    case.f.estimated_tokens = 10_000;
    let d = case.run(&config).unwrap();
    assert_eq!(d.chain, vec!["qwen"]);
    assert_eq!(d.reasons[1], "long context: dropped models with windows under 11024 tokens");
    // max_tokens replaces the reserve.
    case.f.estimated_tokens = 7_000;
    case.f.max_output_tokens = Some(500);
    assert_eq!(case.run(&config).unwrap().chain, vec!["qwen", "llama"]);
    // 100k: no local model holds it → the largest model that can, said in the reasons.
    let mut case = Case::new(Category::Chat);
    case.f.estimated_tokens = 100_000;
    let d = case.run(&config).unwrap();
    assert_eq!(d.chain, vec!["sonnet"]);
    assert_eq!(d.route_label, "cloud");
    assert!(
        d.reasons[1].starts_with("long context: 101024 tokens exceed the chain's windows; using sonnet"),
        "{:?}",
        d.reasons
    );
    // Sensitive + 100k: only local models may take it → 400 with numbers.
    case.sensitive = true;
    let err = case.run(&config).unwrap_err();
    assert_eq!(err, RouteError::LongContext { needed: 101_024, largest: Some(32_000) });
    assert_eq!(err.http_status(), 400);
    assert!(err.to_string().contains("101024") && err.to_string().contains("32000"), "{err}");
    // Beyond every window.
    case.sensitive = false;
    case.f.estimated_tokens = 500_000;
    assert_eq!(case.run(&config).unwrap_err(), RouteError::LongContext { needed: 501_024, largest: Some(200_000) });
    // Unknown windows are assumed to fit.
    case.models.push(model("mystery", true, None));
    assert_eq!(case.run(&config).unwrap().chain, vec!["mystery"]);
}

#[test]
fn error_kinds_are_stable() {
    assert_eq!(RouteError::SensitiveNoLocal.kind(), "sensitive_no_local");
    assert_eq!(RouteError::LongContext { needed: 1, largest: None }.kind(), "long_context");
    assert_eq!(RouteError::NoModel { route: "x".into() }.http_status(), 503);
}

#[test]
fn sensitive_ignores_a_misconfigured_local_chain() {
    // `local` names a cloud model by mistake: sensitive traffic still never reaches it.
    let config = RouterConfig { local: vec!["sonnet".into()], ..Default::default() };
    let mut case = Case::new(Category::Chat);
    case.sensitive = true;
    assert_eq!(case.run(&config).unwrap_err(), RouteError::SensitiveNoLocal);
}
