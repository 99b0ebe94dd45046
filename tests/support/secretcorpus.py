"""A planted corpus for measuring secret redaction: secrets of many kinds, written the
ways people write them (code, config, prose), and ordinary text that must stay.

Values are drawn from a seeded generator, so every run measures the same corpus and no
real credential is ever in the repository.
"""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
UPPER_DIGITS = string.ascii_uppercase + string.digits


def _value(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


def planted(seed: int = 0, copies: int = 4) -> list[tuple[str, str, str]]:
    """(kind, text, secret) triples; `secret` must not survive redaction."""
    rng = random.Random(seed)
    cases: list[tuple[str, str, str]] = []
    for _ in range(copies):
        aws_secret = _value(rng, 40, B64)
        pypi = "pypi-AgEIcHlwaS5vcmc" + _value(rng, 60, ALNUM + "-_")
        client = _value(rng, 32, ALNUM + "-_")
        password = _value(rng, 14, ALNUM + "#$%!")
        token = _value(rng, 32)
        cases += [
            ("aws-secret", f"Our AWS secret key is {aws_secret}, please rotate it.", aws_secret),
            ("aws-secret", f"aws_secret_access_key={aws_secret}", aws_secret),
            ("aws-secret", f"use the secret access key {aws_secret} for the bucket", aws_secret),
            ("pypi-token", f"TWINE_PASSWORD: {pypi}", pypi),
            ("pypi-token", f"upload with {pypi} from CI", pypi),
            ("client-secret", f'"client_secret": "{client}",', client),
            ("client-secret", f"client_secret: {client}", client),
            ("client-secret", f"The OAuth client secret is {client}.", client),
            ("password", f"the password is {password}", password),
            ("password", f"Password for the staging box: {password}", password),
            ("password", f"I set the admin password to {password} for now", password),
            ("token", f"here is my token {token} (expires Friday)", token),
            ("token", f"API key -> {token}", token),
            ("github-token", f"GH_TOKEN=ghp_{_value(rng, 36)}", "ghp_"),
            ("aws-access-key-id", f"key id AKIA{_value(rng, 16, UPPER_DIGITS)}", "AKIA"),
            ("openai-key", f"OPENAI_API_KEY=sk-proj-{_value(rng, 40)}", "sk-proj-"),
            ("slack-token", f"xoxb-{rng.randint(10**9, 10**10)}-{_value(rng, 24)}", "xoxb-"),
            ("private-key", "-----BEGIN RSA PRIVATE KEY-----\n"
             f"{_value(rng, 64, B64)}\n-----END RSA PRIVATE KEY-----", "PRIVATE KEY-----\n"),
            ("url-password", f"postgres://app:{password}@db.internal:5432/app", password),
        ]
    return cases


ORDINARY = [
    "token = get_token()",
    "self.token = token_value",
    'password = os.environ["DB_PASSWORD"]',
    "api_key: ${API_KEY}",
    'secret = "changeme"',
    "def check_password(password): return password == stored_password",
    "https://github.com/acme/app/pull/12",
    "sha 27f55bba320cde333459b649a54709e5c261b716",
    "index 83db48f..bf269f4 100644",
    "The password field is now required on the login form.",
    "Rotate the secret key every 90 days (see docs/security.md).",
    "key = cache_key(model, messages)",
    "the token is refreshed by refresh_access_token() before it expires",
    "Fixes the secret scanning docs; the key is now read from KEYRING_BACKEND.",
    "Merge pull request #1234 from pallets/fix-token-refresh",
    "password_hash = bcrypt.hashpw(password, bcrypt.gensalt())",
    "    assert resp.headers['ETag'] == 'W/\"5d41402abc4b2a76b9719d911017c592\"'",
    "Secret santa feature for the 2024 party (closes #77)",
]
