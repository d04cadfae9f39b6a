"""`aiguillage catalog import|export|check` and `aiguillage match`.

A refused file prints one line when it has one problem, else a heading and
one line per problem, each naming the file, line, entry and field; exit status
2, nothing imported. `match` runs the bot's engine on the database's catalog
(the starter catalog when the database has none yet) and records nothing:
it does not move the aiguilleurs' rotation.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.errors import os_error_msg
from bot.cli.output import Output
from bot.config.load import Config
from dialogs.catalog.load import (
    Catalog,
    CatalogError,
    CatalogIssue,
    parse_catalog_file,
    parse_catalog_yaml,
)
from dialogs.catalog.matching import (
    AiguilleurCandidate,
    MatchQuery,
    MatchResult,
    Proposal,
    match,
)
from dialogs.geo.places import region_codes
from dialogs.kernel.i18n import translate
from dialogs.kernel.options import THEMES
from dialogs.kernel.render import html_to_plain, render_msg
from dialogs.kernel.replies import Msg, msg

MAX_LIMIT = 50
MAX_ISSUES_SHOWN = 100
JSON_LOCALE = "fr"  # --json reasons are French whatever the terminal's language


def add_catalog_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    add_db_options: Callable[[argparse.ArgumentParser], None],
    loc: str,
) -> None:
    catalog = commands.add_parser("catalog", help=translate(loc, "cli.catalog"))
    actions = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    importing = actions.add_parser("import", help=translate(loc, "cli.catalog.import"))
    importing.add_argument("file", metavar="FICHIER", help=translate(loc, "cli.catalog.file"))
    importing.add_argument(
        "--dry-run", action="store_true", help=translate(loc, "cli.catalog.dry_run")
    )
    importing.add_argument(
        "--replace", action="store_true", help=translate(loc, "cli.catalog.replace")
    )
    add_db_options(importing)
    exporting = actions.add_parser("export", help=translate(loc, "cli.catalog.export"))
    exporting.add_argument("file", metavar="FICHIER", help=translate(loc, "cli.catalog.out"))
    add_db_options(exporting)
    checking = actions.add_parser("check", help=translate(loc, "cli.catalog.check"))
    checking.add_argument("file", metavar="FICHIER", help=translate(loc, "cli.catalog.file"))
    add_db_options(checking)

    matching = commands.add_parser("match", help=translate(loc, "cli.match"))
    matching.add_argument("text", metavar="TEXTE", help=translate(loc, "cli.match.text"))
    matching.add_argument(
        "--theme",
        action="append",
        default=[],
        metavar="THEME",
        help=translate(loc, "cli.match.theme"),
    )
    matching.add_argument("--region", metavar="REGION", help=translate(loc, "cli.match.region"))
    matching.add_argument(
        "--limit", type=int, default=5, metavar="K", help=translate(loc, "cli.match.limit")
    )
    matching.add_argument("--json", action="store_true", help=translate(loc, "cli.match.json"))
    add_db_options(matching)


def run_catalog_command(args: argparse.Namespace, config: Config, locale: str) -> int:
    output = Output(locale)
    if args.command == "match":
        return run_match(args, config, output)
    if args.catalog_command == "check":
        catalog = read_catalog(args.file, output, importing=False)
        if catalog is None:
            return 2
        output.out(summary_msg("catalog.valid", args.file, catalog))
        return 0
    if args.catalog_command == "import":
        catalog = read_catalog(args.file, output, importing=True)
        if catalog is None:
            return 2
        asyncio.run(import_catalog(config, catalog, args.file, args.dry_run, output, args.replace))
        return 0
    return asyncio.run(export_catalog(config, args.file, output))


# ------------------------------------------------------------------- files


def read_catalog(name: str, output: Output, importing: bool) -> Catalog | None:
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        output.fail(msg("catalog.unreadable", file=name, detail=os_error_msg(exc)))
        return None
    try:
        return parse_catalog_file(name, data)
    except CatalogError as exc:
        report_issues(name, exc.issues, output, importing)
        return None


def report_issues(
    name: str, issues: Sequence[CatalogIssue], output: Output, importing: bool
) -> None:
    prefix = "catalog.import" if importing else "catalog.check"
    if len(issues) == 1:
        output.err(msg(f"{prefix}.refused_one", issue=issue_msg(name, issues[0])))
        return
    output.err(msg(f"{prefix}.refused_many", count=len(issues)))
    for issue in issues[:MAX_ISSUES_SHOWN]:
        output.err(msg("catalog.issue.item", issue=issue_msg(name, issue)))
    if len(issues) > MAX_ISSUES_SHOWN:
        output.err(msg("catalog.issue.more", count=len(issues) - MAX_ISSUES_SHOWN))


def issue_msg(name: str, issue: CatalogIssue) -> Msg:
    where = (
        msg("catalog.at_line", file=name, line=issue.line)
        if issue.line is not None
        else msg("catalog.at_file", file=name)
    )
    if issue.entry and issue.field:
        return msg(
            "catalog.issue.entry_field",
            where=where,
            entry=issue.entry,
            field=issue.field,
            message=issue.message,
        )
    if issue.entry:
        return msg("catalog.issue.entry", where=where, entry=issue.entry, message=issue.message)
    if issue.field:
        return msg("catalog.issue.field", where=where, field=issue.field, message=issue.message)
    return msg("catalog.issue.file", where=where, message=issue.message)


def summary_msg(key: str, name: str, catalog: Catalog) -> Msg:
    return msg(
        key, file=name, resources=len(catalog.resources), aiguilleurs=len(catalog.aiguilleurs)
    )


# ------------------------------------------------------------------ import


class _Simulated(Exception):
    """Leaves a dry run's unit of work without committing anything."""


