//! What the guard can find. Only a kind's label ever leaves the crate (logs, metrics, the ledger, the
//! upstream's placeholders) — never the value it was found in.

use std::fmt;

/// A kind of sensitive data. `Custom` carries the config rule's name (a config-chosen label, not data).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Email,
    Phone,
    Iban,
    PaymentCard,
    CodiceFiscale,
    PartitaIva,
    UsSsn,
    IpAddress,
    SecretAnthropic,
    SecretOpenai,
    SecretAws,
    SecretGithub,
    SecretSlack,
    PrivateKey,
    Jwt,
    HighEntropySecret,
    Custom(String),
}

impl Kind {
    /// Every built-in kind, in label order of the docs.
    pub const BUILTIN: [Kind; 16] = [
        Kind::Email,
        Kind::Phone,
        Kind::Iban,
        Kind::PaymentCard,
        Kind::CodiceFiscale,
        Kind::PartitaIva,
        Kind::UsSsn,
        Kind::IpAddress,
        Kind::SecretAnthropic,
        Kind::SecretOpenai,
        Kind::SecretAws,
        Kind::SecretGithub,
        Kind::SecretSlack,
        Kind::PrivateKey,
        Kind::Jwt,
        Kind::HighEntropySecret,
    ];

    /// The stable snake_case label of a built-in kind; `custom:<rule name>` for custom rules.
    pub fn label(&self) -> std::borrow::Cow<'static, str> {
        match self.builtin_label() {
            Some(label) => label.into(),
            None => match self {
                Kind::Custom(name) => format!("custom:{name}").into(),
                _ => "".into(),
            },
        }
    }

    /// The label of a built-in kind; `None` for custom rules.
    pub fn builtin_label(&self) -> Option<&'static str> {
        Some(match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Iban => "iban",
            Kind::PaymentCard => "payment_card",
            Kind::CodiceFiscale => "codice_fiscale",
            Kind::PartitaIva => "partita_iva",
            Kind::UsSsn => "us_ssn",
            Kind::IpAddress => "ip_address",
            Kind::SecretAnthropic => "secret_anthropic",
            Kind::SecretOpenai => "secret_openai",
            Kind::SecretAws => "secret_aws",
            Kind::SecretGithub => "secret_github",
            Kind::SecretSlack => "secret_slack",
            Kind::PrivateKey => "private_key",
            Kind::Jwt => "jwt",
            Kind::HighEntropySecret => "high_entropy_secret",
            Kind::Custom(_) => return None,
        })
    }

    /// The built-in kind with this label (`custom:` labels are not parsed: rules come from config).
    pub fn from_label(label: &str) -> Option<Kind> {
        Kind::BUILTIN.iter().find(|kind| kind.builtin_label() == Some(label)).cloned()
    }

    /// The name inside a redaction placeholder. Custom rules all become `TERM` so the upstream never learns
    /// the rule's name (which may itself name a client).
    pub fn placeholder_name(&self) -> &'static str {
        match self {
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Iban => "IBAN",
            Kind::PaymentCard => "CARD",
            Kind::CodiceFiscale => "CODICE_FISCALE",
            Kind::PartitaIva => "PARTITA_IVA",
            Kind::UsSsn => "SSN",
            Kind::IpAddress => "IP",
            Kind::SecretAnthropic
            | Kind::SecretOpenai
            | Kind::SecretAws
            | Kind::SecretGithub
            | Kind::SecretSlack
            | Kind::HighEntropySecret => "SECRET",
            Kind::PrivateKey => "PRIVATE_KEY",
            Kind::Jwt => "JWT",
            Kind::Custom(_) => "TERM",
        }
    }

    /// Overlap priority: when two findings overlap, the lower rank wins (specific secrets before generic
    /// ones, checksummed identifiers before phone numbers).
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Kind::PrivateKey => 0,
            Kind::SecretAnthropic | Kind::SecretOpenai | Kind::SecretAws | Kind::SecretGithub | Kind::SecretSlack => 1,
            Kind::Jwt => 2,
            Kind::Custom(_) => 3,
            Kind::Email => 4,
            Kind::Iban => 5,
            Kind::CodiceFiscale => 6,
            Kind::PaymentCard => 7,
            Kind::PartitaIva => 8,
            Kind::UsSsn => 9,
            Kind::IpAddress => 10,
            Kind::Phone => 11,
            Kind::HighEntropySecret => 12,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// One detected value: its kind and byte span in the scanned string (`start..end`, on char boundaries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Finding {
    pub fn new(kind: Kind, start: usize, end: usize) -> Finding {
        Finding { kind, start, end }
    }
}
