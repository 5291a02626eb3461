//! The request's sampling parameters, and the llama.cpp sampler chain they make.
//!
//! Both APIs default `temperature` to 1 and apply no nucleus or top-k cut unless asked, so neither does
//! this: a request that names nothing samples from the model's own distribution. `temperature` 0 means greedy
//! decoding (deterministic, whatever the seed).

use bivio_protocol::ApiError;
use bivio_protocol::ir::ChatRequest;
use llama_cpp_2::sampling::LlamaSampler;

/// llama.cpp's "pick a random seed" value (`LLAMA_DEFAULT_SEED`).
const RANDOM_SEED: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sampling {
    pub temperature: f32,
    pub top_p: Option<f32>,
    pub top_k: Option<i32>,
    /// `None`: a fresh random seed per request.
    pub seed: Option<u32>,
}

impl Sampling {
    pub(crate) fn from_request(request: &ChatRequest) -> Result<Sampling, ApiError> {
        let temperature = request.temperature.unwrap_or(1.0);
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(ApiError::invalid("`temperature` must be a number ≥ 0"));
        }
        let top_p = match request.top_p {
            Some(p) if !(p > 0.0 && p <= 1.0) => return Err(ApiError::invalid("`top_p` must be in (0, 1]")),
            Some(p) if p < 1.0 => Some(p as f32),
            _ => None,
        };
        let top_k = match request.top_k {
            Some(0) | None => None,
            Some(k) => Some(i32::try_from(k).unwrap_or(i32::MAX)),
        };
        Ok(Sampling { temperature: temperature as f32, top_p, top_k, seed: request.seed.map(fold_seed) })
    }

    pub(crate) fn is_greedy(&self) -> bool {
        self.temperature <= 0.0
    }

    /// The chain in llama.cpp's usual order: truncate (top-k, top-p), scale (temperature), draw.
    pub(crate) fn chain(&self) -> LlamaSampler {
        if self.is_greedy() {
            return LlamaSampler::greedy();
        }
        let mut samplers = Vec::with_capacity(4);
        if let Some(k) = self.top_k {
            samplers.push(LlamaSampler::top_k(k));
        }
        if let Some(p) = self.top_p {
            samplers.push(LlamaSampler::top_p(p, 1));
        }
        samplers.push(LlamaSampler::temp(self.temperature));
        samplers.push(LlamaSampler::dist(self.seed.unwrap_or(RANDOM_SEED)));
        LlamaSampler::chain_simple(samplers)
    }
}

/// An API seed (i64) as llama.cpp's u32, never the value that means "random".
fn fold_seed(seed: i64) -> u32 {
    let bits = seed as u64;
    let folded = (bits ^ (bits >> 32)) as u32;
    if folded == RANDOM_SEED { RANDOM_SEED - 1 } else { folded }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(temperature: Option<f64>, top_p: Option<f64>, top_k: Option<u32>, seed: Option<i64>) -> ChatRequest {
        ChatRequest { temperature, top_p, top_k, seed, ..ChatRequest::default() }
    }

    #[test]
    fn defaults_are_the_apis_defaults() {
        let sampling = Sampling::from_request(&ChatRequest::default()).unwrap();
        assert_eq!(sampling, Sampling { temperature: 1.0, top_p: None, top_k: None, seed: None });
        assert!(!sampling.is_greedy());
    }

    #[test]
    fn zero_temperature_is_greedy_and_neutral_cuts_are_dropped() {
        let sampling = Sampling::from_request(&request(Some(0.0), Some(1.0), Some(0), Some(7))).unwrap();
        assert!(sampling.is_greedy());
        assert_eq!((sampling.top_p, sampling.top_k), (None, None));
    }

    #[test]
    fn out_of_range_values_are_invalid_requests() {
        assert!(Sampling::from_request(&request(Some(-1.0), None, None, None)).is_err());
        assert!(Sampling::from_request(&request(None, Some(0.0), None, None)).is_err());
        assert!(Sampling::from_request(&request(None, Some(1.5), None, None)).is_err());
    }

    #[test]
    fn seeds_fold_into_u32_and_never_mean_random() {
        assert_eq!(fold_seed(42), 42);
        assert_ne!(fold_seed(i64::from(u32::MAX)), RANDOM_SEED);
        assert_ne!(fold_seed(-1), RANDOM_SEED);
        assert_ne!(fold_seed(1 << 40), fold_seed(1 << 41));
    }
}