async def import_catalog(
    config: Config,
    catalog: Catalog,
    name: str,
    dry_run: bool,
    output: Output,
    replace: bool = False,
) -> None:
    """Merge by default: entries the file does not list stay as they are. With
    `replace`, they are deactivated, and listed before it happens.

    Merging into a database without any resource (before the bot's first start)
    completes the starter catalog the bot would have loaded, instead of leaving the
    file's few resources alone; a dry run shows the same, inside a rolled-back unit."""
    from bot.app import open_database
    from bot.catalog.service import starter_catalog

    db = await open_database(config)
    now = datetime.now(UTC)
    try:
        async with db.unit() as uow:
            if not replace and await uow.catalog.is_empty():
                loaded = await uow.catalog.apply(starter_catalog(False), now)
                output.out(msg("catalog.starter_first", count=len(loaded.added)))
            plan = await uow.catalog.plan_import(catalog)
            absent = plan.disabled
            if not replace:
                plan = dataclasses.replace(plan, disabled=())
            elif absent and not dry_run:
                output.out(msg("catalog.replace.heading", file=name, count=len(absent)))
                for entry in absent:
                    table = msg(f"catalog.table.{entry.table}")
                    output.out(msg("catalog.plan.disabled", table=table, id=entry.id))
            if dry_run:
                raise _Simulated
            await uow.catalog.apply(plan, now)
    except _Simulated:
        pass
    finally:
        await db.dispose()
    shown = plan.disabled if dry_run else ()
    for sign, entries in (
        ("added", plan.added),
        ("changed", plan.changed),
        ("disabled", shown),
    ):
        for entry in entries:
            table = msg(f"catalog.table.{entry.table}")
            output.out(msg(f"catalog.plan.{sign}", table=table, id=entry.id))
    counts = msg(
        "catalog.plan.counts",
        added=len(plan.added),
        changed=len(plan.changed),
        disabled=len(plan.disabled),
    )
    if absent and not replace:
        output.out(msg("catalog.merge.kept", count=len(absent)))
    if plan.empty:
        output.out(msg("catalog.up_to_date", file=name))
    elif dry_run:
        output.out(msg("catalog.dry_run", file=name, counts=counts))
    else:
        output.out(msg("catalog.imported", file=name, counts=counts))


# ------------------------------------------------------------------ export


async def export_catalog(config: Config, name: str, output: Output) -> int:
    from bot.app import open_database
    from dialogs.catalog.csv_format import dump_resources_csv
    from dialogs.catalog.load import dump_catalog_yaml

    db = await open_database(config)
    try:
        async with db.unit() as uow:
            catalog = await uow.catalog.export()
    finally:
        await db.dispose()
    if name == "-":
        sys.stdout.write(dump_catalog_yaml(catalog))
        return 0
    if name.lower().endswith(".csv"):
        text = dump_resources_csv(catalog.resources)
        catalog = Catalog(resources=catalog.resources, sections=frozenset({"resources"}))
    else:
        text = dump_catalog_yaml(catalog)
    path = Path(name)
    partial = path.with_name(path.name + ".partial")
    try:
        # Written aside then renamed: an interrupted export never leaves half a file.
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        return output.fail(msg("catalog.unwritable", file=name, detail=os_error_msg(exc)))
    output.err(summary_msg("catalog.exported", name, catalog))
    return 0


# ------------------------------------------------------------------- match


def run_match(args: argparse.Namespace, config: Config, output: Output) -> int:
    themes = tuple(dict.fromkeys(t.strip().lower() for t in args.theme))
    for theme in themes:
        if theme not in THEMES:
            return output.fail(msg("match.bad_theme", value=theme, choices=", ".join(THEMES)))
    region = args.region.strip().upper() if args.region else None
    if region is not None and region not in region_codes():
        return output.fail(
            msg("match.bad_region", value=args.region, choices=", ".join(region_codes()))
        )
    if not 1 <= args.limit <= MAX_LIMIT:
        return output.fail(msg("match.bad_limit", maximum=MAX_LIMIT))
    query = MatchQuery(text=args.text, themes=themes, region=region, limit=args.limit)
    result, catalog = asyncio.run(match_in_database(config, query, output))
    if args.json:
        print(json.dumps(result_json(result), ensure_ascii=False, indent=2))
    else:
        print_result(result, catalog, output)
    return 0


