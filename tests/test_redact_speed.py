"""The fast paths of redaction change nothing: same output as the plain rules, everywhere."""

import random
import time

from prsynth.text import redact as R

NAMES = ["password", "db.password", "x-api-key", "SECRET_TOKEN", "my_token", "token",
         "İtoken", "ſecret", "client_secret", "monkey", "ümlaut_token"]
SEPARATORS = ["=", " = ", ": ", "=>", ":=", "\n= ", "\"="]


def texts(count: int, seed: int = 1) -> list[str]:
    rnd = random.Random(seed)
    alphabet = "ab_.-= :\"'\nTokenpasswordsecretAPI_KEYapi-key9Xz8Qw7Lm6Np5İıſKü"
    out = []
    for _ in range(count):
        out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randint(5, 80))))
        value = "".join(rnd.choice("aZ09xQ!@-_.") for _ in range(rnd.randint(4, 20)))
        quote = rnd.choice(["\"", "", "'"])
        out.append(rnd.choice(["", "x = 1\n", "a.b-c"]) + rnd.choice(NAMES)
                   + rnd.choice(SEPARATORS) + quote + value + rnd.choice([quote, " x", ""]))
    return out


def test_assignment_rule_matches_a_full_regex_scan_on_random_text():
    for text in texts(3000):
        assert R._redact_assignments(text) == R.ASSIGNMENT.sub(R._replace_assignment, text), text


def test_secret_free_diff_is_redacted_in_a_fraction_of_a_full_scan():
    line = "+    lexer.stream = parse(source, name='for', values=[1, 2])  # nothing to hide here\n"
    diff = line * 20_000 + "+password = \"Xy7kq9Lm2Pz8Rt4\"\n"
    started = time.perf_counter()
    fast = R.redact(diff)
    fast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    full = R.ASSIGNMENT.sub(R._replace_assignment, diff)
    full_seconds = time.perf_counter() - started
    assert fast == full and fast.endswith("password = \"[REDACTED:password]\"\n")
    assert fast_seconds < full_seconds / 3


def test_url_password_rule_matches_a_full_regex_scan_on_random_text():
    pattern = next(rule for kind, rule, _ in R.TOKEN_RULES if kind == "url-password")
    rnd = random.Random(5)
    pieces = ["https", "git+ssh", "X", "_a", "é", "://", ":", "@", "/", " ", "\n", "user",
              "pa55:word", "'", "\"", "a.b-c", "9", "db://u:Secr3t@h", "://x:y@"]
    for _ in range(5000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 14)))
        expected = pattern.sub(lambda m: R._replace(m, "url-password"), text)
        assert R._redact_url_passwords(text, pattern) == expected, text
