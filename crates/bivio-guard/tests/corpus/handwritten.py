#!/usr/bin/env python3
"""Writes handwritten.jsonl from the list below (kept in Python so quoting stays readable):

    python3 crates/bivio-guard/tests/corpus/handwritten.py
"""
import json, os

P = []  # (text, [(kind, value), ...])
def add(text, *labels):
    P.append((text, list(labels)))

# --- realistic positives, English and Italian
add("Hi, I'm Giulia Bianchi, you can email me at giulia.bianchi@studio-bianchi.it or call +39 347 555 0192.",
    ("email", "giulia.bianchi@studio-bianchi.it"), ("phone", "+39 347 555 0192"))
add("Buongiorno, allego la fattura. IBAN: IT60 X054 2811 1010 0000 0123 456 intestato a Rossi Mario.",
    ("iban", "IT60 X054 2811 1010 0000 0123 456"))
add("The customer paid with 4111 1111 1111 1111 and asked for a refund to GB82WEST12345698765432.",
    ("payment_card", "4111 1111 1111 1111"), ("iban", "GB82WEST12345698765432"))
add("Codice fiscale RSSMRA85T10A562S, nato a Roma il 10/12/1985.", ("codice_fiscale", "RSSMRA85T10A562S"))
add("La nostra partita IVA è 01114601006, sede legale in Milano.", ("partita_iva", "01114601006"))
add("Fornitore: Alfa S.p.A. - P.IVA IT00743110157 - tel. 02 8901 2345",
    ("partita_iva", "IT00743110157"), ("phone", "02 8901 2345"))
add("Employee record: John Doe, SSN 536-90-4399, hired 2019-04-01.", ("us_ssn", "536-90-4399"))
add("Our office line is (415) 555-0132; after hours use +1 650 253 0000.",
    ("phone", "(415) 555-0132"), ("phone", "+1 650 253 0000"))
add("Failed login for admin from 203.0.113.77 and 2001:db8:85a3::8a2e:370:7334.",
    ("ip_address", "203.0.113.77"), ("ip_address", "2001:db8:85a3::8a2e:370:7334"))
add("The database is at 10.20.30.40:5432, replica at 10.20.30.41.",
    ("ip_address", "10.20.30.40"), ("ip_address", "10.20.30.41"))
add("Please send the contract to legal@acme-holdings.com and cc marco.verdi+contracts@gmail.com",
    ("email", "legal@acme-holdings.com"), ("email", "marco.verdi+contracts@gmail.com"))
add("Mastercard 5555-5555-5555-4444 scadenza 03/28, Amex 3782 822463 10005.",
    ("payment_card", "5555-5555-5555-4444"), ("payment_card", "3782 822463 10005"))
add("Deutsche Kontonummer: DE89 3704 0044 0532 0130 00", ("iban", "DE89 3704 0044 0532 0130 00"))
add("Il cellulare del referente è 3331234567, il fisso 06 4567 8901.",
    ("phone", "3331234567"), ("phone", "06 4567 8901"))
