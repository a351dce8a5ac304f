"""Red-team findings on the web app, each fixed and kept fixed.

* Markdown in a question, a model's answer or draft, or a document cannot load or link anything: reference
  images and links, nested brackets, autolinks, protocol-relative and bare addresses all render as text.
* Every HTTP response carries the security headers (CSP, X-Frame-Options, nosniff, no Referer).
* The app refuses to listen on a non-loopback address without a users file (no sign-in).
* A chat history too long (messages or characters) is refused on the server with a message in the chat.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from app_process import PROJECT_ROOT, AppServer, app_environment, free_port, serve
from markdown_it import MarkdownIt

from assistant.types import Answer, Citation
from assistant.web import presentation

# --- 1. Markdown cannot load or link anything -------------------------------------------------------------------

HOSTILE_MARKDOWN = {
    "reference image": "See ![a][r] here.\n\n[r]: //evil.example/x.png",
    "reference image, full url": "![a][r]\n\n[r]: https://evil.example/x.png",
    "collapsed reference image": "![r][]\n\n[r]: //evil.example/x.png",
    "shortcut reference image": "![r]\n\n[r]: //evil.example/x.png",
    "reference link": "Read [the text][ref] now.\n\n[ref]: https://evil.example/",
    "shortcut reference link": "Read [ref] now.\n\n[ref]: https://evil.example/",
    "definition with title": '[ref]: //evil.example/x.png "title"\n\n![ref]',
    "nested brackets image": "![logo [x] y](//evil.example/t.png)",
    "nested brackets link": "[a [b] c](https://evil.example/)",
    "image inside link": "[![img](//evil.example/i.png)](https://evil.example/)",
    "angle destination": "![a](<//evil.example/x.png>)",
    "autolink": "<https://evil.example/>",
    "autolink email": "<mailto:a@evil.example>",
    "protocol-relative inline": "[x](//evil.example/)",
    "bare https": "Go to https://evil.example/path now.",
    "bare www": "Go to www.evil.example now.",
    "bare email": "Write to someone@evil.example now.",
    "html image": '<img src="//evil.example/x.png">',
    "escaped brackets": r"\![a](//evil.example/x.png) and !\[a](//evil.example/y.png)",
    "entity brackets": "&#33;&#91;a&#93;(//evil.example/x.png)",
    "marker-like reference": "[1]: //evil.example/x.png\n\n![1]",
    "citation marker as image": "![1](//evil.example/x.png)",
}

#: What GitHub-flavoured Markdown (and gradio's chat renderer) turns into a link without any brackets.
BARE_ADDRESS = re.compile(r"(?i)(?:\b(?:https?|ftp)://|\bwww\.|[\w.+-]+@[\w-]+\.[\w.-]*\w)")

#: The renderer the tests use: CommonMark with GFM tables and strikethrough, and HTML passed through (the chat
#: is shown with sanitize_html=False). Bare addresses (GFM's autolink literals) are checked in the source.
RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


class _Tags(HTMLParser):
    """Every start tag, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags


def assert_nothing_live(markdown: str, where: str) -> None:
    """Rendered as the chat renders it: no image, no link but the app's own ``#source-n`` ones, nothing that
    loads, and no bare address a GFM renderer would link."""
    rendered = RENDERER.render(markdown)
    for tag, attrs in tags(rendered):
        assert tag not in ("img", "script", "iframe", "object", "embed", "video", "audio", "source"), (
            f"{where}: <{tag}> rendered\n{rendered}"
        )
        assert "src" not in attrs and "srcset" not in attrs, f"{where}: <{tag} src> rendered\n{rendered}"
        if tag == "a" or "href" in attrs:
            assert tag == "a" and re.fullmatch(r"#source-\d+", attrs.get("href") or ""), (
                f"{where}: a live link {attrs} rendered\n{rendered}"
            )
            assert attrs.get("class") == "cmo-cite", f"{where}: a link not the app's own\n{rendered}"
    assert not BARE_ADDRESS.search(markdown), f"{where}: a bare address a GFM renderer links\n{markdown}"


def _citation(passage: str) -> Citation:
    return Citation(
        1, "policies/p.md", "Title", "corpus/policies/p.md", "Policy", passage, ((0, 5),), 0.7, "policy"
    )


def _answer(text: str, answered: bool = True) -> Answer:
    citations = (_citation(text),) if answered else ()
    return Answer("q", text, answered, citations, {"retrieve": 1.0, "generate": 2.0, "total": 3.0})


VIEWS: dict[str, Callable[[str], str]] = {
    "user question": presentation.user_markdown,
    "model draft": presentation.draft_markdown,
    "error": presentation.error_markdown,
    "answer": lambda text: presentation.answer_markdown(_answer(f"{text} [1]")),
    "refusal": lambda text: presentation.answer_markdown(_answer(text, answered=False)),
    "source card": lambda text: presentation.sources_html(_answer(text)),
    "document view": lambda text: presentation.document_html(text, text),
}


@pytest.mark.parametrize("view", list(VIEWS))
@pytest.mark.parametrize("case", list(HOSTILE_MARKDOWN))
def test_markdown_in_any_shown_text_renders_inert(case: str, view: str) -> None:
    text = HOSTILE_MARKDOWN[case]
    assert_nothing_live(VIEWS[view](text), f"{case} in the {view}")


