"""Access to the running app (``python app.py`` with a users file): who can reach what, and which files it serves.

tests/test_ui_api.py checks that gradio_client needs a sign-in and that only an admin may upload; here: every
route without a sign-in, an ordinary user removing documents, and the file routes with paths that try to leave
the app's own folder (relative, absolute, URL-encoded, double-encoded, backslashes).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_process import PROJECT_ROOT, AppServer, serve
from gradio_client import Client, handle_file
from users_files import accounts_file

pytestmark = pytest.mark.slow

ACCOUNTS = {
    "admin": {"password": "an-admin-passphrase-for-access", "role": "admin"},
    "reader": {"password": "a-reader-passphrase-for-access", "role": "user"},
}
API = "/gradio_api"


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return accounts_file(tmp_path_factory, "access", ACCOUNTS)


@pytest.fixture(scope="module")
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, users_file: Path
) -> Iterator[AppServer]:
    yield from serve(request, tmp_path_factory, "access", users_file=users_file)


@contextmanager
def signed_in(app: AppServer, name: str) -> Iterator[httpx.Client]:
    """An HTTP session with the app's sign-in cookie, as the browser holds it."""
    with httpx.Client(base_url=app.url, timeout=30) as session:
        response = session.post("/login", data={"username": name, "password": ACCOUNTS[name]["password"]})
        assert response.status_code == 200, response.text
        yield session


def gradio_client(app: AppServer, name: str) -> Client:
    auth = (name, ACCOUNTS[name]["password"])
    return Client(app.url, auth=auth, verbose=False, download_files=False, analytics_enabled=False)


