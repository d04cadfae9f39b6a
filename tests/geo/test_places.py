"""Place lookup: postal codes, département numbers and names, communes, locations, data."""

from __future__ import annotations

import csv
import io
from collections import Counter
from importlib.resources import files

import pytest

from dialogs.geo.places import (
    MAX_CANDIDATES,
    Ambiguous,
    Found,
    InRegion,
    NotFound,
    Place,
    PlaceLookup,
    UnknownPostalCode,
    _within_one_edit,
    departement,
    departements,
    lookup_place,
    place_from_location,
    region_codes,
    region_name,
)

REGIONS = (
    "ARA", "BFC", "BRE", "CVL", "COR", "GES", "HDF", "IDF", "NOR",
    "NAQ", "OCC", "PDL", "PAC", "971", "972", "973", "974", "976",
)  # fmt: skip


def rows(name: str) -> list[dict[str, str]]:
    text = (files("dialogs.geo") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def found(text: str) -> Place:
    result = lookup_place(text)
    assert isinstance(result, Found), f"{text!r} gave {result!r}"
    return result.place


def ambiguous(text: str) -> tuple[Place, ...]:
    result = lookup_place(text)
    assert isinstance(result, Ambiguous), f"{text!r} gave {result!r}"
    return result.places


def codes(places: tuple[Place, ...]) -> list[str]:
    return [p.departement.code for p in places]


# --- postal codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "dep", "region", "commune"),
    [
        ("29200", "29", "BRE", "Brest"),
        ("20000", "2A", "COR", "Ajaccio"),
        ("20100", "2A", "COR", "Sartène"),
        ("20200", "2B", "COR", "Bastia"),
        ("20600", "2B", "COR", "Furiani"),
        ("97400", "974", "974", "Saint-Denis"),
        ("97600", "976", "976", "Mamoudzou"),
        ("97100", "971", "971", "Basse-Terre"),
        ("97200", "972", "972", "Fort-de-France"),
        ("97300", "973", "973", "Cayenne"),
        ("75011", "75", "IDF", "Paris"),
        ("75116", "75", "IDF", "Paris"),
        ("69003", "69", "ARA", "Lyon"),
        ("13008", "13", "PAC", "Marseille"),
        ("01000", "01", "ARA", "Bourg-en-Bresse"),
    ],
)
def test_postal_code(typed: str, dep: str, region: str, commune: str) -> None:
    place = found(typed)
    assert place.departement.code == dep
    assert place.departement.region == region
    assert place.commune == commune
    assert place.postal_code == typed


def test_postal_code_of_no_known_commune_keeps_the_departement() -> None:
    place = found("29999")
    assert place.departement.code == "29"
    assert place.commune is None
    assert place.postal_code == "29999"


def test_postal_code_shared_by_known_communes_names_none() -> None:
    # Gordes and Roussillon share 84220: the département is sure, the commune is not.
    place = found("84220")
    assert place.departement.code == "84"
    assert place.commune is None


def test_postal_code_with_commune_name_and_address() -> None:
    assert found("29200 Brest").commune == "Brest"
    assert found("Brest 29200").commune == "Brest"
    place = found("12 rue de Siam, 29200 Brest")
    assert (place.departement.code, place.commune, place.postal_code) == ("29", "Brest", "29200")
    assert found("code postal : 29200").departement.code == "29"


@pytest.mark.parametrize(
    "typed", ["00000", "99999", "98000", "96100", "97500", "97700", "97800", "20800"]
)
def test_postal_code_outside_any_departement(typed: str) -> None:
    assert lookup_place(typed) == UnknownPostalCode(code=typed)


def test_saint_martin_and_saint_barthelemy_are_in_no_departement() -> None:
    assert lookup_place("97150") == UnknownPostalCode(code="97150")
    assert lookup_place("97133") == UnknownPostalCode(code="97133")


