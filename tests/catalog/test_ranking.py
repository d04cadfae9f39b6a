"""One test per ranking rule of the matching engine, on small hand-made catalogs
(and a few on the starter catalog)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from dialogs.catalog.load import Resource
from dialogs.catalog.matching import MatchIndex, MatchQuery, MatchResult, infer_themes, match
from dialogs.catalog.matching.text import stem, within_distance
from dialogs.kernel.render import render_msg
from tests.catalog.helpers import person, resource, seed_catalog

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)

SMALL = (
    resource(
        "gestion-asso",
        name="Gestion Asso",
        summary="Logiciel de gestion des adhésions et de la comptabilité d'une association.",
        themes=("gestion",),
        tags=("adhesions", "comptabilite"),
    ),
    resource(
        "covoit",
        name="Covoit",
        summary="Plateforme de covoiturage pour les usagers et les événements.",
        themes=("mobilite",),
        tags=("covoiturage",),
    ),
    resource(
        "resa-salles",
        name="Resa Salles",
        summary="Outil de réservation des salles et des machines.",
        themes=("gestion",),
        tags=("reservation", "machines"),
    ),
    resource(
        "four",
        name="Four",
        summary="Tutoriels pour construire un four solaire en atelier.",
        themes=("energie",),
        tags=("low-tech",),
    ),
)


def ids(result: MatchResult) -> list[str]:
    return [p.id for p in result.resources]


def top(resources: tuple[Resource, ...] | list[Resource], text: str, **query: object) -> list[str]:
    return ids(match(MatchIndex.build(resources), MatchQuery(text=text, **query), []))  # type: ignore[arg-type]


# ------------------------------------------------------------ text relevance


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("comptabilité", "gestion-asso"),
        ("comptabilite", "gestion-asso"),  # no accents
        ("COMPTABILITÉE", "gestion-asso"),  # typo and upper case
        ("nos adhesion", "gestion-asso"),  # singular for a plural
        ("covoitrage", "covoit"),  # swapped letters
        ("covoiturages", "covoit"),
        ("on voudrait réserver les machines", "resa-salles"),  # verb for a noun
        ("nous réservons", "resa-salles"),  # conjugated
        ("construire des fours solaires", "four"),
    ],
)
def test_text_relevance_survives_accents_typos_plurals_conjugation(
    text: str, expected: str
) -> None:
    assert top(SMALL, text)[0] == expected


def test_stemmer_and_distance() -> None:
    assert stem("réservation") == stem("réserver")
    assert stem("électricité") == stem("électrique")
    assert stem("adhesions") == stem("adhesion")
    # Related forms meet, unrelated words that look alike stay apart.
    for a, b in (("notion", "notes"), ("instant", "instance"), ("commune", "communs")):
        assert stem(a) != stem(b), (a, b)
    assert within_distance("covoitrage", "covoiturage", 2)
    assert not within_distance("velo", "vote", 1) or len("velo") < 5


def test_unrelated_text_proposes_nothing() -> None:
    assert top(SMALL, "zzz qwerty") == []
    assert top(SMALL, "") == []


# --------------------------------------------------------------------- themes

TWINS = (
    resource("atelier-energie", summary="Atelier collectif pour le quartier.", themes=("energie",)),
    resource(
        "atelier-mobilite", summary="Atelier collectif pour le quartier.", themes=("mobilite",)
    ),
)


def test_given_theme_lifts_its_resources() -> None:
    assert top(TWINS, "atelier collectif", themes=("mobilite",))[0] == "atelier-mobilite"
    assert top(TWINS, "atelier collectif", themes=("energie",))[0] == "atelier-energie"


def test_given_theme_fills_the_list_when_text_says_little() -> None:
    assert "four" in top(SMALL, "bonjour", themes=("energie",))


def test_themes_inferred_when_not_given() -> None:
    index = MatchIndex.build(seed_catalog().resources)
    text = "la facture d'électricité explose, le bâtiment est mal isolé"
    result = match(index, MatchQuery(text=text), [])
    assert result.themes_inferred and result.themes[0] == "energie"
    given = match(index, MatchQuery(text=text, themes=("gestion",)), [])
    assert given.themes == ("gestion",) and not given.themes_inferred
    assert "energie" in infer_themes(text)
    assert "energie" in infer_themes(text, index)


def test_inference_finds_nothing_in_small_talk() -> None:
    assert infer_themes("bonjour, merci beaucoup") == ()


# ----------------------------------------------------------------------- tags


def test_tags_weigh_more_than_the_summary() -> None:
    catalog = (
        resource("decide", summary="Outil de participation.", tags=("budget participatif",)),
        resource("mention", summary="Outil qui parle aussi de budget et de vote participatif."),
    )
    assert top(catalog, "lancer un budget participatif") == ["decide", "mention"]


# ------------------------------------------------------------------- replaces


def test_naming_a_proprietary_tool_proposes_what_replaces_it() -> None:
    catalog = (
        resource(
            "framadate",
            summary="Sondage de dates sans publicité.",
            tags=("sondage", "date"),
            replaces=("Doodle",),
        ),
        resource("doodle", summary="Service commercial de sondage de dates.", libre=False),
        resource("autre", summary="Planifier les réunions de l'équipe."),
    )
    result = match(MatchIndex.build(catalog), MatchQuery(text="on utilise Doodle"), [])
    assert ids(result)[0] == "framadate"
    assert result.resources[0].why[0].key in ("why.replaces", "why.replaces_for")
    assert result.resources[0].why[0].params["tool"] == "Doodle"
    assert render_msg("fr", result.resources[0].why[0]).startswith("remplace Doodle")
    assert "doodle" not in ids(result)


def test_multi_word_tool_names() -> None:
    catalog = (
        resource("framaforms", replaces=("Google Forms",), summary="Formulaires en ligne."),
        resource("cryptpad", replaces=("Google Docs",), summary="Documents partagés."),
    )
    assert top(catalog, "les inscriptions passent par google forms")[0] == "framaforms"


# ---------------------------------------------------------- libre, proprietary


def test_libre_before_proprietary_at_equal_relevance() -> None:
    catalog = (
        resource("a-proprietaire", summary="Billetterie en ligne.", libre=False),
        resource("z-libre", summary="Billetterie en ligne."),
    )
    # With fewer than three libre resources, the proprietary one is not shown.
    assert top(catalog, "billetterie en ligne") == ["z-libre"]
    more = catalog + tuple(
        resource(f"libre-{n}", summary="Billetterie en ligne.") for n in range(3)
    )
    ranked = top(more, "billetterie en ligne")
    assert ranked.index("a-proprietaire") == 4


# ------------------------------------------------------------------- régions

REGIONAL = (
    resource("national", summary="Réseau de tiers-lieux pour échanger.", tags=("reseau",)),
    resource("breton", summary="Réseau de tiers-lieux pour échanger.", regions=("BRE",)),
)


def test_regional_resources_only_in_their_region() -> None:
    assert top(REGIONAL, "réseau de tiers-lieux") == ["national"]
    assert top(REGIONAL, "réseau de tiers-lieux", region="OCC") == ["national"]


def test_regional_resource_ahead_of_national_in_its_region() -> None:
    result = match(
        MatchIndex.build(REGIONAL), MatchQuery(text="réseau de tiers-lieux", region="BRE"), []
    )
    assert ids(result) == ["breton", "national"]
    assert result.resources[0].why[0].key == "why.regional"
    assert render_msg("fr", result.resources[0].why[0]) == (
        "pour les tiers-lieux de la région Bretagne"
    )


# ------------------------------------------------------------------ diversity


def test_near_duplicates_do_not_fill_the_list() -> None:
    clones = tuple(
        resource(
            f"visio-{n}",
            summary="Visioconférence pour les réunions.",
            tags=("visio", "reunion"),
            replaces=("Zoom",),
        )
        for n in range(6)
    )
    # Relevant too, but less than each clone on its own.
    different = resource(
        "pad", summary="Notes partagées pendant les réunions, même en visio.", tags=("notes",)
    )
    ranked = top((*clones, different), "réunions en visio", limit=5)
    assert len(ranked) == 5
    # The pad matches far less (two summary words against two tags of each
    # clone) and still comes before the fourth clone.
    assert ranked.index("pad") <= 3
    assert top((*clones, different), "réunions en visio", limit=1) == ["visio-0"]


# ---------------------------------------------------------------- aiguilleurs


def people_ids(result: MatchResult) -> list[str]:
    return [p.id for p in result.aiguilleurs]


def propose(candidates: list, **query: object) -> MatchResult:  # type: ignore[type-arg]
    values: dict[str, object] = {"text": "atelier", "themes": ("numerique",)}
    values.update(query)
    return match(MatchIndex.build(SMALL), MatchQuery(**values), candidates)  # type: ignore[arg-type]


def test_unavailable_or_full_aiguilleurs_are_not_proposed() -> None:
    result = propose(
        [
            person("absent", available=False),
            person("plein", capacity=2, active_cases=2),
            person("zero", capacity=0),
            person("libre", capacity=2, active_cases=1),
        ]
    )
    assert people_ids(result) == ["libre"]


def test_main_theme_then_region_then_other_themes() -> None:
    result = propose(
        [
            person("ailleurs", regions=("OCC",)),
            person("partout"),
            person("ici", regions=("BRE",)),
            person("ici-sans-le-theme", regions=("BRE",), themes=("energie",)),
            person("ici-en-second", regions=("BRE",), themes=("gestion", "numerique")),
            person("main-et-autre", regions=("OCC",), themes=("numerique", "gestion")),
        ],
        themes=("numerique", "gestion"),
        region="BRE",
        limit=5,
    )
    # Specialists of the main theme first wherever they are (same région, then
    # everywhere, then elsewhere, the other theme breaking ties), then those
    # who have it second; nobody without the themes.
    assert people_ids(result) == ["ici", "partout", "main-et-autre"]
    everyone = match(
        MatchIndex.build(SMALL),
        MatchQuery(text="atelier", themes=("numerique", "gestion"), region="BRE"),
        [
            person("ailleurs", regions=("OCC",)),
            person("ici-en-second", regions=("BRE",), themes=("gestion", "numerique")),
            person("ici-sans-le-theme", regions=("BRE",), themes=("energie",)),
        ],
        limit_aiguilleurs=5,
    )
    assert people_ids(everyone) == ["ailleurs", "ici-en-second"]


def test_people_without_the_themes_are_not_proposed() -> None:
    result = propose([person("energie", themes=("energie",), regions=("BRE",))], region="BRE")
    assert people_ids(result) == []


def test_lighter_load_first_among_equals() -> None:
    result = propose([person("a", active_cases=2), person("b", active_cases=0)])
    assert people_ids(result) == ["b", "a"]


def test_rotation_among_equals() -> None:
    week_ago = NOW - timedelta(days=7)
    candidates = [
        person("a", last_proposed_at=NOW),
        person("b", last_proposed_at=week_ago),
        person("c"),
    ]
    assert people_ids(propose(candidates, limit=1)) == ["c", "b", "a"]
    assert people_ids(
        match(MatchIndex.build(SMALL), MatchQuery(text="x", themes=("numerique",)), candidates, 1)
    ) == ["c"]
    # Once "c" has been proposed, the next equal request goes to "b".
    candidates[2] = person("c", last_proposed_at=NOW + timedelta(minutes=1))
    assert people_ids(propose(candidates, limit=1))[0] == "b"


def test_ties_broken_by_id() -> None:
    assert people_ids(propose([person("zoe"), person("alix")])) == ["alix", "zoe"]


def test_aiguilleur_reasons() -> None:
    result = propose([person("ici", regions=("BRE",))], region="BRE")
    assert [m.key for m in result.aiguilleurs[0].why] == ["why.person"]
    assert render_msg("fr", result.aiguilleurs[0].why[0]) == (
        "spécialiste numérique, dans votre région (Bretagne), disponible"
    )
    assert render_msg("en", result.aiguilleurs[0].why[0]) == (
        "numérique specialist, in your region (Bretagne), available"
    ) or render_msg("en", result.aiguilleurs[0].why[0]).endswith(", available")


# -------------------------------------------------------- reasons, determinism


@pytest.mark.parametrize(
    "text",
    [
        "on utilise doodle pour caler les réunions",
        "panneaux solaires sur le toit",
        "la compta de l'asso",
        "covoiturage pour le festival",
    ],
)
def test_every_proposal_says_why_in_french(text: str) -> None:
    catalog = seed_catalog()
    result = match(
        MatchIndex.build(catalog.resources),
        MatchQuery(text=text, region="BRE"),
        [person(a.id, **_profile(a)) for a in catalog.aiguilleurs],
    )
    assert result.resources
    for proposal in result.resources + result.aiguilleurs:
        assert proposal.why
        for reason in proposal.why:
            rendered = render_msg("fr", reason)
            assert rendered and "{" not in rendered and not rendered.startswith("why.")


def _profile(profile: object) -> dict[str, object]:
    return {
        k: getattr(profile, k)
        for k in ("name", "matrix_id", "themes", "regions", "capacity", "available", "demo")
    }


def test_deterministic_whatever_the_input_order() -> None:
    resources = list(seed_catalog().resources)
    shuffled = resources[:]
    random.Random(3).shuffle(shuffled)
    query = MatchQuery(text="vendre des paniers de légumes en ligne")
    first = match(MatchIndex.build(resources), query, [])
    assert match(MatchIndex.build(shuffled), query, []) == first
    assert match(MatchIndex.build(resources), query, []) == first


def test_limit_is_respected() -> None:
    index = MatchIndex.build(seed_catalog().resources)
    assert len(match(index, MatchQuery(text="tiers-lieux réseau", limit=2), []).resources) == 2
    assert match(index, MatchQuery(text="tiers-lieux", limit=0), []).resources == ()
