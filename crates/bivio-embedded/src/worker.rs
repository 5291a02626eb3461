//! Slot threads: each owns one llama.cpp context and runs one generation at a time.
//!
//! Generation is CPU-bound and blocks for its whole length, so it runs on dedicated OS threads, never on
//! tokio's workers. Events go back through a bounded tokio channel: `blocking_send` gives backpressure
//! against a slow client, and a dropped receiver (client disconnect) is seen before every token, which is
//! where generation stops and the slot is freed.
//!
//! Each slot remembers which tokens its KV cache holds and reuses the longest common prefix with the next
//! prompt (a multi-turn conversation re-sends its history; the prefix need not be processed again).
//! `swa_full` contexts (llama.cpp's default) keep this correct for sliding-window models such as Gemma 3.

use std::num::NonZeroU32;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::JoinHandle;

use bivio_protocol::ir::{BlockDelta, BlockStart, StopReason, StreamEvent, Usage};
use bivio_protocol::{ApiError, ErrorKind};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use crate::slots::{Job, Outcome, SlotPool};
use crate::stop::StopMatcher;
use crate::utf8::Utf8Decoder;

/// What a slot's context is made with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotSettings {
    pub context_tokens: u32,
    pub threads: u32,
}

impl SlotSettings {
    /// Tokens per `decode` call while processing a prompt.
    fn batch(&self) -> u32 {
        self.context_tokens.min(2048)
    }

    fn context_params(&self) -> LlamaContextParams {
        let threads = i32::try_from(self.threads).unwrap_or(i32::MAX);
        LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.context_tokens))
            .with_n_batch(self.batch())
            .with_n_ubatch(self.batch().min(512))
            .with_n_seq_max(1)
            .with_n_threads(threads)
            .with_n_threads_batch(threads)
    }
}

/// Starts one slot thread. Returns once its context exists (contexts must not be created concurrently:
/// llama.cpp mutates the model while creating one), or with the reason it could not be created.
pub(crate) fn spawn_slot(
    index: usize,
    backend: &'static LlamaBackend,
    model: Arc<LlamaModel>,
    pool: Arc<SlotPool>,
    settings: SlotSettings,
) -> Result<JoinHandle<()>, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let handle = std::thread::Builder::new()
        .name(format!("bivio-llama-slot-{index}"))
        .spawn(move || {
            let context = match model.new_context(backend, settings.context_params()) {
                Ok(context) => context,
                Err(err) => {
                    let _ = ready_tx.send(Err(format!("could not create a llama.cpp context: {err}")));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let mut slot = Slot::new(&model, context, settings);
            while let Some(job) = pool.next() {
                let prompt_tokens = job.prompt.len();
                let (outcome, generated) = match std::panic::catch_unwind(AssertUnwindSafe(|| slot.run(&job))) {
                    Ok(result) => result,
                    Err(_) => {
                        // The context may be mid-update: start the next job from an empty cache.
                        slot.reset();
                        tracing::error!(slot = index, "generation panicked; the slot continues with a fresh cache");
                        (Outcome::Failed, 0)
                    }
                };
                // The counters change before the job's sender is dropped, so a client that saw its stream end
                // also sees the slot free.
                pool.finish(outcome, prompt_tokens, generated);
                drop(job);
            }
        })
        .map_err(|err| format!("could not start a slot thread: {err}"))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(message)) => Err(message),
        Err(_) => Err("the slot thread ended while creating its context".to_owned()),
    }
}

/// The client went away.
struct Gone;

/// The event side of one job.
struct Sink<'j> {
    events: &'j mpsc::Sender<StreamEvent>,
}

impl Sink<'_> {
    fn send(&self, event: StreamEvent) -> Result<(), Gone> {
        self.events.blocking_send(event).map_err(|_| Gone)
    }

    fn text(&self, text: String) -> Result<(), Gone> {
        if text.is_empty() {
            return Ok(());
        }
        self.send(StreamEvent::BlockDelta { index: 0, delta: BlockDelta::Text(text) })
    }

    fn closed(&self) -> bool {
        self.events.is_closed()
    }

    /// Ends the stream with an error event (best effort: the client may be gone too).
    fn fail(&self, message: String) {
        tracing::error!(%message, "local generation failed");
        let _ = self.send(StreamEvent::Error(ApiError::new(ErrorKind::Api, message)));
    }
}

