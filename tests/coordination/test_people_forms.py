"""Pure parts of the people, catalog and inscription commands: slugs, pages,
lists, the one-line resource form, catalog file summaries and the inscription
form, rendered in French as a coordinator would read them."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.catalog.load import CatalogError, Resource, parse_catalog_yaml
from dialogs.coordination.catalog import (
    PlanView,
    dry_run_lines,
    file_refused,
    parse_resource_line,
    read_themes,
    resources_lines,
)
from dialogs.coordination.commands import Filters
from dialogs.coordination.inscription import (
    Ask,
    Cancelled,
    Done,
    Form,
    Step,
    answer,
    read_capacity,
    read_regions,
    start,
)
from dialogs.coordination.inscription import (
    read_themes as form_themes,
)
from dialogs.coordination.interventions import duration, recorded
from dialogs.coordination.people import (
    AiguilleurView,
    CoordinatorView,
    aiguilleurs_lines,
    announce_result,
    coordinators_lines,
    paginate,
    slugify,
    unique_slug,
)
from dialogs.kernel.render import html_to_plain, render_lines
from dialogs.kernel.replies import Msg


def text(lines: tuple[Msg, ...], locale: str = "fr") -> str:
    """Plain text, French no-break spaces as plain ones (easier to read here)."""
    return html_to_plain(render_lines(locale, lines)).replace("\u00a0", " ")


def person(slug: str, **fields: object) -> AiguilleurView:
    values: dict[str, object] = {
        "id": slug,
        "name": slug.replace("-", " ").title(),
        "themes": ("gestion",),
        "regions": ("BRE",),
        "capacity": 3,
        "load": 0,
        "available": True,
    }
    values.update(fields)
    return AiguilleurView(**values)  # type: ignore[arg-type]


# -- slugs and pages ----------------------------------------------------------------------


def test_slugs_come_from_names_and_stay_unique() -> None:
    assert slugify("Camille Durand") == "camille-durand"
    assert slugify("  Zoé  L'Hôte-Bœuf ") == "zoe-l-hote-boeuf"
    assert slugify("!!!") == "aiguilleur"
    assert len(slugify("x" * 300)) <= 60
    assert unique_slug("alix", set()) == "alix"
    assert unique_slug("alix", {"alix", "alix-2"}) == "alix-3"


def test_pages_clamp_to_what_exists() -> None:
    page = paginate(23, 3)
    assert (page.number, page.count, page.start, page.stop) == (3, 3, 20, 23)
    assert paginate(23, 9).number == 3
    assert paginate(0, 1).count == 1


# -- aiguilleurs and coordinators ------------------------------------------------------------


def test_aiguilleurs_list_shows_load_state_and_training() -> None:
    people = [
        person("alix", load=2, capacity=2, trained_at=datetime(2026, 3, 2, 23, 30, tzinfo=UTC)),
        person("basile", regions=(), themes=("numerique",), available=False),
        person("chloe", regions=("PDL",)),
    ]
    shown = text(aiguilleurs_lines(people, Filters(), "/"))
    assert "Aiguilleur·euses (3)" in shown
    assert (
        "Alix (alix) — Gestion — Bretagne — 2/2 demandes — disponible — formé·e le 03/03/2026"
        in shown
    )
    assert (
        "Basile (basile) — Numérique — partout — 0/3 demandes — en pause — formation à suivre"
        in shown
    )
    # A région filter keeps national people; a theme filter is strict.
    in_bretagne = text(aiguilleurs_lines(people, Filters(region="BRE"), "/"))
    assert "alix" in in_bretagne and "basile" in in_bretagne and "chloe" not in in_bretagne
    assert "Aucun·e" in text(aiguilleurs_lines(people, Filters(theme="energie"), "!"))


def test_long_lists_say_how_to_see_the_next_page() -> None:
    people = [person(f"p{n:02d}") for n in range(12)]
    first = text(aiguilleurs_lines(people, Filters(), "!"))
    assert "p09" in first and "p10" not in first
    assert "Page 1 sur 2" in first and "!aiguilleurs page 2" in first
    second = text(aiguilleurs_lines(people, Filters(page=2), "!"))
    assert "p11" in second and "Page 2 sur 2." in second


def test_coordinators_list_says_where_each_comes_from() -> None:
    shown = text(
        coordinators_lines(
            [
                CoordinatorView(transport="telegram", external_id="700001", configured=True),
                CoordinatorView(
                    transport="matrix", external_id="@claude:example.org", regions=("BRE", "PDL")
                ),
            ]
        )
    )
    assert "Telegram 700001 — régions : partout — fichier de configuration" in shown
    assert "Matrix @claude:example.org — régions : Bretagne, Pays de la Loire" in shown


def test_announce_result_names_who_was_not_reached() -> None:
    assert "Annonce envoyée à 2" in text(announce_result(2, []))
    assert "pas joint·es : Alix, Basile" in text(announce_result(0, ["Alix", "Basile"]))


# -- resources -----------------------------------------------------------------------------------


def test_resource_form_reads_one_line() -> None:
    found = parse_resource_line(
        "Garradin | https://garradin.eu | gestion, compta, Numérique | AGPL-3.0 | Gestion d'asso"
    )
    assert isinstance(found, Resource)
    assert found.id == "garradin" and found.themes == ("gestion", "numerique")
    assert found.libre and found.kind == "outil" and found.license == "AGPL-3.0"
    closed = parse_resource_line("Doodle | https://doodle.com | gestion | proprietaire | Sondages")
    assert isinstance(closed, Resource) and not closed.libre


def test_resource_form_reports_every_problem() -> None:
    found = parse_resource_line("Truc | pas-une-url | astrologie | ??? | ")
    assert isinstance(found, tuple)
    assert {i.field for i in found} == {"url", "themes", "license", "summary"}
    parts = parse_resource_line("Truc | https://truc.org")
    assert isinstance(parts, tuple) and "2" in text((parts[0].message,))
    assert read_themes("énergie / gouvernance et compta") == ["energie", "gouvernance", "gestion"]


def test_resources_list_filters_by_theme() -> None:
    resources = [
        Resource(
            id="a", name="A", url="https://a.org", summary="s", themes=("gestion",), kind="outil"
        ),
        Resource(
            id="b",
            name="B",
            url="https://b.org",
            summary="s",
            themes=("energie",),
            kind="outil",
            license="proprietaire",
            libre=False,
        ),
    ]
    shown = text(resources_lines(resources, Filters(theme="energie"), "/"))
    assert "B (b)" in shown and "A (a)" not in shown and "non libre" in shown


# -- catalog files --------------------------------------------------------------------------------


def test_dry_run_counts_by_table_and_lists_ids() -> None:
    plan = PlanView(
        added=(("resources", "garradin"), ("aiguilleurs", "alix")),
        disabled=(("resources", "doodle"),),
    )
    shown = text(dry_run_lines("cat.yaml", plan, ["resources", "aiguilleurs"]))
    assert "Ressources : 1 ajout(s), 0 modification(s), 1 désactivation(s)" in shown
    assert "Aiguilleur·euses : 1 ajout(s)" in shown
    assert "+ ressource garradin (ajout)" in shown and "- ressource doodle" in shown
    assert "déjà à jour" in text(dry_run_lines("cat.yaml", PlanView(), ["resources"]))


def test_refused_file_names_line_entry_and_field() -> None:
    try:
        parse_catalog_yaml("resources:\n  - id: Bad Id\n    name: X\n")
    except CatalogError as exc:
        shown = text(file_refused("cat.yaml", exc.issues))
    else:
        raise AssertionError("the catalog should be refused")
    assert "rien n'a été importé" in shown
    assert "cat.yaml, ligne 2" in shown and "champ « id »" in shown
    assert "champ obligatoire manquant" in shown


# -- the inscription form ------------------------------------------------------------------------


def test_form_with_buttons_to_the_end() -> None:
    step = start()
    assert isinstance(step, Ask) and "Devenir aiguilleur·euse" in text(step.prompt.lines)
    labels = [text((label,)) for row in step.prompt.buttons for label, _ in row]
    assert "Gestion" in labels and "Valider (0)" in labels
    step = answer(step.data, pressed="done", typed=None)
    assert isinstance(step, Ask) and "au moins un thème" in text(step.prompt.lines)
    for theme in ("gestion", "numerique", "gestion", "energie"):
        step = answer(step.data, pressed=f"th:{theme}", typed=None)
        assert isinstance(step, Ask) and step.redraw
    labels = [text((label,)) for row in step.prompt.buttons for label, _ in row]
    assert "✅ Numérique" in labels and "Gestion" in labels and "Valider (2)" in labels
    step = answer(step.data, pressed="done", typed=None)
    assert isinstance(step, Ask) and Form.from_json(step.data).step == Step.REGIONS
    step = answer(step.data, pressed="rg:all", typed=None)
    assert isinstance(step, Ask) and Form.from_json(step.data).step == Step.CAPACITY
    step = answer(step.data, pressed="cap:2", typed=None)
    assert isinstance(step, Ask)
    summary = text(step.prompt.lines)
    assert "Thèmes : Énergie, Numérique" in summary and "Régions : partout" in summary
    assert "en même temps : 2" in summary
    done = answer(step.data, pressed="yes", typed=None)
    assert done == Done(themes=("energie", "numerique"), regions=(), capacity=2)


def test_form_typed_with_retries_then_cancelled() -> None:
    step = start()
    assert isinstance(step, Ask)
    for bad in ("astrologie", "12", ""):
        retry = answer(step.data, pressed=None, typed=bad)
        assert isinstance(retry, Ask) and "aucun thème" in text(retry.prompt.lines)
    step = answer(step.data, pressed=None, typed="5 6")
    assert isinstance(step, Ask) and Form.from_json(step.data).themes == ("gestion", "numerique")
    retry = answer(step.data, pressed=None, typed="Atlantide")
    assert isinstance(retry, Ask) and "pas reconnu ces régions" in text(retry.prompt.lines)
    step = answer(step.data, pressed=None, typed="Bretagne et Pays de la Loire")
    assert isinstance(step, Ask) and Form.from_json(step.data).regions == ("BRE", "PDL")
    retry = answer(step.data, pressed=None, typed="50")
    assert isinstance(retry, Ask) and "de 1 à 20" in text(retry.prompt.lines)
    step = answer(step.data, pressed=None, typed="4")
    assert isinstance(step, Ask)
    retry = answer(step.data, pressed=None, typed="peut-être")
    assert isinstance(retry, Ask) and Form.from_json(retry.data).step == Step.CONFIRM
    assert isinstance(answer(step.data, pressed=None, typed="non"), Cancelled)
    assert isinstance(answer(step.data, pressed=None, typed="oui"), Done)


def test_update_form_starts_from_the_profile() -> None:
    step = start(("numerique",), ("BRE",), 4, update=True)
    assert "Votre profil" in text(step.prompt.lines)
    labels = [text((label,)) for row in step.prompt.buttons for label, _ in row]
    assert "✅ Numérique" in labels and "Valider (1)" in labels
    regions = answer(step.data, pressed="done", typed=None)
    assert isinstance(regions, Ask) and "Actuellement : Bretagne" in text(regions.prompt.lines)


def test_typed_words_readers() -> None:
    assert form_themes("compta et énergie") == ("energie", "gestion")
    assert form_themes("9") == ()
    assert read_regions("toutes") == ()
    assert read_regions("BRE, idf; Provence-Alpes-Côte d'Azur") == ("BRE", "IDF", "PAC")
    assert read_regions("Bretagne Normandie") == ("BRE", "NOR")
    assert read_regions("Bretagne, Narnia") is None
    assert read_capacity("20") == 20 and read_capacity("0") is None and read_capacity("x") is None


def test_a_broken_form_state_restarts_at_themes() -> None:
    step = answer({"step": "nowhere", "themes": ["cuisine"]}, pressed=None, typed="gestion")
    assert isinstance(step, Ask) and Form.from_json(step.data).themes == ("gestion",)


# -- interventions -------------------------------------------------------------------------------


def test_durations_and_totals() -> None:
    assert text((duration(90),)) == "1 h 30"
    assert text((duration(120),)) == "2 h"
    assert text((duration(5),)) == "5 min"
    assert text((duration(65),), "en") == "1 h 05"
    shown = text(recorded("AIG-0042", 90, "salarie", "Camille", 2, 135))
    assert "1 h 30 pour Camille (temps salarié d'une structure)" in shown
    assert "Total pour AIG-0042 : 2 h 15 en 2 intervention(s)" in shown
