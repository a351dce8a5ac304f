"""``cmo-assistant`` command line: ingest, ask, stats, eval, feedback, users, serve. A thin adapter over
:class:`Assistant` (and, for ``users``, the users file of :mod:`assistant.web.accounts`).

Errors from the core (AssistantError) become one readable line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import Settings, redact_credentials
from assistant.errors import AssistantError, QuestionError
from assistant.ingest.readers import supported_suffixes

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 3, 2


if TYPE_CHECKING:
    #: what add_subparsers() returns
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cmo-assistant",
        description="Cited answers about the Chief Medical Officer role and your organization's policies.",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="index location (default ./data, env CMO_ASSISTANT_DATA_DIR)"
    )
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_ingest(sub)
    _add_ask(sub)
    stats = sub.add_parser("stats", help="what is in the index")
    stats.add_argument("--json", action="store_true")
    stats.add_argument(
        "--verify",
        action="store_true",
        help="read every stored vector back and report missing or unreadable ones by document "
        "(exit 1 when any are)",
    )
    _add_eval(sub)
    serve = sub.add_parser("serve", help="launch the web app")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    _add_feedback(sub)
    _add_users(sub)
    return parser


def _add_ingest(sub: Commands) -> None:
    ingest = sub.add_parser("ingest", help="build or update the index from the corpus and your folders")
    ingest.add_argument(
        "--source",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help=f"another folder of {'/'.join(supported_suffixes())} documents (repeatable); remembered in the "
        "data dir and indexed by every later ingest until --forget",
    )
    ingest.add_argument(
        "--forget",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="stop indexing a remembered --source folder (its documents are removed; repeatable)",
    )
    ingest.add_argument("--rebuild", action="store_true", help="drop the index and build it from scratch")
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_ask(sub: Commands) -> None:
    ask = sub.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help='JSON list of {"role": "user"|"assistant", "content": "..."} turns before the question',
    )
    ask.add_argument("--kind", choices=["article", "policy"], help="search only articles or only policies")
    ask.add_argument("--top-k", type=int, help="passages to retrieve")
    ask.add_argument(
        "--doc", metavar="DOC_ID", help="search only this document (ids: `cmo-assistant stats --json`)"
    )


def _add_eval(sub: Commands) -> None:
    ev = sub.add_parser("eval", help="score answers on the eval sets; exits 1 when a threshold is not met")
    ev.add_argument(
        "--dataset",
        action="append",
        type=Path,
        metavar="FILE",
        help="JSONL of cases, repeatable (default evals/golden.jsonl, users.jsonl and paraphrase.jsonl)",
    )
    ev.add_argument(
        "--out", type=Path, help="folder for report.md/html, results.jsonl (default evals/runs/<time>)"
    )
    ev.add_argument("--backend", default="extractive", help="answer backend to score (default extractive)")
    ev.add_argument(
        "--compare", type=Path, metavar="RUN_DIR", help="a previous run's --out folder: delta table"
    )
    ev.add_argument("--thresholds", type=Path, help="gate thresholds (default evals/thresholds.toml)")
    ev.add_argument(
        "--split",
        default="all",
        metavar="NAME",
        help="which cases to run: a split of the datasets (dev, test, paraphrase) or all (default)",
    )
    ev.add_argument("--no-ablation", action="store_true", help="skip the dense / BM25 / hybrid comparison")
    ev.add_argument(
        "--history",
        choices=("written", "replayed"),
        default="written",
        help="follow-up cases' earlier turns: as the case file has them (default), or replayed: each earlier "
        "question asked of the assistant, its own answers in the history",
    )
    ev.add_argument("--quiet", action="store_true", help="no progress bars")
    ev.add_argument(
        "--readme",
        nargs="?",
        type=Path,
        const=Path("README.md"),
        metavar="FILE",
        help="also write the per-split figures into FILE's eval table (default README.md; the full default "
        "run only, as `make eval` does)",
    )


def _add_feedback(sub: Commands) -> None:
    feedback = sub.add_parser("feedback", help="answer ratings from the app: list them or export eval cases")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True)
    fb_export = feedback_sub.add_parser(
        "export", help="write the ratings as golden-set cases for review (see evals/README.md)"
    )
    fb_export.add_argument(
        "--out",
        type=Path,
        default=Path("evals/feedback-cases.jsonl"),
        metavar="FILE",
        help="JSONL file to write (default evals/feedback-cases.jsonl); replaced whole",
    )
    fb_list = feedback_sub.add_parser("list", help="recent ratings, newest first")
    fb_list.add_argument("--limit", type=int, default=20, metavar="N", help="how many (default 20)")


def _add_users(sub: Commands) -> None:
    users = sub.add_parser("users", help="who may sign in to the app and use the API: accounts and API keys")
    users.add_argument(
        "--file", type=Path, help="the users file (default: the users_file setting, CMO_ASSISTANT_USERS_FILE)"
    )
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="add a user, or set a user's new password (and role)")
    add.add_argument("name")
    add.add_argument(
        "--role", choices=["admin", "user"], help="admin may add and remove documents (default user)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
    remove = users_sub.add_parser("remove", help="remove a user and their API keys (signed out at once)")
    remove.add_argument("name")
    users_sub.add_parser("list", help="the users, their roles and API key ids")
    key = users_sub.add_parser("key", help="issue an API key for a user (printed once, stored hashed)")
    key.add_argument("name")
    key.add_argument("--revoke", metavar="KEY_ID", help="revoke this key (its id from `users list`) instead")
    users_sub.add_parser("migrate", help="hash the plain-text passwords of an older users file in place")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(data_dir=args.data_dir, chroma_url=args.chroma_url)
        handler = {
            "ingest": _ingest,
            "ask": _ask,
            "stats": _stats,
            "serve": _serve,
            "eval": _eval,
            "feedback": _feedback,
            "users": _users,
        }[args.command]
        return handler(settings, args)
    except AssistantError as exc:
        print(f"error: {redact_credentials(str(exc))}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, QuestionError) else EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish (ingest resumes safely)", file=sys.stderr)
        return 130


def _assistant(settings: Settings) -> Any:
    from assistant.pipeline import Assistant

    return Assistant(settings)


def _ingest(settings: Settings, args: argparse.Namespace) -> int:
    for folder in args.source:
        if not folder.is_dir():
            raise QuestionError(f"--source {folder} is not a folder. Give a folder of documents.")
    report = _assistant(settings).ingest(
        args.source, rebuild=args.rebuild, progress=not args.quiet, forget=args.forget
    )
    print(report.summary())
    return EXIT_PARTIAL if report.partial else EXIT_OK


def _ask(settings: Settings, args: argparse.Namespace) -> int:
    history = None
    if args.history:
        try:
            history = json.loads(args.history.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise QuestionError(f"Cannot read the history file {args.history}: {exc}") from None
    assistant = _assistant(settings)
    if args.json or args.top_k or args.doc:
        answer = assistant.ask(
            args.question, history=history, kind=args.kind, top_k=args.top_k, doc_id=args.doc
        )
    else:
        answer = _stream_to_stdout(assistant.ask_stream(args.question, history=history, kind=args.kind))
    for notice in answer.notices:
        print(f"note: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK
    if answer.citations:
        print()
        for c in answer.citations:
            where = f" > {c.section}" if c.section else ""
            print(f"[{c.marker}] {c.title}{where} ({c.doc_id})")
    if answer.closest:
        print("\nThe nearest the sources come (they do not answer it):")
        for near in answer.closest:
            where = f" > {near.section}" if near.section else ""
            print(f"- {near.title}{where} ({near.doc_id})")
    return EXIT_OK


def _stream_to_stdout(stream: Any) -> Any:
    """Print the answer as it is written; when checking changed it (markers renumbered, a fallback), print the
    checked answer after it. Returns the final Answer."""
    draft: list[str] = []
    for item in stream:
        if isinstance(item, str):
            draft.append(item)
            print(item, end="", flush=True)
            continue
        print()
        if "".join(draft).strip() != item.answer.strip():
            print(f"\nChecked answer:\n{item.answer}")
        return item
    raise RuntimeError("the answer stream ended without an answer")


def _stats(settings: Settings, args: argparse.Namespace) -> int:
    assistant = _assistant(settings)
    stats = assistant.stats()
    verification = assistant.verify() if args.verify else None
    if args.json:
        if verification is not None:
            stats["verify"] = {
                "ok": not verification.damaged,
                "damaged": [dataclasses.asdict(d) for d in verification.damaged],
            }
        print(json.dumps(stats, indent=2))
    else:
        _print_stats(stats)
        if verification is not None:
            print(verification.summary())
    if verification is not None and verification.damaged:
        print(
            f"error: {len(verification.damaged)} documents have missing or unreadable vectors; rebuild the index "
            "with `cmo-assistant ingest --rebuild`.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return EXIT_OK


def _print_stats(stats: dict[str, Any]) -> None:
    plural = {"article": "articles", "policy": "policies"}
    kinds = (
        ", ".join(f"{n} {k if n == 1 else plural.get(k, k)}" for k, n in sorted(stats["kinds"].items()))
        or "none"
    )
    print(f"index:           {stats['store']}")
    print(f"documents:       {stats['documents']} ({kinds})")
    print(f"chunks:          {stats['chunks']}")
    print(f"embedding model: {stats['embedding_model']}")
    print(f"last ingest:     {stats['last_ingest'] or 'never (run `cmo-assistant ingest`)'}")


def _eval(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from assistant.evaluation.suite import run_suite

    if args.readme is not None:
        _check_readme_run(args)
    out = args.out or Path("evals/runs") / time.strftime("%Y%m%d-%H%M%S")
    run, written = run_suite(
        _assistant(settings),
        dataset=args.dataset,
        thresholds=args.thresholds,
        backend=args.backend,
        split=args.split,
        ablation=not args.no_ablation,
        progress=not args.quiet,
        out_dir=out,
        previous=args.compare,
        history=args.history,
    )
    summary = run.summary
    columns = {"all": summary.metrics, **summary.by_split}
    width = max(len(m) for m in summary.metrics)
    print(f"{'':<{width}}" + "".join(f"  {name:>10}" for name in columns))
    for metric, value in summary.metrics.items():
        cells = [value, *(split.get(metric) for split in summary.by_split.values())]
        print(f"{metric:<{width}}" + "".join(f"  {'':>10}" if v is None else f"  {v:>10.3f}" for v in cells))
    print(f"report: {written.get('report.md', out)}")
    if args.readme is not None:
        from assistant.evaluation.readme import update_readme

        print(f"eval table: {update_readme(summary, args.readme)}")
    assert run.gate is not None
    if not run.gate.passed:
        print("gate FAILED:\n  " + "\n  ".join(run.gate.failures()), file=sys.stderr)
        return EXIT_ERROR
    print("gate passed")
    return EXIT_OK


def _check_readme_run(args: argparse.Namespace) -> None:
    """The README's eval table shows the full default run only: a partial run must not replace it."""
    partial = [
        flag
        for flag, given in (
            (f"--split {args.split}", args.split != "all"),
            ("--dataset", bool(args.dataset)),
            (f"--backend {args.backend}", args.backend != "extractive"),
            (f"--history {args.history}", args.history != "written"),
        )
        if given
    ]
    if partial:
        raise QuestionError(
            f"--readme writes the figures of the full default run into the README; {', '.join(partial)} "
            "would replace them with another run's. Drop --readme, or those options."
        )


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.pipeline import Assistant
    from assistant.web.ui import launch

    settings = settings.replace(host=args.host or settings.host, port=args.port or settings.port)
    launch(Assistant(settings), settings.host, settings.port)
    return EXIT_OK