struct Slot<'m> {
    model: &'m LlamaModel,
    context: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    batch_size: usize,
    context_tokens: usize,
    /// The tokens whose keys and values are in the context's cache, in position order.
    cached: Vec<LlamaToken>,
}

impl<'m> Slot<'m> {
    fn new(model: &'m LlamaModel, context: LlamaContext<'m>, settings: SlotSettings) -> Slot<'m> {
        let batch_size = settings.batch() as usize;
        Slot {
            model,
            context,
            batch: LlamaBatch::new(batch_size, 1),
            batch_size,
            context_tokens: settings.context_tokens as usize,
            cached: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.context.clear_kv_cache();
        self.cached.clear();
    }

    /// Runs one job to its end; returns how it ended and how many tokens it generated.
    fn run(&mut self, job: &Job) -> (Outcome, u64) {
        let sink = Sink { events: &job.events };
        let input_tokens = job.prompt.len() as u64;
        let started = sink.send(StreamEvent::MessageStart {
            id: job.id.clone(),
            model: job.model.clone(),
            usage: Usage { input_tokens, ..Usage::default() },
        });
        if started.and_then(|()| sink.send(StreamEvent::BlockStart { index: 0, block: BlockStart::Text })).is_err() {
            return (Outcome::Cancelled, 0);
        }
        // With a seed or greedy decoding, the answer must not depend on what the slot ran before (see
        // `process_prompt`): near-ties between tokens are common, and a cached prefix shifts logits slightly.
        let logits_at = match self.process_prompt(&job.prompt, job.sampling.seed.is_some() || job.sampling.is_greedy())
        {
            Ok(index) => index,
            Err(message) => {
                sink.fail(message);
                return (Outcome::Failed, 0);
            }
        };
        let mut generated = 0u64;
        let result = self.generate(job, &sink, logits_at, &mut generated);
        let (stop_reason, stop_sequence) = match result {
            Ok(stop) => stop,
            Err(Step::Gone) => return (Outcome::Cancelled, generated),
            Err(Step::Failed(message)) => {
                sink.fail(message);
                return (Outcome::Failed, generated);
            }
        };
        let usage = Usage { input_tokens, output_tokens: generated, ..Usage::default() };
        let ended = sink
            .send(StreamEvent::BlockStop { index: 0 })
            .and_then(|()| {
                sink.send(StreamEvent::MessageDelta { stop_reason: Some(stop_reason), stop_sequence, usage })
            })
            .and_then(|()| sink.send(StreamEvent::MessageStop));
        match ended {
            Ok(()) => (Outcome::Completed, generated),
            Err(Gone) => (Outcome::Cancelled, generated),
        }
    }

