"""A small client for an OpenAI-compatible chat-completions endpoint, for drafting expansions only.

Any server that speaks `POST {base}/chat/completions` will do: llama.cpp's server, Ollama, vLLM
or a hosted API (`QA_AUTHOR_URL`, `QA_AUTHOR_MODEL`, `QA_AUTHOR_KEY`). Requests have explicit
timeouts; HTTP 429 and 5xx are retried a bounded number of times, waiting as `Retry-After`
says or backing off exponentially. The API key is sent as a Bearer token and never appears in
a message (it is blanked out of any response text that is quoted).

Two kinds of failure: `EndpointError` when the endpoint cannot be used at all (not configured,
unreachable, key refused, still rate-limited after the retries), which stops the run; and
`ReplyRejected` when one request got no usable reply (timed out, refused), which skips one
pledge. This module never runs when a question is answered.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import SecretStr

from qa.errors import QAError

RETRIED = frozenset({429, 500, 502, 503, 504})
SNIPPET = 160  # characters of a response body quoted in an error


class EndpointError(QAError):
    """The endpoint cannot be used: nothing more is asked of it in this run."""


class ReplyRejected(QAError):
    """One request got no usable reply; the caller skips that item and goes on."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to ask. `url` is the base URL as configured (…/v1)."""

    url: str
    model: str
    key: SecretStr | None = None
    timeout: float = 60.0  # seconds for one reply
    retries: int = 4  # further tries after a 429 or 5xx
    backoff: float = 1.0  # first wait without Retry-After; doubles each try
    max_wait: float = 60.0  # longest single wait; a longer Retry-After gives up at once

    @property
    def completions(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"


def endpoint_from(settings, *, timeout: float, retries: int) -> Endpoint:
    """The endpoint the settings name; `EndpointError` naming the variable that is missing."""
    if not settings.author_url:
        raise EndpointError(
            "QA_AUTHOR_URL is not set: give the base URL of an OpenAI-compatible chat-completions API "
            "(e.g. http://127.0.0.1:8080/v1 for llama.cpp or http://127.0.0.1:11434/v1 for Ollama)"
        )
    if not settings.author_model:
        raise EndpointError("QA_AUTHOR_MODEL is not set: name the model to ask for at QA_AUTHOR_URL")
    return Endpoint(settings.author_url, settings.author_model, settings.author_key, timeout, max(0, retries))


@dataclass(frozen=True)
class Reply:
    """The first choice of a chat completion."""

    content: str
    finish_reason: str | None
    refusal: str | None  # OpenAI's `message.refusal`, when the server sends one


class ChatClient:
    """Sends chat completions to one endpoint; use as a context manager (it holds a connection pool)."""

    def __init__(self, endpoint: Endpoint, *, say: Callable[[str], None] = lambda _: None, sleep=time.sleep):
        import httpx  # only the authoring tool needs it; nothing on the answering path imports this module

        self._httpx = httpx
        self.endpoint = endpoint
        self._say, self._sleep = say, sleep
        headers = {"Accept": "application/json"}
        if endpoint.key is not None and endpoint.key.get_secret_value():
            headers["Authorization"] = f"Bearer {endpoint.key.get_secret_value()}"
        connect = min(10.0, endpoint.timeout)
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(endpoint.timeout, connect=connect))

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc) -> None:
        self._http.close()

    def complete(self, messages: list[dict], *, temperature: float = 0.7) -> Reply:
        """One chat completion asking for a JSON object; retried on 429 and 5xx, bounded."""
        e = self.endpoint
        body = {
            "model": e.model,
            "messages": messages,
            "temperature": temperature,
            "response_format": {"type": "json_object"},
        }
        for attempt in range(e.retries + 1):
            response = self._post(body)
            if response.status_code not in RETRIED:
                return self._reply(response)
            what = "rate limited (HTTP 429)" if response.status_code == 429 else f"HTTP {response.status_code}"
            if attempt == e.retries:
                raise EndpointError(f"{e.completions}: {what} on all {e.retries + 1} tries; giving up, try again later")
            asked = retry_after(response.headers.get("Retry-After"))
            wait = asked if asked is not None else e.backoff * 2**attempt
            if wait > e.max_wait:
                raise EndpointError(f"{e.completions}: {what}, and it asks to wait {wait:.0f} s; try again later")
            self._say(f"{what}; waiting {wait:g} s before try {attempt + 2} of {e.retries + 1}")
            self._sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _post(self, body: dict):
        httpx, e = self._httpx, self.endpoint
        try:
            return self._http.post(e.completions, json=body)
        except httpx.TimeoutException:
            raise ReplyRejected(f"no reply within {e.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise EndpointError(f"cannot reach QA_AUTHOR_URL {e.url}: {exc or type(exc).__name__}") from None

    def _reply(self, response) -> Reply:
        e, code = self.endpoint, response.status_code
        if code in (401, 403):
            raise EndpointError(f"{e.completions} refused the API key (HTTP {code}): check QA_AUTHOR_KEY")
        if code == 404:
            raise EndpointError(
                f"{e.completions}: HTTP 404 (check QA_AUTHOR_URL, the base URL such as …/v1, "
                f"and QA_AUTHOR_MODEL {e.model!r}): {self._snippet(response.text)}"
            )
        if code >= 400:
            raise EndpointError(f"{e.completions}: HTTP {code}: {self._snippet(response.text)}")
        try:
            choice = response.json()["choices"][0]
            message = choice["message"]
            content, refusal = message.get("content"), message.get("refusal")
            finish = choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError):
            snippet = self._snippet(response.text)
            raise EndpointError(
                f"{e.completions} did not answer as an OpenAI-compatible chat completion: {snippet}"
            ) from None
        return Reply(content if isinstance(content, str) else "", finish, refusal if isinstance(refusal, str) else None)

    def _snippet(self, text: str) -> str:
        key = self.endpoint.key.get_secret_value() if self.endpoint.key is not None else ""
        text = " ".join(text.split())
        if key:
            text = text.replace(key, "***")
        return repr(text[:SNIPPET] + ("…" if len(text) > SNIPPET else ""))


def retry_after(value: str | None) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
