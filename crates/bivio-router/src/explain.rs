//! `bivio route explain FILE`: a decision, its classification and the request's features as text.
//!
//! Pure rendering: the CLI parses the body, runs the router and prints what this returns. Nothing in it is
//! user text — only counts, cue names, rule reasons and model names.

use std::fmt::Write as _;

use crate::classify::Classification;
use crate::features::Features;
use crate::policy::{Decision, RouteError};

/// Renders a decision (or the error the gateway would answer with) with everything that led to it.
pub fn explain(
    features: &Features,
    classification: &Classification,
    decision: &Result<Decision, RouteError>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "category:   {} (confidence {:.2})", classification.category, classification.confidence);
    match decision {
        Ok(d) => {
            let _ = writeln!(out, "route:      {}", d.route_label);
            let _ =
                writeln!(out, "chain:      {}", if d.chain.is_empty() { "-".to_owned() } else { d.chain.join(" → ") });
            let _ = writeln!(out, "reasons:");
            for reason in &d.reasons {
                let _ = writeln!(out, "  - {reason}");
            }
        }
        Err(e) => {
            let _ = writeln!(out, "route:      refused ({}, HTTP {})", e.kind(), e.http_status());
            let _ = writeln!(out, "error:      {e}");
        }
    }
    let _ = writeln!(out, "classifier cues:");
    for reason in &classification.reasons {
        let _ = writeln!(out, "  - {reason}");
    }
    let mut scores = classification.scores.clone();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1));
    let line: Vec<String> = scores.iter().filter(|(_, s)| *s > 0.0).map(|(c, s)| format!("{c} {s:.1}")).collect();
    let _ = writeln!(out, "scores:     {}", line.join(", "));
    let f = features;
    let _ = writeln!(out, "features:");
    let _ = writeln!(
        out,
        "  turns {}, estimated input tokens {}, max output {}",
        f.turns,
        f.estimated_tokens,
        f.max_output_tokens.map_or_else(|| "unset".to_owned(), |m| m.to_string())
    );
    let _ = writeln!(out, "  tools {}, tool calls {}, tool results {}", f.tools, f.tool_calls, f.tool_results);
    let _ = writeln!(
        out,
        "  code blocks {} [{}], documents {}, images {}",
        f.code_blocks,
        f.code_languages.join(", "),
        f.documents,
        f.images
    );
    let _ = writeln!(
        out,
        "  structured output {}, long context {}, pasted text {}, language {}",
        f.structured_output,
        f.long_context,
        f.pasted_text,
        f.language.as_str()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        RouterConfig, classify, decide,
        policy::{ModelInfo, RouteInput},
    };
    use bivio_protocol::ir::{Block, ChatRequest, Message, Role};

    #[test]
    fn renders_decision_without_user_text() {
        let request = ChatRequest {
            messages: vec![Message { role: Role::User, content: vec![Block::text("Write a haiku about Zanzibar")] }],
            ..Default::default()
        };
        let features = Features::extract(&request);
        let classification = classify(&request, &features);
        let models = [ModelInfo { name: "qwen".into(), local: true, context_window: Some(32_000), available: true }];
        let input = RouteInput {
            features: &features,
            classification: &classification,
            sensitive: false,
            key: None,
            override_header: None,
            override_allowed: true,
            models: &models,
        };
        let decision = decide(&RouterConfig::default(), &input);
        let text = explain(&features, &classification, &decision);
        assert!(text.contains("category:   writing"), "{text}");
        assert!(text.contains("chain:      qwen"), "{text}");
        assert!(!text.to_lowercase().contains("zanzibar"), "{text}");
    }
}
