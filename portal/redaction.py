"""Masking secrets in free text (job output, log records, stored error messages, audit rows).

Two layers, because neither is enough alone:

* **Literals** — every secret value Slipway itself holds (kubeconfig tokens and client keys, database
  and Redis passwords, registry credentials, AWS keys, Terraform sensitive variables and outputs,
  minted EKS tokens). They are registered with :func:`hold` — the encrypted model field does so
  whenever it encrypts or decrypts, adapters do so for values that never reach the database — and
  masked wherever they appear, also URL-encoded, JSON-escaped or base64-encoded (at any alignment,
  as inside a base64 kubeconfig).
* **Patterns** — credentials Slipway does not know (a user's own connection string, a header echoed
  by a tool): ``Authorization: Bearer …``, ``scheme://user:pw@host``, ``password="with spaces"``,
  ``-pPW``, PEM private keys, AWS access key ids, EKS and JWT tokens.

:class:`StreamRedactor` applies both to output that arrives in pieces, so a secret split between
two writes is still masked.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from portal.safe_yaml import YAMLRefused
from portal.safe_yaml import load as load_yaml

MASK = "********"
# Shorter values are too likely to be ordinary words; generated secrets are far longer.
MIN_LITERAL = 6
# Process-wide memory of held secrets: the most recent ones win (a worker serves many jobs).
MAX_HELD = 1024

_KEY_WORDS = (r"password|passwd|pwd|secret(?:[_-]?access[_-]?key)?|token|api[_-]?key|access[_-]?key|"
              r"client-key-data|client[_-]?secret|aws_secret_access_key|aws_session_token|private[_-]?key|"
              r"credentials?|mysql_pwd|redis_password|masking[_-]?key")
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM private keys, whole (the streaming redactor also masks blocks spread over many writes).
    (re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.S),
     f"-----BEGIN \\1PRIVATE KEY-----{MASK}-----END \\1PRIVATE KEY-----"),
    # Authorization headers: the scheme stays readable, the credential goes.
    (re.compile(r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token|digest|aws4-hmac-sha256)?\s*)"
                r"[^\s\"',;]+"), rf"\1{MASK}"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\1{MASK}"),
    # URL userinfo: mysql://user:pw@host, redis://:pw@host, https://user:pw@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@\"']*:)[^\s@/\"']+(@)"), rf"\1{MASK}\2"),
    # key = "quoted value, spaces and all" / key: 'value' / "key": "value".
    (re.compile(rf"(?i)((?:{_KEY_WORDS})[\"']?\s*[:=]\s*)(\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*')"), rf"\1{MASK}"),
    # key=value unquoted (MySQL's "using password: YES" says only whether one was sent).
    (re.compile(rf"(?i)((?:{_KEY_WORDS})[\"']?\s*[:=]\s*)(?!(?:YES|NO)\))([^\s\"',;]+)"), rf"\1{MASK}"),
    # Command lines: --password PW / --password=PW, and the MySQL client's glued -pPW.
    (re.compile(r"(?i)(--(?:password|pass|passwd|token|secret)(?:=|\s+))(\"[^\"]*\"|'[^']*'|\S+)"), rf"\1{MASK}"),
    (re.compile(r"(?:(?<=\s)|^)(-p)(\"[^\"]*\"|'[^']*'|[^\s\"'-]\S*)"), rf"\1{MASK}"),
    # Bare tokens with a recognisable shape.
    (re.compile(r"\bk8s-aws-v1\.[A-Za-z0-9_-]+"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), MASK),
]
# A JSON key whose value is a credential (audit details); "credentials": "set" stays readable.
_SECRET_KEY = re.compile(r"(?i)password|passwd|secret|token|api[_-]?key|private[_-]?key|client-key-data"
                         r"|access[_-]?key$")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")


def _base64_forms(value: bytes) -> set[str]:
    """The base64 text that ``value`` becomes inside any longer base64 string, at each of the three
    alignments (the characters that depend on neighbouring bytes are left out), standard and URL-safe."""
    forms = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value).decode()
        head = (4 * shift + 2) // 3  # characters touched by the padding bytes
        tail = len(encoded) - encoded.count("=") - (1 if (shift + len(value)) % 3 else 0)
        core = encoded[head:tail]
        if len(core) >= MIN_LITERAL + 2:
            forms.update({core, core.replace("+", "-").replace("/", "_")})
    return forms


def literal_forms(secret: str) -> set[str]:
    """Every spelling of ``secret`` worth masking: as is, URL-encoded, JSON-escaped, base64 (any
    alignment), and each line of a multi-line secret (a PEM key printed line by line)."""
    if len(secret) < MIN_LITERAL:
        return set()
    escaped = json.dumps(secret)[1:-1]
    forms = {secret, quote(secret, safe=""), quote_plus(secret), escaped, escaped.replace("/", "\\/")}
    forms |= _base64_forms(secret.encode())
    if "\n" in secret:
        # PEM armour lines are not secret, and masking them would hide the block from the PEM pattern.
        forms |= {line.strip() for line in secret.splitlines()
                  if len(line.strip()) >= 16 and not line.strip().startswith("-----")}
    return {f for f in forms if len(f) >= MIN_LITERAL}


class Redactor:
    """Masks the given literal secrets (in every spelling of :func:`literal_forms`) and the patterns."""

    def __init__(self, literals: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in literals:
            if secret:
                forms |= literal_forms(str(secret))
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(forms, key=len, reverse=True)
        self.longest = len(ordered[0]) if ordered else 0
        self._literals = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if self._literals is not None:
            text = self._literals.sub(MASK, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class _HeldSecrets:
    """The secrets this process holds, most recent last, and a Redactor rebuilt when they change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: OrderedDict[str, None] = OrderedDict()
        self._redactor: Redactor | None = Redactor()
        # Raw stored secrets already taken apart (a kubeconfig is parsed once, not on every decrypt).
        self._parts: OrderedDict[str, frozenset[str]] = OrderedDict()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            changed = False
            for value in values:
                if len(value) < MIN_LITERAL:
                    continue
                changed |= value not in self._values
                self._values[value] = None
                self._values.move_to_end(value)
            while len(self._values) > MAX_HELD:
                self._values.popitem(last=False)
            if changed:
                self._redactor = None  # rebuilt on next use: loading a list of N secrets compiles once

    def redactor(self) -> Redactor:
        redactor = self._redactor
        if redactor is None:
            with self._lock:
                redactor = self._redactor = self._redactor or Redactor(self._values)
        return redactor

    def parts_of(self, raw: str) -> frozenset[str]:
        """``secret_parts(raw)``, remembered (a kubeconfig is parsed once, not on every decrypt)."""
        with self._lock:
            parts = self._parts.get(raw)
            if parts is not None:
                self._parts.move_to_end(raw)
                return parts
        parts = frozenset(secret_parts(raw))
        with self._lock:
            self._parts[raw] = parts
            while len(self._parts) > MAX_HELD:
                self._parts.popitem(last=False)
        return parts

    def values(self) -> list[str]:
        with self._lock:
            return list(self._values)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._parts.clear()
            self._redactor = Redactor()