# --- département numbers and names ----------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "dep"),
    [
        ("29", "29"),
        ("01", "01"),
        ("1", "01"),
        ("9", "09"),
        ("2a", "2A"),
        ("2B", "2B"),
        ("974", "974"),
        ("976", "976"),
        ("95", "95"),
        ("dans le 29", "29"),
        ("département 35", "35"),
        ("dept. 2A", "2A"),
    ],
)
def test_departement_number(typed: str, dep: str) -> None:
    place = found(typed)
    assert place.departement.code == dep
    assert place.commune is None


def test_20_is_either_corsican_departement() -> None:
    assert codes(ambiguous("20")) == ["2A", "2B"]


@pytest.mark.parametrize("typed", ["0", "00", "96", "975", "977", "100", "2c"])
def test_not_a_departement_number(typed: str) -> None:
    assert lookup_place(typed) == NotFound()


@pytest.mark.parametrize(
    ("typed", "dep"),
    [
        ("Finistère", "29"),
        ("finistere", "29"),
        ("FINISTERE", "29"),
        ("le finistère", "29"),
        ("dans le Finistère", "29"),
        ("j'habite dans le Finistère", "29"),
        ("Côtes d'Armor", "22"),
        ("cotes-darmor", "22"),
        ("Cotes d Armor", "22"),
        ("Côte-d'Or", "21"),
        ("cote dor", "21"),
        ("Seine-Saint-Denis", "93"),
        ("seine st denis", "93"),
        ("Val d'Oise", "95"),
        ("Corse-du-Sud", "2A"),
        ("haute corse", "2B"),
        ("Territoire de Belfort", "90"),
        ("La Réunion", "974"),
        ("reunion", "974"),
        ("à la Réunion", "974"),
        ("Guyane", "973"),
        ("Pyrénées-Orientales", "66"),
        ("Loir-et-Cher", "41"),
        ("Loire", "42"),
        ("Loiret", "45"),
    ],
)
def test_departement_name(typed: str, dep: str) -> None:
    place = found(typed)
    assert place.departement.code == dep
    assert place.commune is None


def test_commune_with_the_name_of_its_departement_is_the_commune() -> None:
    paris = found("Paris")
    assert (paris.departement.code, paris.commune) == ("75", "Paris")
    mayenne = found("Mayenne")
    assert (mayenne.departement.code, mayenne.commune) == ("53", "Mayenne")


def test_commune_with_the_name_of_another_departement_is_ambiguous() -> None:
    places = ambiguous("Vienne")
    assert [(p.departement.code, p.commune) for p in places] == [("38", "Vienne"), ("86", None)]


def in_region(text: str) -> InRegion:
    result = lookup_place(text)
    assert isinstance(result, InRegion), f"{text!r} gave {result!r}"
    return result


def test_region_offers_its_departements() -> None:
    assert codes(in_region("Bretagne").places) == ["22", "29", "35", "56"]
    assert codes(in_region("Corse").places) == ["2A", "2B"]
    idf = in_region("Île-de-France")
    assert (idf.region, codes(idf.places)) == (
        "IDF",
        ["75", "77", "78", "91", "92", "93", "94", "95"],
    )


@pytest.mark.parametrize(
    ("typed", "region", "count"),
    [
        ("Occitanie", "OCC", 13),
        ("Grand Est", "GES", 10),
        ("grand-est", "GES", 10),
        ("Nouvelle-Aquitaine", "NAQ", 12),
        ("nouvelle aquitaine", "NAQ", 12),
        ("Auvergne-Rhône-Alpes", "ARA", 12),
        ("AUVERGNE RHONE ALPES", "ARA", 12),
        ("Provence-Alpes-Côte d'Azur", "PAC", 6),
        ("PACA", "PAC", 6),
        ("Bourgogne Franche Comte", "BFC", 8),
        ("hauts de france", "HDF", 5),
        ("en Occitanie", "OCC", 13),
        ("région Grand Est", "GES", 10),
        ("Ocitanie", "OCC", 13),  # one typo
    ],
)
def test_any_region_is_understood_with_or_without_accents(
    typed: str, region: str, count: int
) -> None:
    result = in_region(typed)
    assert result.region == region
    assert len(result.places) == count
    assert all(p.departement.region == region and p.commune is None for p in result.places)


