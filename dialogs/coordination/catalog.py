"""What the catalog commands say and read: the resources' list, the one-line
``ressource ajouter`` form, and a catalog file's dry run (or its problems).

Rules:
- ``ressource ajouter nom | lien | thèmes | licence | résumé``: five parts
  separated by ``|``. Themes may be ids, labels or words a person would type
  (« compta » is gestion). The resource is a tool (``kind: outil``) and counts
  as libre unless its licence is « proprietaire ». The entry then goes through
  the same checks as a catalog file (dialogs/catalog/check.py).
- A catalog file's problems are shown with their line, entry and field, as
  ``aiguillage catalog check`` prints them, at most 20; nothing is imported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dialogs.catalog.check import Checker, RawEntry
from dialogs.catalog.entries import CatalogIssue, Resource
from dialogs.coordination.commands import Filters, theme_of
from dialogs.coordination.people import page_footer, paginate, regions_msg, slugify, themes_msg
from dialogs.kernel.flow import options_in
from dialogs.kernel.options import THEMES
from dialogs.kernel.replies import Msg, msg

FORM_PARTS = 5
DEFAULT_KIND = "outil"
MAX_ISSUES_SHOWN = 20
MAX_IDS_SHOWN = 15
_THEME_SEPARATORS = re.compile(r"[,;/+]|\s+et\s+|\s+and\s+")


# -- the list --------------------------------------------------------------------------


def resource_matches(resource: Resource, filters: Filters) -> bool:
    if filters.theme is not None and filters.theme not in resource.themes:
        return False
    return not (
        filters.region is not None and resource.regions and filters.region not in resource.regions
    )


def resource_line(resource: Resource) -> Msg:
    key = "admin.catalog.resource" if resource.libre else "admin.catalog.resource_not_libre"
    return msg(
        key,
        name=resource.name,
        slug=resource.id,
        themes=themes_msg(resource.themes),
        regions=regions_msg(resource.regions),
        license=resource.license,
        url=resource.url,
    )


def resources_lines(
    resources: Sequence[Resource], filters: Filters, prefix: str
) -> tuple[Msg, ...]:
    chosen = [r for r in resources if resource_matches(r, filters)]
    if not chosen:
        return (msg("admin.catalog.none"),)
    page = paginate(len(chosen), filters.page)
    return (
        msg("admin.catalog.title", count=len(chosen)),
        *(resource_line(r) for r in chosen[page.start : page.stop]),
        *page_footer(page, prefix, "ressources", filters),
    )


# -- ressource ajouter -----------------------------------------------------------------


def read_themes(text: str) -> list[str]:
    """Theme ids in the order typed; an unknown word stays as typed, so that the
    catalog check names it with the possible themes."""
    found: list[str] = []
    for part in _THEME_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        known = theme_of(part)
        candidates = [known] if known else options_in(part, THEMES, "theme")
        for theme in candidates or [part]:
            if theme not in found:
                found.append(theme)
    return found


def parse_resource_line(text: str) -> Resource | tuple[CatalogIssue, ...]:
    """The resource typed on one line, or its problems."""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) != FORM_PARTS:
        issue = CatalogIssue(
            entry="",
            field="",
            line=None,
            message=msg("admin.catalog.form_parts", found=len(parts), expected=FORM_PARTS),
        )
        return (issue,)
    name, url, themes, license_id, summary = parts
    values = {
        "id": slugify(name, fallback=""),
        "name": name,
        "url": url,
        "summary": summary,
        "themes": read_themes(themes),
        "kind": DEFAULT_KIND,
        "license": license_id,
        "libre": license_id.strip().lower() != "proprietaire",
    }
    checker = Checker()
    built = checker.build_resource(RawEntry(index=0, values=values, lines={}, line=None))
    if built is None:
        return tuple(checker.issues)
    return built


def form_issue_line(issue: CatalogIssue) -> Msg:
    if issue.field:
        return msg("admin.catalog.form_issue", field=issue.field, message=issue.message)
    return msg("admin.catalog.form_issue_plain", message=issue.message)


def form_refused(issues: Sequence[CatalogIssue], prefix: str) -> tuple[Msg, ...]:
    return (
        msg("admin.catalog.form_refused"),
        *(form_issue_line(i) for i in issues[:MAX_ISSUES_SHOWN]),
        msg("admin.catalog.form_hint", command=f"{prefix}ressource ajouter"),
    )


# -- catalog files -----------------------------------------------------------------------


def issue_line(name: str, issue: CatalogIssue) -> Msg:
    """Same words as ``aiguillage catalog check`` (bot/cli/catalog.py)."""
    where = (
        msg("catalog.at_line", file=name, line=issue.line)
        if issue.line is not None
        else msg("catalog.at_file", file=name)
    )
    if issue.entry and issue.field:
        found = msg(
            "catalog.issue.entry_field",
            where=where,
            entry=issue.entry,
            field=issue.field,
            message=issue.message,
        )
    elif issue.entry:
        found = msg("catalog.issue.entry", where=where, entry=issue.entry, message=issue.message)
    elif issue.field:
        found = msg("catalog.issue.field", where=where, field=issue.field, message=issue.message)
    else:
        found = msg("catalog.issue.file", where=where, message=issue.message)
    return msg("admin.catalog.file.issue", issue=found)


def file_refused(name: str, issues: Sequence[CatalogIssue]) -> tuple[Msg, ...]:
    lines = [
        msg("admin.catalog.file.refused", file=name, count=len(issues)),
        *(issue_line(name, i) for i in issues[:MAX_ISSUES_SHOWN]),
    ]
    if len(issues) > MAX_ISSUES_SHOWN:
        lines.append(msg("catalog.issue.more", count=len(issues) - MAX_ISSUES_SHOWN))
    lines.append(msg("admin.catalog.file.fix"))
    return tuple(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanView:
    """An import plan as (table, id) pairs; tables are "resources" and "aiguilleurs"."""

    added: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str], ...] = ()
    disabled: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.disabled)

    def counts(self, table: str) -> Msg:
        return msg(
            "catalog.plan.counts",
            added=sum(1 for t, _ in self.added if t == table),
            changed=sum(1 for t, _ in self.changed if t == table),
            disabled=sum(1 for t, _ in self.disabled if t == table),
        )


def plan_details(plan: PlanView) -> list[Msg]:
    lines: list[Msg] = []
    for sign, entries in (
        ("added", plan.added),
        ("changed", plan.changed),
        ("disabled", plan.disabled),
    ):
        for table, entry_id in entries[:MAX_IDS_SHOWN]:
            lines.append(
                msg(f"catalog.plan.{sign}", table=msg(f"catalog.table.{table}"), id=entry_id)
            )
        if len(entries) > MAX_IDS_SHOWN:
            lines.append(msg("admin.catalog.plan.more", count=len(entries) - MAX_IDS_SHOWN))
    return lines


def plan_counts(plan: PlanView, sections: Sequence[str]) -> list[Msg]:
    return [msg(f"admin.catalog.plan.{table}", counts=plan.counts(table)) for table in sections]


def dry_run_lines(
    name: str,
    plan: PlanView,
    sections: Sequence[str],
    absent: tuple[tuple[str, str], ...] = (),
    typed: bool = False,
) -> tuple[Msg, ...]:
    """The summary of a merge (`plan` disables nothing); `absent` are the entries
    the file does not list, which stay active unless the coordinator asks to
    replace the whole catalog (a button, or ``!remplacer`` typed on Matrix)."""
    if plan.empty and not absent:
        return (msg("catalog.up_to_date", file=name),)
    kept: list[Msg] = []
    if absent:
        key = "admin.catalog.file.kept_typed" if typed else "admin.catalog.file.kept"
        kept = [msg(key, count=len(absent)), *plan_details(PlanView(disabled=absent))]
    return (
        msg("admin.catalog.file.dry_run", file=name),
        *plan_counts(plan, sections),
        *plan_details(plan),
        *kept,
        msg("admin.catalog.file.confirm"),
    )


def imported_lines(name: str, plan: PlanView, sections: Sequence[str]) -> tuple[Msg, ...]:
    if plan.empty:
        return (msg("catalog.up_to_date", file=name),)
    return (msg("admin.catalog.file.imported", file=name), *plan_counts(plan, sections))
