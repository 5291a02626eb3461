#!/usr/bin/env python3
"""Generates tests/corpus/generated.jsonl: checksum-valid values (and near misses that fail their checksum)
inside English and Italian sentences. Deterministic (fixed seed); rerun after changing it:

    python3 crates/bivio-guard/tests/corpus/generate.py

Each line: {"text": ..., "labels": [{"kind": ..., "value": ...}]}; a label marks every occurrence of value.
"""
import base64, json, os, random, string

rng = random.Random(20261204)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generated.jsonl")
lines = []


def emit(template, kind=None, value=None):
    text = template.replace("{v}", value) if value is not None else template
    labels = [{"kind": kind, "value": value}] if kind else []
    lines.append({"text": text, "labels": labels})


def digits(n):
    return "".join(rng.choice(string.digits) for _ in range(n))


def alnum(n, chars=string.ascii_letters + string.digits):
    return "".join(rng.choice(chars) for _ in range(n))


# ---------------------------------------------------------------- IBAN
IBAN_BBAN = {  # country: (length, bban builder)
    "IT": (27, lambda: rng.choice(string.ascii_uppercase) + digits(10) + digits(12)),
    "DE": (22, lambda: digits(18)),
    "FR": (27, lambda: digits(10) + alnum(11, string.ascii_uppercase + string.digits) + digits(2)),
    "GB": (22, lambda: "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + digits(14)),
    "ES": (24, lambda: digits(20)),
    "NL": (18, lambda: "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + digits(10)),
    "BE": (16, lambda: digits(12)),
    "CH": (21, lambda: digits(17)),
    "AT": (20, lambda: digits(16)),
    "PT": (25, lambda: digits(21)),
}


def mod97(s):
    return int("".join(str(int(c, 36)) for c in s)) % 97


def iban(cc, wrong=False):
    bban = IBAN_BBAN[cc][1]()
    check = 98 - mod97(bban + cc + "00")
    if wrong:
        check = (check + rng.randint(1, 90)) % 97 or 2
        if 98 - mod97(bban + cc + "00") == check:
            check = (check + 1) % 97
    return cc + f"{check:02d}" + bban


def grouped(s, size=4, sep=" "):
    return sep.join(s[i:i + size] for i in range(0, len(s), size))


IBAN_T = [
    "Please wire the deposit to IBAN {v} before Friday.",
    "Il bonifico va fatto sul conto {v} intestato alla società.",
    "Bank details: {v} (BIC UNCRITMM).",
    "Coordinate bancarie: IBAN {v}",
    "Refund issued to account {v}; allow 3 business days.",
]
for i in range(50):
    cc = rng.choice(list(IBAN_BBAN))
    v = iban(cc)
    emit(rng.choice(IBAN_T), "iban", grouped(v) if i % 2 else v)
for i in range(25):
    cc = rng.choice(list(IBAN_BBAN))
    v = iban(cc, wrong=True)
    emit(rng.choice(IBAN_T), None, grouped(v) if i % 2 else v)

# ---------------------------------------------------------------- payment cards
def luhn_digit(payload):
    total = 0
    for i, c in enumerate(reversed(payload)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


CARD_PREFIXES = [("4", 16), ("4", 13), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
                 ("6011", 16), ("65", 16), ("3530", 16), ("36", 14)]


def card(wrong=False):
    prefix, length = rng.choice(CARD_PREFIXES)
    payload = prefix + digits(length - len(prefix) - 1)
    check = luhn_digit(payload)
    if wrong:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return payload + check


def card_layout(v, i):
    if len(v) == 15 and i % 3 == 0:
        return f"{v[:4]} {v[4:10]} {v[10:]}"
    return [v, grouped(v), grouped(v, sep="-")][i % 3]


CARD_T = [
    "Charge the card {v}, expiry 09/27, CVV on file.",
    "Ho pagato con la carta {v} ma l'addebito non risulta.",
    "customer card_number: {v}",
    "The payment with {v} was declined twice.",
    "Carta di credito n. {v} scadenza 11/26.",
]
for i in range(60):
    emit(rng.choice(CARD_T), "payment_card", card_layout(card(), i))
for i in range(30):
    emit(rng.choice(CARD_T), None, card_layout(card(wrong=True), i))
ORDER_T = ["Order {v} shipped on 2024-03-15.", "Tracking number {v} — consegna prevista domani.",
           "Invoice reference {v} is overdue."]
for i in range(20):  # 16-digit references that fail Luhn
    while True:
        v = rng.choice("123456789") + digits(15)
        if luhn_digit(v[:-1]) != v[-1]:
            break
    emit(rng.choice(ORDER_T), None, v)

# ---------------------------------------------------------------- codice fiscale
ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]


def cf_check(s):
    total = 0
    for i, c in enumerate(s):
        idx = int(c) if c.isdigit() else ord(c) - 65
        total += ODD[idx] if i % 2 == 0 else idx
    return chr(65 + total % 26)


def codice_fiscale(wrong=False, omocodia=False):
    letters = "".join(rng.choice("BCDFGLMNPRSTVZ" if k % 3 else "AEIOUBCDFGLMNPRSTVZ") for k in range(6))
    day = rng.randint(1, 28) + (40 if rng.random() < 0.5 else 0)
    body = letters + digits(2) + rng.choice("ABCDEHLMPRST") + f"{day:02d}" + rng.choice("ABCDEFGHILMZ") + digits(3)
    if omocodia:
        body = list(body)
        for pos in rng.sample([14, 13, 12, 10, 9, 7, 6], rng.randint(1, 3)):
            body[pos] = "LMNPQRSTUV"[int(body[pos])]
        body = "".join(body)
    check = cf_check(body)
    if wrong:
        check = chr(65 + (ord(check) - 65 + rng.randint(1, 25)) % 26)
    return body + check


CF_T = [
    "Il codice fiscale del paziente è {v}.",
    "CF: {v} — residenza a Milano.",
    "Please update the tax code {v} in the payroll record.",
    "Intestatario: Mario Rossi, C.F. {v}",
    "The contractor's codice fiscale ({v}) is missing from the invoice.",
]
for i in range(60):
    emit(rng.choice(CF_T), "codice_fiscale", codice_fiscale(omocodia=i % 4 == 0))
for i in range(30):
    emit(rng.choice(CF_T), None, codice_fiscale(wrong=True))

# ---------------------------------------------------------------- partita IVA
def piva_digit(payload):
    total = 0
    for i, c in enumerate(payload):
        d = int(c)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def partita_iva(wrong=False):
    payload = digits(7) + f"{rng.randint(1, 100):03d}"
    check = piva_digit(payload)
    if wrong:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return payload + check


PIVA_T = [
    "Fattura intestata a Rossi S.r.l., P.IVA {v}.",
    "Partita IVA: {v}",
    "Our Italian supplier's VAT number is {v}.",
    "La ditta (p. iva {v}) ha sede a Torino.",
]
for i in range(50):
    v = partita_iva()
    emit(rng.choice(PIVA_T), "partita_iva", "IT" + v if i % 5 == 0 else v)
for i in range(30):
    emit(rng.choice(PIVA_T), None, partita_iva(wrong=True))

# ---------------------------------------------------------------- US SSN
def ssn(valid=True):
    if valid:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    bad = rng.choice(["area0", "area666", "area9", "group", "serial"])
    area = {"area0": 0, "area666": 666, "area9": rng.randint(900, 999)}.get(bad, rng.randint(1, 665))
    group = 0 if bad == "group" else rng.randint(1, 99)
    serial = 0 if bad == "serial" else rng.randint(1, 9999)
    return f"{area:03d}-{group:02d}-{serial:04d}"


SSN_T = ["Employee SSN: {v}", "Her social security number is {v}, please verify.",
         "Applicant {v} submitted the W-2 form.", "SSN on file ({v}) does not match."]
for i in range(40):
    v = ssn()
    emit(rng.choice(SSN_T), "us_ssn", v if i % 4 else v.replace("-", " "))
for i in range(25):
    emit(rng.choice(SSN_T), None, ssn(valid=False))

# ---------------------------------------------------------------- phones
def phone():
    kind = rng.choice(["it_mobile_intl", "it_mobile", "it_land", "it_land_intl", "us", "us_intl", "uk", "de", "fr"])
    m = rng.choice(["320", "324", "327", "328", "329", "330", "331", "333", "334", "335", "336", "338", "339", "340",
                    "342", "345", "346", "347", "348", "349", "350", "351", "360", "366", "368", "370", "371", "373",
                    "377", "380", "388", "389", "391", "392", "393"])
    return {
        "it_mobile_intl": lambda: f"+39 {m} {digits(3)} {digits(4)}",
        "it_mobile": lambda: rng.choice([f"{m} {digits(7)}", f"{m}-{digits(7)}", f"{m}{digits(7)}", f"{m} {digits(3)} {digits(4)}"]),
        "it_land": lambda: rng.choice([f"06 {digits(4)} {digits(4)}", f"02-{digits(8)}", f"011 {digits(7)}", f"055/{digits(6)}"]),
        "it_land_intl": lambda: f"+39 0{rng.randint(2, 9)} {digits(4)} {digits(4)}",
        "us": lambda: rng.choice([f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{digits(4)}",
                                  f"{rng.randint(201, 989)}-{rng.randint(200, 999)}-{digits(4)}"]),
        "us_intl": lambda: f"+1 {rng.randint(201, 989)}-{rng.randint(200, 999)}-{digits(4)}",
        "uk": lambda: f"+44 20 {digits(4)} {digits(4)}",
        "de": lambda: f"+49 30 {digits(8)}",
        "fr": lambda: f"+33 1 {digits(2)} {digits(2)} {digits(2)} {digits(2)}",
    }[kind]()


PHONE_T = [
    "Call me at {v} after 6pm.",
    "Il mio numero è {v}, scrivimi su WhatsApp.",
    "Tel. {v} - Fax non disponibile",
    "Customer phone: {v}",
    "Per urgenze chiamare il {v}.",
    "You can reach the front desk on {v}.",
]
for i in range(70):
    emit(rng.choice(PHONE_T), "phone", phone())

# ---------------------------------------------------------------- e-mail
FIRST = ["mario", "giulia", "john", "anna", "luca", "sarah", "marco", "elena", "tom", "chiara"]
LAST = ["rossi", "bianchi", "smith", "verdi", "doe", "ferrari", "russo", "brown", "esposito", "colombo"]
DOMAINS = ["gmail.com", "libero.it", "example-corp.com", "studio-legale.it", "mail.acme.io", "outlook.com",
           "pec.aruba.it", "university.edu", "company.co.uk"]


def email():
    f, l = rng.choice(FIRST), rng.choice(LAST)
    local = rng.choice([f"{f}.{l}", f"{f}{rng.randint(1, 99)}", f"{f[0]}{l}", f"{f}_{l}", f"{f}+billing"])
    return f"{local}@{rng.choice(DOMAINS)}"


EMAIL_T = ["Send the report to {v} by noon.", "Scrivete a {v} per informazioni.", "From: {v}",
           "contact = \"{v}\"", "Reply-To: <{v}>", "L'indirizzo PEC è {v}."]
for i in range(50):
    emit(rng.choice(EMAIL_T), "email", email())

# ---------------------------------------------------------------- IP
def ipv4():
    while True:
        a = rng.randint(1, 223)
        if a != 127:
            return f"{a}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def ipv6():
    groups = [f"{rng.randint(0, 0xffff):x}" for _ in range(8)]
    if rng.random() < 0.5:
        return "2001:db8::" + ":".join(groups[:3])
    return ":".join(groups)


IP_T = ["The login came from {v} at 03:12 UTC.", "Server address: {v}", "Connessione rifiutata da {v}.",
        "ssh deploy@{v} failed", "allow {v}/32 in the firewall"]
for i in range(40):
    v = ipv4() if i % 3 else ipv6()
    t = rng.choice(IP_T)
    if "/32" in t and ":" in v:
        t = "Server address: {v}"
    emit(t, "ip_address", v)

# ---------------------------------------------------------------- secrets
B62 = string.ascii_letters + string.digits
B64URL = B62 + "-_"


def b64url(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def secret():
    kind = rng.choice(["anthropic", "openai", "openai_proj", "aws", "aws_secret", "github", "github_pat", "slack",
                       "jwt", "entropy"])
    if kind == "anthropic":
        return "secret_anthropic", "sk-ant-api03-" + alnum(86, B64URL) + "AA", "ANTHROPIC_API_KEY={v}"
    if kind == "openai":
        return "secret_openai", "sk-" + alnum(48, B62), "openai.api_key = '{v}'"
    if kind == "openai_proj":
        return "secret_openai", "sk-proj-" + alnum(64, B64URL), "Use this key: {v} for the staging project."
    if kind == "aws":
        return "secret_aws", "AKIA" + alnum(16, string.ascii_uppercase + "234567"), "aws_access_key_id = {v}"
    if kind == "aws_secret":
        return "secret_aws", alnum(40, B62 + "+/"), "aws_secret_access_key = {v}"
    if kind == "github":
        return "secret_github", "ghp_" + alnum(36, B62), "git clone https://{v}@github.com/org/repo.git"
    if kind == "github_pat":
        return "secret_github", "github_pat_" + alnum(22, B62) + "_" + alnum(59, B62), "GITHUB_TOKEN: {v}"
    if kind == "slack":
        return "secret_slack", f"xoxb-{digits(12)}-{digits(13)}-{alnum(24, B62)}", "slack bot token {v} leaked in the log"
    if kind == "jwt":
        header = b64url({"alg": "HS256", "typ": "JWT"})
        payload = b64url({"sub": digits(8), "name": rng.choice(FIRST), "iat": 1700000000 + rng.randint(0, 10 ** 7)})
        return "jwt", f"{header}.{payload}.{alnum(43, B64URL)}", "Authorization: Bearer {v}"
    key = rng.choice(["api_key", "client_secret", "auth_token", "DB_PASSWORD", "stripeSecretKey", "access_token"])
    value = alnum(rng.choice([24, 32, 40]), B62)
    template = rng.choice([f'{key} = "{{v}}"', f'"{key}": "{{v}}",', f"{key}: {{v}}", f"export {key}={{v}}"])
    return "high_entropy_secret", value, template


for i in range(80):
    kind, value, template = secret()
    emit(template, kind, value)

with open(OUT, "w") as f:
    for line in lines:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
print(f"{len(lines)} lines -> {OUT}")