def test_a_region_that_is_a_departement_or_with_a_number_is_not_a_region() -> None:
    assert found("La Réunion").departement.code == "974"
    assert found("Occitanie 31").departement.code == "31"
    assert found("Rennes, Bretagne").commune == "Rennes"


def test_overseas_name_is_the_departement() -> None:
    assert found("Guadeloupe").departement.code == "971"
    assert found("Mayotte").departement.code == "976"


# --- communes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "dep", "commune", "postal_code"),
    [
        ("Brest", "29", "Brest", "29200"),
        ("brest", "29", "Brest", "29200"),
        ("brest (29)", "29", "Brest", "29200"),
        ("Brest, Finistère", "29", "Brest", "29200"),
        ("Lyon", "69", "Lyon", "69001"),
        ("Saint-Étienne", "42", "Saint-Étienne", "42000"),
        ("st etienne", "42", "Saint-Étienne", "42000"),
        ("St-Étienne", "42", "Saint-Étienne", "42000"),
        ("Saint Etienne", "42", "Saint-Étienne", "42000"),
        ("ste maxime", "83", "Sainte-Maxime", "83120"),
        ("Le Havre", "76", "Le Havre", "76600"),
        ("au Mans", "72", "Le Mans", "72000"),
        ("à La Rochelle", "17", "La Rochelle", "17000"),
        ("je suis à Lorient", "56", "Lorient", "56100"),
        ("l'ile rousse", "2B", "L'Île-Rousse", "20220"),
        ("Ajaccio", "2A", "Ajaccio", "20000"),
        ("Bastia", "2B", "Bastia", "20200"),
        ("Mamoudzou", "976", "Mamoudzou", "97600"),
        ("Cayenne", "973", "Cayenne", "97300"),
        ("Valence d'Agen", "82", "Valence", "82400"),
        ("Cherbourg", "50", "Cherbourg-en-Cotentin", "50100"),
        ("Montreuil-sous-Bois", "93", "Montreuil", "93100"),
    ],
)
def test_commune(typed: str, dep: str, commune: str, postal_code: str) -> None:
    place = found(typed)
    assert (place.departement.code, place.commune, place.postal_code) == (
        dep,
        commune,
        postal_code,
    )


def test_paris_lyon_marseille_arrondissements() -> None:
    assert found("Paris 11e").postal_code == "75011"
    assert found("Paris 11ème arrondissement").postal_code == "75011"
    assert found("paris 11").postal_code == "75011"
    assert found("Lyon 1er").postal_code == "69001"
    assert found("Lyon 3").postal_code == "69003"
    assert found("Marseille 13e").postal_code == "13013"
    # The département's own number is the département, not an arrondissement.
    assert found("Paris 75").departement.code == "75"
    assert found("Marseille 13").departement.code == "13"


def test_homonym_communes_are_ambiguous_in_departement_order() -> None:
    places = ambiguous("Saint-Denis")
    assert codes(places) == ["93", "974"]
    assert {p.commune for p in places} == {"Saint-Denis"}
    assert codes(ambiguous("Valence")) == ["26", "82"]
    assert codes(ambiguous("Saint-Louis")) == ["68", "971", "974"]
    assert codes(ambiguous("Montreuil")) == ["62", "93"]


@pytest.mark.parametrize(
    ("typed", "dep"),
    [
        ("Saint-Denis 93", "93"),
        ("Saint Denis (93)", "93"),
        ("93 Saint-Denis", "93"),
        ("Saint-Denis 974", "974"),
        ("Saint-Denis (La Réunion)", "974"),
        ("Saint-Denis de la Réunion", "974"),
        ("Saint-Denis, Réunion", "974"),
        ("Saint-Denis Seine-Saint-Denis", "93"),
        ("Saint-Denis Île-de-France", "93"),
        ("La Réunion, Saint-Denis", "974"),
        ("Valence Drôme", "26"),
        ("Valence (Tarn-et-Garonne)", "82"),
    ],
)
def test_homonym_disambiguated_by_departement_or_region(typed: str, dep: str) -> None:
    place = found(typed)
    assert place.departement.code == dep
    assert place.commune in {"Saint-Denis", "Valence"}