_held = _HeldSecrets()


def secret_parts(value: Any) -> set[str]:
    """The secret values inside a stored secret: a kubeconfig's credentials (and the decoded client
    key), the values of a JSON object of credentials, or the value itself."""
    text = str(value or "")
    parts = {text} if "\n" not in text.strip() else set()
    data: Any = None
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
    elif "users:" in text or "clusters:" in text:
        try:  # the bounded loader: a held kubeconfig is user input too
            data = load_yaml(text, what="kubeconfig")
        except YAMLRefused:
            data = None
    if isinstance(data, dict):
        parts |= _credential_values(data)
    elif not parts:
        parts = {text}
    return parts


def _credential_values(data: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    users = data.get("users") if isinstance(data.get("users"), list) else None
    if users is None:  # a flat JSON object of credentials (registry, backing service passwords)
        return {str(v) for v in data.values() if isinstance(v, str | int) and not isinstance(v, bool)}
    for entry in users:
        user = (entry or {}).get("user") if isinstance(entry, dict) else None
        if not isinstance(user, dict):
            continue
        for key in ("token", "password", "client-key-data"):
            if isinstance(user.get(key), str):
                found.add(user[key])
        if isinstance(user.get("client-key-data"), str):
            try:
                found.add(base64.b64decode(user["client-key-data"]).decode())
            except ValueError:
                pass
        for env in ((user.get("exec") or {}).get("env") or []) if isinstance(user.get("exec"), dict) else []:
            if isinstance(env, dict) and isinstance(env.get("value"), str):
                found.add(env["value"])
    return found


def hold(*values: Any) -> None:
    """Remember secret values (and the credentials inside kubeconfigs / JSON credential objects) so
    every later redaction in this process masks them. Cheap for values already held."""
    parts: set[str] = set()
    for value in values:
        if value:
            parts |= _held.parts_of(str(value))
    if parts:
        _held.add(parts)


def held() -> list[str]:
    return _held.values()


def forget_held() -> None:
    """Forget every held secret. For tests: one test's secrets (the stack's password ``slipway``)
    must not mask the words another test asserts on."""
    _held.clear()


def redact(text: str, *, literals: Iterable[str] = ()) -> str:
    """Mask every held secret, the given ``literals`` and credential-looking values in ``text``."""
    text = _held.redactor()(str(text))
    extra = list(literals)
    return Redactor(extra)(text) if extra else text


def redact_value(value: Any) -> Any:
    """``redact`` applied to every string inside a JSON-like value (audit details)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: MASK if _SECRET_KEY.search(str(k)) and isinstance(v, str) and v else redact_value(v)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


class StreamRedactor:
    """Redacts output that arrives in pieces (pipe reads, partial lines).

    Text is released line by line; an unfinished line is held back until its end arrives (or, when
    a line grows past ``max_pending`` characters, all but a tail long enough to hold the start of a
    secret), so a secret split across two writes is masked. A PEM private key is masked from its
    BEGIN line to its END line even when they arrive in separate writes.
    """

    def __init__(self, *, literals: Iterable[str] = (), max_pending: int = 64 * 1024) -> None:
        self.literals = list(literals)
        self.max_pending = max_pending
        self._pending = ""
        self._in_pem = False

    def feed(self, chunk: str) -> str:
        """Redacted complete lines of what has arrived so far (possibly empty)."""
        self._pending += chunk
        if "\n" in self._pending:
            done, self._pending = self._pending.rsplit("\n", 1)
            return "\n".join(self._line(line) for line in done.split("\n")) + "\n"
        if len(self._pending) > self.max_pending:
            keep = max(_held.redactor().longest, 256)
            head, self._pending = self._pending[:-keep], self._pending[-keep:]
            return self._line(head)
        return ""

    def close(self) -> str:
        """The redacted remainder (an unfinished last line)."""
        rest, self._pending = self._pending, ""
        return self._line(rest) if rest else ""

    def _line(self, line: str) -> str:
        if self._in_pem:
            if _PEM_END.search(line):
                self._in_pem = False
                return redact(line[_PEM_END.search(line).end():], literals=self.literals)
            return MASK
        begin = _PEM_BEGIN.search(line)
        if begin and not _PEM_END.search(line, begin.end()):
            self._in_pem = True
            return redact(line[:begin.end()], literals=self.literals) + MASK
        return redact(line, literals=self.literals)


def _redacted_record_factory(factory):
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _redact_record(record)
        return record

    make.redacting = True  # type: ignore[attr-defined]
    return make


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is logging's to report, not ours
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        # Formatters print exc_text when set: the traceback's exception messages are redacted too.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


def install_record_redaction() -> None:
    """Redact every log record when it is created, so no handler (console, Sentry, pytest's caplog)
    ever sees a secret. Idempotent."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacted_record_factory(current))


class RedactSecretsFilter(logging.Filter):
    """A handler filter for records made before :func:`install_record_redaction` (kept for LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True