async def match_in_database(
    config: Config, query: MatchQuery, output: Output
) -> tuple[MatchResult, Catalog]:
    from bot.catalog.index_cache import build_index, cache_folder

    catalog, candidates = await read_for_match(config, output)
    index = build_index(catalog.resources, cache_folder(config.data_dir))
    people = Catalog(resources=catalog.resources, aiguilleurs=tuple(c.profile for c in candidates))
    return match(index, query, candidates), people


async def read_for_match(
    config: Config, output: Output
) -> tuple[Catalog, list[AiguilleurCandidate]]:
    """The database's catalog and aiguilleurs, read only: no migration, no
    folder created, none of the bot imported (a cold `match` answers in about
    a second). A database that does not exist yet, or has no tables or no
    resources, gives the starter catalog."""
    url = config.database.url
    if url.startswith("sqlite"):
        database = sqlite_database(url)
        if not database or database == ":memory:" or not Path(database).exists():
            return starter_for_match(output), []

    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from storage.repos.catalog import CatalogRepo

    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            repo = CatalogRepo(session)
            try:
                empty = await repo.is_empty()
            except DBAPIError:  # no tables yet: never upgraded
                empty = True
            if empty:
                return starter_for_match(output), []
            return await repo.export(), await repo.candidates()
    finally:
        await engine.dispose()


_PLAIN_SQLITE = re.compile(r"^sqlite(?:\+\w+)?:///([^?#%]*)$")


def sqlite_database(url: str) -> str | None:
    """The database part of a SQLite URL. The plain form
    (``sqlite+aiosqlite:///path``) is read here: SQLAlchemy takes a fifth of
    a second to import, which a cold `match` on a database that does not
    exist yet need not pay; anything else (a query string, escapes) goes
    through SQLAlchemy's own parser."""
    plain = _PLAIN_SQLITE.match(url)
    if plain is not None:
        return plain.group(1)
    from sqlalchemy.engine import make_url

    return make_url(url).database


def starter_for_match(output: Output) -> Catalog:
    from importlib.resources import files

    output.err(msg("match.empty_catalog"))
    text = (files("storage") / "seed" / "catalog.yaml").read_text(encoding="utf-8")
    return Catalog(resources=parse_catalog_yaml(text).resources, sections=frozenset({"resources"}))


def result_json(result: MatchResult) -> dict[str, object]:
    def rows(proposals: tuple[Proposal, ...]) -> list[dict[str, object]]:
        return [
            {
                "id": p.id,
                "score": p.score,
                "why": [html_to_plain(render_msg(JSON_LOCALE, m)) for m in p.why],
            }
            for p in proposals
        ]

    return {
        "resources": rows(result.resources),
        "aiguilleurs": rows(result.aiguilleurs),
        "themes": list(result.themes),
    }


def print_result(result: MatchResult, catalog: Catalog, output: Output) -> None:
    labels = tuple(msg(f"theme.{t}") for t in result.themes)
    if not result.themes:
        output.out(msg("match.themes.none"))
    elif result.themes_inferred:
        output.out(msg("match.themes.inferred", themes=labels))
    else:
        output.out(msg("match.themes.given", themes=labels))
    resources = {r.id: r for r in catalog.resources}
    output.out(msg("match.resources"))
    if not result.resources:
        output.out(msg("match.no_resource"))
    for rank, proposal in enumerate(result.resources, 1):
        resource = resources[proposal.id]
        output.out(
            msg(
                "match.resource",
                rank=rank,
                name=resource.name,
                id=proposal.id,
                score=f"{proposal.score:.2f}",
                url=resource.url,
            )
        )
        output.out(msg("match.why", why=why_text(proposal, output)))
    people = {a.id: a for a in catalog.aiguilleurs}
    output.out(msg("match.aiguilleurs"))
    if not result.aiguilleurs:
        output.out(msg("match.no_aiguilleur"))
    for rank, proposal in enumerate(result.aiguilleurs, 1):
        person = people[proposal.id]
        key = "match.aiguilleur_demo" if person.demo else "match.aiguilleur"
        output.out(
            msg(key, rank=rank, name=person.name, id=proposal.id, score=f"{proposal.score:.2f}")
        )
        output.out(msg("match.why", why=why_text(proposal, output)))


def why_text(proposal: Proposal, output: Output) -> str:
    separator = output.text(msg("match.why_separator"))
    return separator.join(output.text(m) for m in proposal.why)