def _feedback(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.web.feedback import FeedbackStore

    with FeedbackStore.from_settings(settings) as store:
        if args.feedback_command == "list":
            records = store.list(limit=args.limit)
            if not records:
                print(f"no feedback yet ({store.where})")
            for r in records:
                question = " ".join(r.question.split())
                question = question if len(question) <= 100 else question[:99] + "…"
                print(f"{r.rating:+d}  {r.created_at:%Y-%m-%d %H:%M:%S}Z  {question}")
            return EXIT_OK
        report = store.export(args.out)
    print(f"wrote {report.written} case{'' if report.written == 1 else 's'} to {report.path}")
    if report.skipped:
        print(f"skipped {len(report.skipped)}:")
        for s in report.skipped:
            print(f"  feedback-{s.id}: {s.reason}")
    return EXIT_OK


#: The shortest password ``users add`` accepts.
MIN_PASSWORD_CHARS = 8


def _users(settings: Settings, args: argparse.Namespace) -> int:
    from assistant.web.accounts import UsersFile

    path = args.file or (Path(settings.users_file) if settings.users_file else None)
    if path is None:
        raise QuestionError("Name the users file: pass --file FILE or set CMO_ASSISTANT_USERS_FILE.")
    users = UsersFile(path)
    command = args.users_command
    if command == "add":
        new = users.add(args.name, _new_password(args.password_stdin), args.role)
        print(f"{'added' if new else 'updated'} {args.name} in {path}")
    elif command == "remove":
        users.remove(args.name)
        print(f"removed {args.name} from {path}; their sessions and API keys stop working now")
    elif command == "key" and args.revoke:
        users.revoke_key(args.name, args.revoke)
        print(f"revoked key {args.revoke} of {args.name}")
    elif command == "key":
        key = users.issue_key(args.name)
        print(key)
        print(f"the API key of {args.name}: shown only now, stored hashed in {path}", file=sys.stderr)
    elif command == "migrate":
        done, missing = users.migrate()
        print(f"hashed the passwords of {len(done)} user(s){': ' + ', '.join(done) if done else ''}")
        for name in missing:
            print(f"{name} has no password: set one with `cmo-assistant users add {name}`", file=sys.stderr)
    else:
        _list_users(users.entries())
    return EXIT_OK


def _new_password(from_stdin: bool) -> str:
    """The password for ``users add``: the first line of stdin, or typed twice at a prompt that does not echo."""
    import getpass

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise QuestionError("The two passwords differ. Nothing was changed; run the command again.")
    if len(password) < MIN_PASSWORD_CHARS:
        raise QuestionError(
            f"The password is too short ({len(password)} characters; at least {MIN_PASSWORD_CHARS}). "
            "Nothing was changed."
        )
    return password


def _list_users(entries: dict[str, Any]) -> None:
    if not entries:
        print("no users yet: add one with `cmo-assistant users add NAME --role admin`")
    for name, entry in entries.items():
        entry = entry if isinstance(entry, dict) else {}
        keys: dict[str, Any] = entry["keys"] if isinstance(entry.get("keys"), dict) else {}
        ids = ", ".join(f"{k} ({v.get('created', '?')})" for k, v in keys.items() if isinstance(v, dict))
        problem = (
            "" if "password_hash" in entry else "  (no hashed password: run `cmo-assistant users migrate`)"
        )
        print(f"{name}\t{entry.get('role', 'user')}\tkeys: {ids or 'none'}{problem}")


if __name__ == "__main__":
    raise SystemExit(main())