def test_unknown_commune_in_a_named_departement_keeps_the_departement() -> None:
    charente = departement("16")
    assert charente is not None
    assert found("Valence 16") == Place(departement=charente)
    place = found("Kerlouan, Finistère")
    assert (place.departement.code, place.commune) == ("29", None)


def test_linking_words_keep_a_name_whole() -> None:
    # Not "Châteauneuf" in the Loire (42): one commune, in the Loiret.
    assert found("Châteauneuf-sur-Loire").departement.code == "45"
    # Unknown hyphenated commune: no département is read out of its name.
    assert lookup_place("Pont-de-l'Isère") == NotFound()


@pytest.mark.parametrize(
    ("typed", "dep", "commune"),
    [
        ("Montpelier", "34", "Montpellier"),
        ("Bordeau", "33", "Bordeaux"),
        ("Strasbourgg", "67", "Strasbourg"),
        ("Tolouse", "31", "Toulouse"),
        ("Finistre", "29", None),
        ("Morbian", "56", None),
        ("Aix en Provance", "13", "Aix-en-Provence"),
        ("st etiene", "42", "Saint-Étienne"),
    ],
)
def test_one_typo_in_a_long_name(typed: str, dep: str, commune: str | None) -> None:
    place = found(typed)
    assert (place.departement.code, place.commune) == (dep, commune)


def test_typo_that_fits_two_names_or_a_short_name_is_not_guessed() -> None:
    assert lookup_place("loires") == NotFound()  # Loire or Loiret
    assert lookup_place("brets") == NotFound()  # "Brest" is too short to guess


def test_typo_in_homonym_is_still_ambiguous_then_disambiguated() -> None:
    assert codes(ambiguous("Sant-Denis")) == ["93", "974"]
    assert found("Sant-Denis 93").departement.code == "93"


@pytest.mark.parametrize("typed", ["", "   ", "?!", "Zzyzxville", "Bruxelles", "n'importe quoi"])
def test_not_found(typed: str) -> None:
    assert lookup_place(typed) == NotFound()


def test_within_one_edit() -> None:
    assert _within_one_edit("brest", "brest")
    assert _within_one_edit("bordeau", "bordeaux")
    assert _within_one_edit("montpelier", "montpellier")
    assert _within_one_edit("tolouse", "toulouse")
    assert _within_one_edit("nates", "nantes")
    assert _within_one_edit("nantse", "nantes")  # neighbours swapped
    assert _within_one_edit("nanets", "nantes")
    assert not _within_one_edit("naents", "nantes")
    assert not _within_one_edit("lyon", "lille")
    assert not _within_one_edit("paris", "pa")


def test_ambiguous_results_are_capped() -> None:
    for text in ("Saint-Denis", "20", "Saint-Louis"):
        result: PlaceLookup = lookup_place(text)
        assert isinstance(result, Ambiguous)
        assert 2 <= len(result.places) <= MAX_CANDIDATES


# --- locations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lat", "lon", "dep", "region"),
    [
        (48.1173, -1.6778, "35", "BRE"),  # Rennes
        (41.9192, 8.7386, "2A", "COR"),  # Ajaccio
        (42.6977, 9.4508, "2B", "COR"),  # Bastia
        (-20.8823, 55.4504, "974", "974"),  # Saint-Denis de La Réunion
        (48.5734, 7.7521, "67", "GES"),  # Strasbourg
        (50.6292, 3.0573, "59", "HDF"),  # Lille
        (48.8566, 2.3522, "75", "IDF"),  # Paris
        (43.2965, 5.3698, "13", "PAC"),  # Marseille
        (47.2184, -1.5536, "44", "PDL"),  # Nantes
        (16.2650, -61.5510, "971", "971"),  # Guadeloupe
        (14.6161, -61.0588, "972", "972"),  # Fort-de-France
        (4.9224, -52.3135, "973", "973"),  # Cayenne
        (-12.7806, 45.2278, "976", "976"),  # Mamoudzou
    ],
)
def test_location(lat: float, lon: float, dep: str, region: str) -> None:
    place = place_from_location(lat, lon)
    assert place is not None
    assert (place.departement.code, place.departement.region) == (dep, region)
    assert place.commune is None


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (45.0, -20.0),  # Atlantic
        (52.52, 13.405),  # Berlin
        (40.4168, -3.7038),  # Madrid
        (0.0, 0.0),
        (float("nan"), 2.0),
        (91.0, 2.0),
    ],
)
def test_location_outside_france(lat: float, lon: float) -> None:
    assert place_from_location(lat, lon) is None