    /// Brings the cache to `prompt` (reusing the common prefix) and returns the batch index whose logits
    /// predict the first answer token.
    ///
    /// Logits are not bit-identical across batch sizes (ggml picks different kernels), so the same prompt
    /// processed whole or as "cached prefix + last token" gives slightly different probabilities — enough to
    /// change a *sampled* answer. With `last_alone`, the last token is always decoded on its own, which is
    /// exactly what a repeat of the request does, so a seeded request gives the same answer whether or not
    /// its prompt is cached — and so does a greedy one (argmax flips on near-ties too). Unseeded sampled
    /// requests skip the extra step (it costs one token's time).
    fn process_prompt(&mut self, prompt: &[LlamaToken], last_alone: bool) -> Result<i32, String> {
        let mut keep = self.cached.iter().zip(prompt).take_while(|(a, b)| a == b).count();
        // The last prompt token is always decoded again: its logits are needed and were not kept.
        keep = keep.min(prompt.len().saturating_sub(1));
        if keep < self.cached.len() {
            let trimmed =
                u32::try_from(keep).ok().and_then(|p0| self.context.clear_kv_cache_seq(Some(0), Some(p0), None).ok());
            if trimmed != Some(true) {
                // This cache cannot drop a tail (recurrent models): start over.
                self.context.clear_kv_cache();
                keep = 0;
            }
            self.cached.truncate(keep);
        }
        let rest = &prompt[keep..];
        let (body, last) = match rest.split_last() {
            Some((last, body)) if last_alone => (body, std::slice::from_ref(last)),
            _ => (rest, &[][..]),
        };
        let chunks = body.chunks(self.batch_size).chain(Some(last).filter(|last| !last.is_empty()));
        let count = body.len().div_ceil(self.batch_size) + usize::from(!last.is_empty());
        let mut logits_at = 0;
        for (chunk_index, chunk) in chunks.enumerate() {
            let final_chunk = chunk_index + 1 == count;
            self.batch.clear();
            for (offset, token) in chunk.iter().enumerate() {
                let position = i32::try_from(self.cached.len() + offset).map_err(|_| "prompt too long".to_owned())?;
                let wants_logits = final_chunk && offset + 1 == chunk.len();
                self.batch
                    .add(*token, position, &[0], wants_logits)
                    .map_err(|err| format!("llama.cpp batch error: {err}"))?;
            }
            if let Err(err) = self.context.decode(&mut self.batch) {
                self.reset();
                return Err(format!("llama.cpp failed to process the prompt: {err}"));
            }
            self.cached.extend_from_slice(chunk);
            logits_at = self.batch.n_tokens() - 1;
        }
        Ok(logits_at)
    }

    /// Samples until a stop reason; `generated` counts every sampled token except end-of-generation.
    fn generate(
        &mut self,
        job: &Job,
        sink: &Sink<'_>,
        mut logits_at: i32,
        generated: &mut u64,
    ) -> Result<(StopReason, Option<String>), Step> {
        let vocab = self.model.vocab();
        let mut sampler = job.sampling.chain();
        let mut utf8 = Utf8Decoder::default();
        let mut stops = StopMatcher::new(&job.stop_sequences);
        let max_tokens = u64::from(job.max_tokens);
        let mut piece = Vec::with_capacity(16);
        let reason = loop {
            if *generated >= max_tokens {
                break StopReason::MaxTokens;
            }
            if sink.closed() {
                return Err(Step::Gone);
            }
            let token = sampler.sample(&self.context, logits_at);
            if vocab.is_eog(token) {
                break StopReason::EndTurn;
            }
            *generated += 1;
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            let step = stops.push(&utf8.push(&piece));
            sink.text(step.text)?;
            if let Some(stop) = step.stopped {
                return Ok((StopReason::StopSequence, Some(stop)));
            }
            if *generated >= max_tokens {
                break StopReason::MaxTokens;
            }
            if self.cached.len() >= self.context_tokens {
                break StopReason::ModelContextWindowExceeded;
            }
            let position = i32::try_from(self.cached.len()).map_err(|_| Step::Failed("context too long".into()))?;
            self.batch.clear();
            self.batch
                .add(token, position, &[0], true)
                .map_err(|err| Step::Failed(format!("llama.cpp batch error: {err}")))?;
            if let Err(err) = self.context.decode(&mut self.batch) {
                self.reset();
                return Err(Step::Failed(format!("llama.cpp failed during generation: {err}")));
            }
            self.cached.push(token);
            logits_at = 0;
        };
        // No stop sequence matched: whatever was held back is answer text after all.
        let tail = stops.push(&utf8.finish());
        sink.text(tail.text)?;
        if let Some(stop) = tail.stopped {
            return Ok((StopReason::StopSequence, Some(stop)));
        }
        sink.text(stops.finish())?;
        Ok((reason, None))
    }
}

/// Why generation ended early.
enum Step {
    Gone,
    Failed(String),
}

impl From<Gone> for Step {
    fn from(_: Gone) -> Step {
        Step::Gone
    }
}
