//! The task categories and their seed-derived default routes.
//!
//! The defaults follow the research seed (§5.3): agentic workflows, tool chains, safety-critical decisions,
//! business/finance reasoning and complex code review go to Claude; simple chat, RAG over supplied documents,
//! structured extraction, simple code generation and maths go to open models. Writing is not in the seed; it
//! defaults to local (frequent, cost-sensitive) and is one config line away from cloud.

use serde::{Deserialize, Serialize};

use crate::config::RouteTarget;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Agentic,
    CodeReview,
    Critical,
    BusinessFinance,
    CodeGen,
    Extraction,
    Rag,
    Chat,
    Math,
    Writing,
}

impl Category {
    /// Every category, in a stable order (reports, confusion matrices).
    pub const ALL: [Category; 10] = [
        Category::Agentic,
        Category::CodeReview,
        Category::Critical,
        Category::BusinessFinance,
        Category::CodeGen,
        Category::Extraction,
        Category::Rag,
        Category::Chat,
        Category::Math,
        Category::Writing,
    ];

    /// The snake_case name used in config, headers and the ledger.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Agentic => "agentic",
            Category::CodeReview => "code_review",
            Category::Critical => "critical",
            Category::BusinessFinance => "business_finance",
            Category::CodeGen => "code_gen",
            Category::Extraction => "extraction",
            Category::Rag => "rag",
            Category::Chat => "chat",
            Category::Math => "math",
            Category::Writing => "writing",
        }
    }

    pub fn parse(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The seed's default route for this category.
    pub fn default_route(self) -> RouteTarget {
        match self {
            Category::Agentic | Category::CodeReview | Category::Critical | Category::BusinessFinance => {
                RouteTarget::Cloud
            }
            Category::CodeGen
            | Category::Extraction
            | Category::Rag
            | Category::Chat
            | Category::Math
            | Category::Writing => RouteTarget::Local,
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