add("Chiamare lo 0039 02 1234 5678 per il centralino.", ("phone", "0039 02 1234 5678"))
add("config.py:\nOPENAI_API_KEY = \"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6nOp9qRs2tUv5wXy8z\"\n",
    ("secret_openai", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7dEf0hIj3kLm6nOp9qRs2tUv5wXy8z"))
add("export ANTHROPIC_API_KEY=sk-ant-api03-x9Yz8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf9Ed8Cb7Aa6Zz5Yy4Xx3Ww2Vv1Uu0TtSsRr-AbCdEfGhAA",
    ("secret_anthropic", "sk-ant-api03-x9Yz8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf9Ed8Cb7Aa6Zz5Yy4Xx3Ww2Vv1Uu0TtSsRr-AbCdEfGhAA"))
add("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    ("secret_aws", "AKIAIOSFODNN7EXAMPLE"), ("secret_aws", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
add("I pushed with ghp_16C7e42F292c6912E7710c838347Ae178B4a by mistake, please rotate it.",
    ("secret_github", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"))
add("SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ("secret_slack", "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"))
add("Webhook: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    ("secret_slack", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"))
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq9mYx3Lq0example0Zp1Wq\nq0Lr5T1d9Xy2ExampleBase64Body+/AbCdEf==\n-----END RSA PRIVATE KEY-----"
add("Here is the deploy key, don't share it:\n" + KEY + "\nThanks!", ("private_key", KEY))
KEY2 = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----"
add(KEY2, ("private_key", KEY2))
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
add("curl -H 'Authorization: Bearer " + JWT + "' https://api.internal/v1/me", ("jwt", JWT))
add('{"db": {"host": "db.internal", "password": "q8Zr2LmX9vTw4KpN7sYb"}}', ("high_entropy_secret", "q8Zr2LmX9vTw4KpN7sYb"))
add("stripe_secret_key: rk_live_51HxQk2LmNoPqRsTuVwXyZaBcDeFg", ("high_entropy_secret", "rk_live_51HxQk2LmNoPqRsTuVwXyZaBcDeFg"))
add("Acme Corp wants the Q3 numbers before the board meeting; Globex is not to know.",
    ("custom:clients", "Acme Corp"), ("custom:clients", "Globex"))
add("Il progetto PRJ-4821 per ACME CORP parte lunedì.", ("custom:project_codes", "PRJ-4821"), ("custom:clients", "ACME CORP"))
add("Patient: Anna Ferrari (CF FRRNNA90A41H501N), tel 328 765 4321, anna.ferrari@libero.it",
    ("codice_fiscale", "FRRNNA90A41H501N"), ("phone", "328 765 4321"), ("email", "anna.ferrari@libero.it"))
add("Card on file: 6011 0009 9013 9424. Billing e-mail: billing@shop.example.com",
    ("payment_card", "6011 0009 9013 9424"), ("email", "billing@shop.example.com"))
add("Spedire a: Luca Russo, Via Roma 12, 20121 Milano. Cell. +39 320 1112233",
    ("phone", "+39 320 1112233"))
add("The UK number is +44 20 7946 0958 and the Paris office +33 1 42 68 53 00.",
    ("phone", "+44 20 7946 0958"), ("phone", "+33 1 42 68 53 00"))
add("Tool result: {\"customer\": {\"email\": \"sarah.brown@outlook.com\", \"iban\": \"NL91ABNA0417164300\"}}",
    ("email", "sarah.brown@outlook.com"), ("iban", "NL91ABNA0417164300"))

# --- tricky negatives
for t in [
    "Release v2.14.3 fixes the crash; upgrade from 2.13.0 or 1.9.12.",
    "Build 20240315.4 finished at 2024-03-15T14:30:00Z in 1734 ms.",
    "request_id=550e8400-e29b-41d4-a716-446655440000 trace=4bf92f3577b34da6a3ce929d0e0e4736",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (HEAD -> main)",
    "Order #3471234567 has shipped; ORD-2024-118392 is still pending.",
    "Unix time 1700000000 corresponds to 14 November 2023.",
    "@Override\npublic void run() { log.info(\"started\"); }",
    "import type { Request } from '@types/express';",
    "npm install lodash@4.17.21 react@18.2.0 --save",
    ".logo { background: url(images/logo@2x.png); }",
    "ssh root@localhost -p 2222",
    "std::vector<int> v; use std::io::Write; Foo::Bar::baz();",
    "The NIC has MAC 00:1A:2B:3C:4D:5E and the job ran at 14:30:00.",
    "Totale fattura: 1.250.000,00 euro, IVA 22% inclusa.",
    "ISBN 978-3-16-148410-0, pagine 344.",
    "tokenizer: meta-llama/Llama-3.1-8B-Instruct",
    "password = os.environ['DB_PASSWORD']",
    "api_key: ${OPENAI_API_KEY}",
    "token = \"<your-token-here>\"",
    "secret_key = \"changeme-changeme-changeme\"",
    "max_tokens: 4096, temperature: 0.7, top_p: 0.95",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "checksum = 'd41d8cd98f00b204e9800998ecf8427e'",
    "sk-learn is not a package name; pip install scikit-learn",
    "Windows versione 10.0.19041.1 installata il 15/03/2024.",
    "Coordinates 45.4642, 9.1900 (Milano).",
    "Fattura n. 2024/000123 del 15/03/2024, scadenza 30 gg.",
    "Part number 123-45-6789 is the placeholder used in every form example.",
    "Card number 4111 1111 1111 1112 was rejected (bad check digit).",
    "P.IVA 01114601007 non valida: controllare la cifra di controllo.",
    "IBAN IT61X0542811101000000123456 has a wrong check digit.",
    "CF RSSMRA85T10A562T: carattere di controllo errato.",
    "SSN 000-12-3456 and 666-45-1234 are never issued.",
    "The loop runs from 0 to 1000000 in steps of 25000.",
    "Listen on 0.0.0.0:8080 and 127.0.0.1:9090, or [::1]:3000.",
    "Python 3.11.7, numpy 1.26.4, torch 2.3.0+cu121",
    "ETA 2024-03-15 14:30:00.123 +0100",
    "Ticket ID 0012345678 assigned to the support queue.",
    "Room 301, floor 3, building B; extension 4521.",
    "The model scored 87.5 on MMLU and 1520 on the arena.",
    "git@ in a regex: /^[\\w.]+@[\\w.]+$/",
    "UUID 123e4567-e89b-12d3-a456-426614174000 is the tenant id.",
    "let key = map.get(&id)?; let token = lexer.next_token()?;",
    "eyJ is how every base64 JSON object starts.",
    "AKIA is the prefix of AWS access keys.",
    "Il contratto 12345678901 è stato firmato.",
    "Prezzo: € 3.471.234,56 IVA esclusa",
    "Call 1-800-FLOWERS for delivery.",
    "timestamp_ms=1715612345678 seq=987654321",
    "The function returns 0x7fffffff on overflow.",
    "Matrix dims 1024x768x3, batch 64.",
    "Per la pratica 2023-0412-7788 rivolgersi all'ufficio.",
    "Version string: 4.2.0-rc.1+build.5678",
    "Numero REA MI-1234567, capitale sociale 10.000 euro.",
    # From real code (a scan of 29 MB of popular crates' sources):
    "static LARGE_POWERS: [u32; 4] = [3999983367, 3982226758, 3964523248, 3423482104];",
    "assert_eq!(t.format(\"%S%.9f\"), \"07.098765432\"); let n = 00.123456780;",
    "impl Add for Sample { fn add(self, o: Self) -> Self { Add::add(self.0, o.0) } } // 12::34 de::",
    "let year = \"+262142-12-31\"; parse(\"+12345-03-04\"); ts = \"+1441497364.649\";",
    "suite: TLS13_CHACHA20_POLY1305_SHA256_INTERNAL, key: TLS13_AES_256_GCM_SHA384_INTERNAL",
    "const VALUES: [u64; 3] = [6558939822118891088, 6477823708780339765, 4856042377419278489];",
    "Ora: 14:30:05, durata 00:01:30, offset +01:00",
]:
    add(t)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "handwritten.jsonl")
with open(out, "w") as f:
    for text, labels in P:
        f.write(json.dumps({"text": text, "labels": [{"kind": k, "value": v} for k, v in labels]}, ensure_ascii=False) + "\n")
print(f"{len(P)} lines -> {out}")