# --- helpers and data ---------------------------------------------------------------


def test_departement_helpers() -> None:
    finistere = departement("29")
    assert finistere is not None
    assert (finistere.name, finistere.region) == ("Finistère", "BRE")
    assert departement("2a") == departement("2A")
    assert departement("20") is None
    assert departement("") is None


def test_regions() -> None:
    assert region_codes() == REGIONS
    assert region_name("ARA") == "Auvergne-Rhône-Alpes"
    assert region_name("PAC") == "Provence-Alpes-Côte d'Azur"
    assert region_name("IDF") == "Île-de-France"
    assert region_name("974") == "La Réunion"
    with pytest.raises(KeyError):
        region_name("XXX")


def test_departements_data() -> None:
    deps = departements()
    assert len(deps) == 101
    assert len({d.code for d in deps}) == 101
    expected = {f"{n:02d}" for n in range(1, 96) if n != 20} | {"2A", "2B"}
    expected |= {"971", "972", "973", "974", "976"}
    assert {d.code for d in deps} == expected
    assert all(d.region in REGIONS for d in deps)
    assert {d.region for d in deps} == set(REGIONS)
    for d in deps:
        assert d.name and d.name == d.name.strip()
        if len(d.code) == 2:  # metropolitan France, Corsica included
            assert 41.3 < d.lat < 51.1 and -5.2 < d.lon < 9.6, d
    # Overseas départements are their own région.
    assert all(d.region == d.code for d in deps if len(d.code) == 3)


def test_regions_data() -> None:
    regions = rows("regions.csv")
    assert [r["code"] for r in regions] == list(REGIONS)
    assert len({r["name"] for r in regions}) == 18


def test_communes_data() -> None:
    communes = rows("communes.csv")
    assert len(communes) >= 600
    deps = {d.code for d in departements()}
    assert all(c["departement"] in deps for c in communes)
    pairs = Counter((c["name"], c["departement"]) for c in communes)
    assert [pair for pair, n in pairs.items() if n > 1] == []
    # Every département has communes, its préfecture among them.
    assert {c["departement"] for c in communes} == deps
    for c in communes:
        assert c["name"] == c["name"].strip() and c["name"], c
        code, dep = c["postal_code"], c["departement"]
        assert len(code) == 5 and code.isdigit(), c
        # The postal code leads back to the commune's département.
        result = lookup_place(code)
        assert isinstance(result, Found), c
        assert result.place.departement.code == dep, c


@pytest.mark.parametrize(
    ("name", "dep"),
    [
        ("Quimper", "29"),
        ("Rennes", "35"),
        ("Bourg-en-Bresse", "01"),
        ("Laon", "02"),
        ("Digne-les-Bains", "04"),
        ("Charleville-Mézières", "08"),
        ("Foix", "09"),
        ("Évreux", "27"),
        ("Mont-de-Marsan", "40"),
        ("Lons-le-Saunier", "39"),
        ("Évry-Courcouronnes", "91"),
        ("Cergy", "95"),
        ("Basse-Terre", "971"),
        ("Mamoudzou", "976"),
    ],
)
def test_prefectures_are_known(name: str, dep: str) -> None:
    place = found(name)
    assert (place.departement.code, place.commune) == (dep, name)


def test_every_commune_name_finds_its_commune() -> None:
    for c in rows("communes.csv"):
        result = lookup_place(c["name"])
        if isinstance(result, Found):
            assert result.place.commune == c["name"], c
            assert result.place.departement.code == c["departement"], c
        else:
            assert isinstance(result, Ambiguous), c
            assert any(
                p.commune == c["name"] and p.departement.code == c["departement"]
                for p in result.places
            ), c
