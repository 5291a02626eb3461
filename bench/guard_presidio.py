#!/usr/bin/env python3
"""Presidio side by side with bivio-guard: the same labelled corpus (crates/bivio-guard/tests/corpus/*.jsonl)
and the same 1 MiB mixed text as `cargo bench -p bivio-guard --bench guard`, through Presidio's predefined
*pattern* recognizers (no NLP model: each recognizer's `analyze(text, entities, None)`), on one core.

    python3 -m venv ~/.cache/bivio/venv && ~/.cache/bivio/venv/bin/pip install presidio-analyzer
    ~/.cache/bivio/venv/bin/python bench/guard_presidio.py

Scoring matches tests/corpus.rs: a result is a true positive when it overlaps a labelled occurrence of the
same kind. Every Presidio result counts (AnalyzerEngine's default score_threshold is 0); the table also shows
recall at score >= 0.5. Only kinds both sides detect are compared.
"""
import glob, json, logging, os, sys, time

logging.disable(logging.CRITICAL)  # tldextract logs a failed public-suffix download offline; it falls back.
os.environ.setdefault("TLDEXTRACT_CACHE", os.path.expanduser("~/.cache/bivio/tldextract"))

from presidio_analyzer.predefined_recognizers import (  # noqa: E402
    CreditCardRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer, ItFiscalCodeRecognizer,
    ItVatCodeRecognizer, PhoneRecognizer, UsSsnRecognizer)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = {  # Presidio entity -> bivio-guard kind
    "EMAIL_ADDRESS": "email", "CREDIT_CARD": "payment_card", "IBAN_CODE": "iban", "IP_ADDRESS": "ip_address",
    "US_SSN": "us_ssn", "PHONE_NUMBER": "phone", "IT_FISCAL_CODE": "codice_fiscale", "IT_VAT_CODE": "partita_iva",
}
RECOGNIZERS = [
    EmailRecognizer(), CreditCardRecognizer(), IbanRecognizer(), IpRecognizer(), UsSsnRecognizer(),
    PhoneRecognizer(supported_regions=("IT", "US", "GB", "DE", "FR")), ItFiscalCodeRecognizer(), ItVatCodeRecognizer(),
]


def analyze(text):
    results = []
    for recognizer in RECOGNIZERS:
        results.extend(recognizer.analyze(text, recognizer.supported_entities, None) or [])
    return results


def load():
    lines = []
    for path in sorted(glob.glob(os.path.join(ROOT, "crates/bivio-guard/tests/corpus/*.jsonl"))):
        with open(path) as f:
            lines.extend(json.loads(line) for line in f)
    return lines


def score(lines):
    counts = {k: {"tp": 0, "fp": 0, "fn": 0, "tp50": 0} for k in KINDS.values()}
    for line in lines:
        text = line["text"]
        expected = []
        for label in line["labels"]:
            if label["kind"] not in counts:
                continue
            start = text.find(label["value"])
            while start >= 0:
                expected.append([label["kind"], start, start + len(label["value"]), False, False])
                start = text.find(label["value"], start + 1)
        for r in analyze(text):
            kind = KINDS[r.entity_type]
            hit = next((e for e in expected if e[0] == kind and r.start < e[2] and e[1] < r.end), None)
            if hit is None:
                counts[kind]["fp"] += 1
            else:
                hit[3] = True
                hit[4] = hit[4] or r.score >= 0.5
        for kind, _, _, found, found50 in expected:
            counts[kind]["tp" if found else "fn"] += 1
            counts[kind]["tp50"] += found50
    return counts


# The same mixed text as crates/bivio-guard/benches/guard.rs.
PROSE_EN = ("The quarterly review covered revenue, churn and the new onboarding flow. Most of the growth came from the "
            "mid-market segment, where the sales cycle shortened from 45 to 31 days. We agreed to revisit pricing in "
            "March, after the 2.4 release ships, and to keep the support backlog under 120 tickets. ")