@pytest.mark.parametrize("case", list(HOSTILE_MARKDOWN))
def test_inert_text_still_reads_as_written(case: str) -> None:
    """What the text said is shown (as text): the sanitiser uses character references, nothing is dropped."""
    text = HOSTILE_MARKDOWN[case]
    rendered = RENDERER.render(presentation.user_markdown(text))
    shown = re.sub(r"<[^>]+>", "", rendered)
    for word in re.findall(r"evil|example|x\.png|ref|logo", text):
        assert word in shown, f"{case}: {word!r} is no longer shown\n{rendered}"


def test_the_apps_own_citation_links_still_work() -> None:
    chat = presentation.answer_markdown(
        _answer("First [1]. See ![a][r] and [1] again.\n\n[r]: //evil.example/x.png")
    )
    links = [attrs for tag, attrs in tags(RENDERER.render(chat)) if tag == "a"]
    assert [a["href"] for a in links] == ["#source-1", "#source-1"]
    assert all(a["class"] == "cmo-cite" and a["data-marker"] == "1" for a in links)


# --- 2. Security headers ----------------------------------------------------------------------------------------

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CSP_DIRECTIVES = ("frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "default-src 'self'")


@pytest.fixture(scope="module")
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    yield from serve(request, tmp_path_factory, "web-hardening")


def _get(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    ["/", "/gradio_api/info", "/config", "/gradio_api/deep_link?session_hash=abc", "/no-such-page"],
    ids=["page", "api-info", "config", "refused-deep-link", "not-found"],
)
def test_every_response_carries_the_security_headers(app: AppServer, path: str) -> None:
    status, headers = _get(app.url + path)
    assert status in (200, 404), f"GET {path} answered {status}"
    for name, value in HEADERS.items():
        assert headers.get(name.lower()) == value, f"GET {path}: {name} is {headers.get(name.lower())!r}"
    csp = headers.get("content-security-policy", "")
    for directive in CSP_DIRECTIVES:
        assert directive in csp, f"GET {path}: CSP {csp!r} lacks {directive!r}"
    if path in ("/", "/gradio_api/info"):
        assert status == 200, f"GET {path} answered {status}: the app no longer serves"


@pytest.mark.slow
def test_the_app_still_answers_under_the_policy(app: AppServer) -> None:
    from gradio_client import Client

    client = Client(app.url, verbose=False, download_files=False, analytics_enabled=False)
    chat = client.predict("What does a CMO do?", [], "All documents", api_name="/ask")[0]
    assert [m["role"] for m in chat] == ["user", "assistant"]


# --- 3. No network listening without sign-in --------------------------------------------------------------------


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("host", "command"),
    [
        ("0.0.0.0", "app.py"),
        ("0.0.0.0", "serve"),
        ("::", "app.py"),
        ("192.168.1.10", "serve"),
    ],
)
def test_a_network_host_without_a_users_file_refuses_to_start(
    tmp_path: Path, host: str, command: str
) -> None:
    port = free_port()
    env = app_environment(tmp_path / "data", port)
    env["CMO_ASSISTANT_HOST"] = host
    args = (
        [str(PROJECT_ROOT / "app.py")]
        if command == "app.py"
        else ["-m", "assistant", "serve", "--host", host]
    )
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        served = _listening(port)
        process.kill()
        process.communicate()
        pytest.fail(f"`{command}` on {host} without a users file did not stop (serving: {served})")
    assert process.returncode != 0, f"exit {process.returncode}\n{out}\n{err}"
    assert "without a users file" in err and "CMO_ASSISTANT_USERS_FILE" in err, err
    assert not _listening(port)
    assert not (tmp_path / "data" / "gradio").exists() or "Running on" not in out


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"])
def test_loopback_hosts_need_no_users_file(host: str) -> None:
    from assistant.web.ui import _is_loopback

    assert _is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "example.com", ""])
def test_other_hosts_are_not_loopback(host: str) -> None:
    from assistant.web.ui import _is_loopback

    assert not _is_loopback(host)


# --- 4. History size is checked on the server -------------------------------------------------------------------


def _history(turns: int, chars_each: int) -> list[dict[str, object]]:
    """A chat history as gradio's chat sends it back: messages whose content is a list of text parts."""
    return [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": "x" * chars_each}],
        }
        for i in range(turns)
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("history", "says"),
    [(_history(52, 10), "messages"), (_history(2, 60_000), "characters")],
    ids=["too-many-turns", "too-many-characters"],
)
def test_a_history_too_long_is_refused_with_a_message(
    app: AppServer, history: list[dict[str, object]], says: str
) -> None:
    from gradio_client import Client

    client = Client(app.url, verbose=False, download_files=False, analytics_enabled=False)
    chat = client.predict("What does a CMO do?", history, "All documents", api_name="/ask")[0]
    assert [m["role"] for m in chat] == ["user", "assistant"], [m["role"] for m in chat]
    reply = str(chat[-1]["content"])
    assert "cmo-error" in reply and "too long" in reply and says in reply, reply
    assert "x" * 1000 not in str(chat), "the refused history was shown again"
    app.check_alive()


@pytest.mark.slow
def test_a_history_within_the_limits_is_answered(app: AppServer) -> None:
    from gradio_client import Client

    client = Client(app.url, verbose=False, download_files=False, analytics_enabled=False)
    history = _history(50, 100)
    chat = client.predict("What does a CMO do?", history, "All documents", api_name="/ask")[0]
    assert len(chat) == 52, len(chat)
    assert "too long" not in str(chat[-1]["content"])