def events(
    session: httpx.Client, fn_index: int, data: list[Any], session_hash: str | None = None
) -> dict[str, Any]:
    """Run one event through the queue with raw HTTP (any function, including those gradio_client hides);
    returns the last message (process_completed, or an error)."""
    session_hash = session_hash or secrets.token_hex(8)
    joined = session.post(
        f"{API}/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None},
    )
    if joined.status_code != 200:
        return {"msg": "refused", "status": joined.status_code, "body": joined.text}
    last: dict[str, Any] = {}
    with session.stream("GET", f"{API}/queue/data", params={"session_hash": session_hash}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                last = json.loads(line[5:])
                if last.get("msg") in ("process_completed", "unexpected_error"):
                    break
    return last


def dependencies(app: AppServer) -> dict[str, int]:
    """fn_index of every event handler, by api name (private ones by their function name)."""
    with signed_in(app, "reader") as session:
        config = session.get("/config").json()
    return {str(d.get("api_name") or d["id"]): int(d["id"]) for d in config["dependencies"]}


# -- anonymous --------------------------------------------------------------------------------------------
def test_anonymous_requests_reach_no_function_and_no_page_data(app: AppServer, users_file: Path) -> None:
    handlers = dependencies(app)
    assert {"ask", "upload", "remove", "documents", "open_document"} <= set(handlers), handlers
    anonymous = httpx.Client(base_url=app.url, timeout=30)
    refused: list[str] = []
    reached: list[str] = []

    def check(label: str, response: httpx.Response) -> None:
        (refused if response.status_code in (401, 403) else reached).append(
            f"{label} -> {response.status_code}"
        )

    for path in ("/config", f"{API}/info", f"{API}/openapi.json", f"{API}/queue/status"):
        check(f"GET {path}", anonymous.get(path))
    for name in ("ask", "documents", "upload", "remove"):
        for route in ("call", "run", "api"):
            check(f"POST {route}/{name}", anonymous.post(f"{API}/{route}/{name}", json={"data": []}))
    for name, fn_index in handlers.items():
        body = {"data": [], "fn_index": fn_index, "session_hash": "anonymous", "event_data": None}
        check(f"queue/join {name}", anonymous.post(f"{API}/queue/join", json=body))
    check("GET queue/data", anonymous.get(f"{API}/queue/data", params={"session_hash": "anonymous"}))
    files = {"files": ("policy.md", b"# Policy\n\nAnyone may read this.\n", "text/markdown")}
    check("POST upload (file store)", anonymous.post(f"{API}/upload", files=files))
    for path in (str(users_file), "/etc/passwd", "pyproject.toml"):
        check(f"GET file={path}", anonymous.get(f"{API}/file={path}"))

    assert not reached, f"anonymous requests that were not refused: {reached}"
    assert len(refused) == 4 + 12 + len(handlers) + 1 + 1 + 3
    print(f"{len(refused)} anonymous requests refused")


# -- an ordinary user -------------------------------------------------------------------------------------
def test_an_ordinary_user_cannot_remove_an_uploaded_document(app: AppServer, tmp_path: Path) -> None:
    policy = tmp_path / "visitor-badges.md"
    policy.write_text("# Visitor Badges\n\nVisitors collect a day badge at the main reception.\n", "utf-8")
    doc_id = f"uploads/{policy.name}"
    added = gradio_client(app, "admin").predict([handle_file(str(policy))], api_name="/upload")
    assert "added and searchable now" in str(added[0]), added[0]
    stored = app.data_dir / doc_id

    reader = gradio_client(app, "reader")
    refused = reader.predict(doc_id, api_name="/remove")
    assert "Only an administrator can remove documents." in str(refused[0]), refused[0]
    with signed_in(app, "reader") as session:  # the same through the queue, as the browser sends it
        raw = events(session, dependencies(app)["remove"], [doc_id])
    assert "Only an administrator" in json.dumps(raw), raw
    assert stored.is_file(), "a reader's remove deleted the file"
    assert doc_id in json.dumps(reader.predict(api_name="/documents")), (
        "a reader's remove dropped it from the index"
    )

    removed = gradio_client(app, "admin").predict(doc_id, api_name="/remove")
    assert f"{doc_id} removed." in str(removed[0]), removed[0]
    assert not stored.exists()


def test_remove_only_deletes_uploads(app: AppServer, users_file: Path) -> None:
    admin = gradio_client(app, "admin")
    targets = {
        "uploads/../manifest.sqlite3": app.data_dir / "manifest.sqlite3",
        "uploads/../../users.json": users_file,
        f"uploads/{'../' * 12}{users_file}": users_file,
        str(users_file): users_file,
        f"uploads/..%2f..%2f{PROJECT_ROOT.name}/pyproject.toml": PROJECT_ROOT / "pyproject.toml",
        "uploads\\..\\manifest.sqlite3": app.data_dir / "manifest.sqlite3",
        "sources/what-does-a-cmo-do.md": PROJECT_ROOT / "corpus" / "sources" / "what-does-a-cmo-do.md",
    }
    for doc_id, path in targets.items():
        status = str(admin.predict(doc_id, api_name="/remove")[0])
        assert "only uploads can be removed" in status, f"{doc_id}: {status}"
        assert path.is_file(), f"{doc_id} deleted {path}"


# -- file routes ----------------------------------------------------------------------------------------------
def secret_paths(app: AppServer, users_file: Path) -> dict[str, bytes]:
    """Paths to try, each with bytes that would show the file was served."""
    passwd = b"root:"
    project = b"[project]"
    sqlite = b"SQLite format 3"
    users = b"password_hash"  # in the users file, next to each user's hash
    depth = "../" * 12
    return {
        "/etc/passwd": passwd,
        f"{depth}etc/passwd": passwd,
        "pyproject.toml": project,
        "./pyproject.toml": project,
        str(PROJECT_ROOT / "pyproject.toml"): project,
        f"../{PROJECT_ROOT.name}/pyproject.toml": project,
        str(users_file): users,
        f"{depth}{str(users_file).lstrip('/')}": users,
        str(app.data_dir / "manifest.sqlite3"): sqlite,
        str(app.data_dir / "chroma" / "chroma.sqlite3"): sqlite,
        str(app.data_dir / "gradio" / ".." / "manifest.sqlite3"): sqlite,
        "%2e%2e%2f" * 12 + "etc%2fpasswd": passwd,
        "%2fetc%2fpasswd": passwd,
        "%252e%252e%252f" * 12 + "etc%252fpasswd": passwd,
        "..%5c" * 12 + "etc%5cpasswd": passwd,
        "..\\" * 12 + "etc\\passwd": passwd,
        "%2e%2e/" * 12 + "etc/passwd": passwd,
        "//etc/passwd": passwd,
        f"{tempfile.gettempdir()}/gradio/{depth}etc/passwd": passwd,
    }


def test_file_routes_serve_nothing_outside_the_apps_own_folder(app: AppServer, users_file: Path) -> None:
    tried = 0
    for name in ("reader", "admin"):
        with signed_in(app, name) as session:
            for path, marker in secret_paths(app, users_file).items():
                for route in (f"{API}/file={path}", f"{API}/file/{path}"):
                    response = session.get(route)
                    tried += 1
                    assert response.status_code != 200 and marker not in response.content, (
                        f"{name} fetched {route}: {response.status_code} {response.content[:200]!r}"
                    )
    print(f"{tried} file requests refused")


def test_files_of_other_gradio_apps_on_the_machine_are_not_served(app: AppServer) -> None:
    """The machine-wide /tmp/gradio holds other apps' uploads and downloads; this app's folder is in its data dir."""
    other_app = Path(tempfile.gettempdir()) / "gradio" / secrets.token_hex(16)
    other_app.mkdir(parents=True)
    try:
        leaked = other_app / "conversation.md"
        leaked.write_text("someone else's conversation", encoding="utf-8")
        with signed_in(app, "reader") as session:
            response = session.get(f"{API}/file={leaked}")
            assert response.status_code == 403 and b"someone else" not in response.content, (
                response.status_code
            )
            files = {"files": ("policy.md", b"# Policy\n\nA file this app was given.\n", "text/markdown")}
            stored = session.post(f"{API}/upload", files=files).json()
            assert Path(stored[0]).is_relative_to(app.data_dir.resolve() / "gradio"), stored
            own = session.get(f"{API}/file={stored[0]}")
            assert own.content == files["files"][1], "the app does not serve its own files"
    finally:
        shutil.rmtree(other_app, ignore_errors=True)


def test_document_text_is_only_read_for_indexed_documents(app: AppServer, users_file: Path) -> None:
    handlers = dependencies(app)
    with signed_in(app, "reader") as session:
        page = secrets.token_hex(8)  # one browser tab: its document list is loaded first, as on page load
        events(session, handlers["documents"], [], page)
        for doc_id, marker in {
            "sources/what-does-a-cmo-do.md": None,
            "../pyproject.toml": "[project]",
            str(users_file): "password_hash",
            "/etc/passwd": "root:",
            "uploads/../manifest.sqlite3": "SQLite format",
        }.items():
            shown = json.dumps(events(session, handlers["open_document"], [doc_id], page))
            if marker is None:
                assert "Chief Medical Officer" in shown, shown[:500]  # the route works for a real document
            else:
                assert marker not in shown, shown[:500]