PROSE_IT = ("Il verbale della riunione riassume le decisioni prese: la migrazione del database avverrà a fine mese, il "
            "team di Milano seguirà i test di carico e la documentazione sarà aggiornata entro venerdì. Restano aperte "
            "tre questioni sulla fatturazione elettronica e sui tempi di consegna. ")
CODE = '''fn handle(req: Request) -> Result<Response, Error> {
    let user = db.find_user(req.user_id)?; // see issue #4821
    let total: f64 = req.items.iter().map(|i| i.price * i.qty as f64).sum();
    if total > 1_000.0 { return Err(Error::Limit { max: 1000, got: total as u64 }); }
    log::info!("order ok in {} ms, version 2.14.3", elapsed.as_millis());
    Ok(Response::json(&json!({"status": "ok", "total": total, "ts": "2024-03-15T14:30:00Z"})))
}
def retry(fn, attempts=3, backoff=0.5):
    for i in range(attempts):
        try: return fn()
        except TimeoutError: time.sleep(backoff * 2 ** i)
'''
JSON = ('{"id":"550e8400-e29b-41d4-a716-446655440000","model":"llama-3.1-8b","max_tokens":1024,"messages":[{"role":'
        '"user","content":"summarise the attached log"}],"temperature":0.2}\n')
LOG = "2024-03-15 14:30:00.123 INFO  worker-3 processed batch 18273 in 412 ms (queue=17, retries=0)\n"
PII = ["Please contact mario.rossi@example.com about the invoice. ",
       "Bonifico su IT60X0542811101000000123456 entro venerdì. ", "Call +39 347 555 0192 if the courier is late. ",
       "The card 4111 1111 1111 1111 was declined. ", "Server 203.0.113.77 rejected the login. ",
       "CF del cliente: RSSMRA85T10A562S. "]


def mixed_text(size):
    parts, n, i = [], 0, 0
    while n < size:
        block = PROSE_EN + CODE + PROSE_IT + JSON + LOG + LOG + PII[i % len(PII)] + PROSE_EN
        parts.append(block)
        n += len(block.encode())
        i += 1
    return "".join(parts).encode()[:size].decode(errors="ignore")


def main():
    lines = load()
    analyze("warm-up mario.rossi@example.com")  # tldextract's first call is not a scan
    counts = score(lines)
    print(f"corpus: {len(lines)} lines\n")
    print("| kind | labelled | Presidio recall | recall (score >= 0.5) | Presidio precision |")
    print("|---|---:|---:|---:|---:|")
    for kind, c in counts.items():
        labelled = c["tp"] + c["fn"]
        recall = c["tp"] / labelled if labelled else 1.0
        recall50 = c["tp50"] / labelled if labelled else 1.0
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0
        print(f"| {kind} | {labelled} | {recall:.3f} | {recall50:.3f} | {precision:.3f} |")

    corpus_bytes = sum(len(l["text"].encode()) for l in lines)
    t = time.perf_counter()
    for line in lines:
        analyze(line["text"])
    corpus_s = time.perf_counter() - t
    mixed = mixed_text(1 << 20)
    prompt = mixed_text(100 * 1024)
    t = time.perf_counter()
    analyze(mixed)
    mixed_s = time.perf_counter() - t
    runs = 5
    t = time.perf_counter()
    for _ in range(runs):
        analyze(prompt)
    prompt_s = (time.perf_counter() - t) / runs
    print(f"\ncorpus: {corpus_bytes / corpus_s / 1e6:.3f} MB/s ({corpus_s * 1e3 / len(lines):.3f} ms per line)")
    print(f"mixed 1 MiB: {mixed_s * 1e3:.0f} ms = {len(mixed.encode()) / mixed_s / 1e6:.3f} MB/s")
    print(f"prompt 100 KiB: {prompt_s * 1e3:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
