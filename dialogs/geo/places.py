"""Where a tiers-lieu is: French départements, régions and communes.

Sans-I/O apart from reading the bundled CSV files once: `lookup_place` turns what
a person typed ("29", "Finistère", "29200 Brest", "st etienne", "Saint-Denis
(La Réunion)", "Paris 11e") into a place, and `place_from_location` does the same
for a location shared from a phone. Every comparison of typed text goes through
`fold`, and names are compared with their spaces removed so that "cotes-darmor"
meets "Côtes-d'Armor".
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.resources import files

from dialogs.kernel.textnorm import fold

__all__ = [
    "Ambiguous",
    "Departement",
    "Found",
    "InRegion",
    "NotFound",
    "Place",
    "PlaceLookup",
    "UnknownPostalCode",
    "departement",
    "departements",
    "lookup_place",
    "place_from_location",
    "region_codes",
    "region_name",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Departement:
    code: str  # "29", "2A", "974"
    name: str  # "Finistère"
    region: str  # "BRE"
    lat: float
    lon: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    departement: Departement
    # Set only when the person named a commune, or typed a postal code of one we know.
    commune: str | None = None
    postal_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    place: Place


@dataclass(frozen=True, slots=True, kw_only=True)
class Ambiguous:
    places: tuple[Place, ...]  # 2..MAX_CANDIDATES, in département order


@dataclass(frozen=True, slots=True, kw_only=True)
class InRegion:
    """A région was named ("Occitanie", "grand est"): its départements, in order,
    for the person to pick one (or to name their town)."""

    region: str  # "OCC"
    places: tuple[Place, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownPostalCode:
    code: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NotFound:
    pass


PlaceLookup = Found | Ambiguous | InRegion | UnknownPostalCode | NotFound

# One button per candidate: more would not fit a chat keyboard.
MAX_CANDIDATES = 8
# Farther than this from every centroid is abroad or at sea; the largest
# département (Guyane) reaches about 250 km from its centroid.
OUTSIDE_KM = 250.0
# Shorter names are too close to each other for a typo to be guessed safely.
FUZZY_MIN_LEN = 6
_MAX_TEXT = 300
_EARTH_RADIUS_KM = 6371.0

# Saint-Barthélemy and Saint-Martin kept 971 postal codes when they left the
# Guadeloupe département in 2007: they are in no département.
_NOT_IN_A_DEPARTEMENT = frozenset({"97133", "97150"})

# Big cities typed with their arrondissement ("Paris 11e", "Lyon 3"): the number
# is not a département, and it gives the postal code.
_ARRONDISSEMENTS: Mapping[tuple[str, str], tuple[int, str]] = {
    ("Paris", "75"): (20, "750{:02d}"),
    ("Lyon", "69"): (9, "6900{:d}"),
    ("Marseille", "13"): (16, "130{:02d}"),
}
_EXTRA_POSTAL_CODES: Mapping[str, tuple[str, str]] = {"75116": ("Paris", "75")}

# Former or usual names of communes that merged or were renamed, and short names
# that people use for a longer official one. An alias that is also the name of
# another commune (Clermont, Bourg) makes that name ambiguous, as it is in speech.
_COMMUNE_ALIASES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "Aix": (("Aix-en-Provence", "13"), ("Aix-les-Bains", "73")),
    "Ancenis": (("Ancenis-Saint-Géréon", "44"),),
    "Bagnoles-de-l'Orne": (("Bagnoles de l'Orne Normandie", "61"),),
    "Baugé": (("Baugé-en-Anjou", "49"),),
    "Beaupréau": (("Beaupréau-en-Mauges", "49"),),
    "Bellegarde-sur-Valserine": (("Valserhône", "01"),),
    "Boulazac": (("Boulazac Isle Manoire", "24"),),
    "Boulogne": (("Boulogne-sur-Mer", "62"), ("Boulogne-Billancourt", "92")),
    "Bourg": (("Bourg-en-Bresse", "01"),),
    "Briey": (("Val de Briey", "54"),),
    "Brive": (("Brive-la-Gaillarde", "19"),),
    "Carentan": (("Carentan-les-Marais", "50"),),
    "Chalon": (("Chalon-sur-Saône", "71"),),
    "Châlons": (("Châlons-en-Champagne", "51"),),
    "Charleville": (("Charleville-Mézières", "08"),),
    "Château-Chinon": (("Château-Chinon (Ville)", "58"),),
    "Château-du-Loir": (("Montval-sur-Loir", "72"),),
    "Château-Gontier": (("Château-Gontier-sur-Mayenne", "53"),),
    "Chemillé": (("Chemillé-en-Anjou", "49"),),
    "Cherbourg": (("Cherbourg-en-Cotentin", "50"),),
    "Cherbourg-Octeville": (("Cherbourg-en-Cotentin", "50"),),
    "Clermont": (("Clermont-Ferrand", "63"),),
    "Condé-sur-Noireau": (("Condé-en-Normandie", "14"),),
    "Courcouronnes": (("Évry-Courcouronnes", "91"),),
    "Domfront": (("Domfront en Poiraie", "61"),),
    "Doué-la-Fontaine": (("Doué-en-Anjou", "49"),),
    "Évry": (("Évry-Courcouronnes", "91"),),
    "Florac": (("Florac Trois Rivières", "48"),),
    "Herblay": (("Herblay-sur-Seine", "95"),),
    "Hossegor": (("Soorts-Hossegor", "40"),),
    "Kaysersberg": (("Kaysersberg Vallée", "68"),),
    "Lamballe": (("Lamballe-Armor", "22"),),
    "Le Puy": (("Le Puy-en-Velay", "43"),),
    "Lons": (("Lons-le-Saunier", "39"),),
    "Luchon": (("Bagnères-de-Luchon", "31"),),
    "Marennes": (("Marennes-Hiers-Brouage", "17"),),
    "Mézières": (("Charleville-Mézières", "08"),),
    "Montaigu": (("Montaigu-Vendée", "85"),),
    "Montreuil-sous-Bois": (("Montreuil", "93"),),
    "Montreuil-sur-Mer": (("Montreuil", "62"),),
    "Morez": (("Hauts de Bienne", "39"),),
    "Oullins": (("Oullins-Pierre-Bénite", "69"),),
    "Pierre-Bénite": (("Oullins-Pierre-Bénite", "69"),),
    "Romorantin": (("Romorantin-Lanthenay", "41"),),
    "Saint-Ouen": (("Saint-Ouen-sur-Seine", "93"),),
    "Sarlat": (("Sarlat-la-Canéda", "24"),),
    "Segré": (("Segré-en-Anjou Bleu", "49"),),
    "Thaon-les-Vosges": (("Capavenir Vosges", "88"),),
    "Trouville": (("Trouville-sur-Mer", "14"),),
    # The commune's official name is "Valence": without this, "d'Agen" could
    # never pick it out of the two Valence.
    "Valence-d'Agen": (("Valence", "82"),),
    "Verneuil-sur-Avre": (("Verneuil d'Avre et d'Iton", "27"),),
    "Vire": (("Vire Normandie", "14"),),
}
_REGION_ALIASES: Mapping[str, str] = {
    "PACA": "PAC",
    "IDF": "IDF",
    "Centre": "CVL",
}

_ABBREVIATIONS: Mapping[str, str] = {"st": "saint", "ste": "sainte", "sts": "saints", "mt": "mont"}
# Words dropped wherever they are: they label a number or a name, never are one.
_NOISE = frozenset(
    {
        "arr",
        "arrdt",
        "arrt",
        "arrondissement",
        "arrondissements",
        "cedex",
        "code",
        "cp",
        "dep",
        "departement",
        "departements",
        "dept",
        "dpt",
        "postal",
    }
)
# Words that may come before a name in a sentence ("j'habite dans le Finistère").
# They are only ever stripped after the unstripped text failed, so "Le Mans" and
# "La Rochelle" still match as typed.
_FILLER = frozenset(
    {
        "a",
        "au",
        "autour",
        "aux",
        "c",
        "commune",
        "cote",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "environ",
        "environs",
        "est",
        "habite",
        "j",
        "je",
        "l",
        "la",
        "le",
        "les",
        "lieu",
        "nous",
        "on",
        "pres",
        "proche",
        "region",
        "situe",
        "situee",
        "sommes",
        "suis",
        "sur",
        "travaille",
        "ville",
        "vers",
        "vis",
    }
)
# "à" folded into "le"/"les": "au Mans" is "Le Mans".
_CONTRACTIONS: Mapping[str, str] = {"au": "le", "du": "le", "aux": "les", "des": "les"}
_ARTICLES = frozenset({"le", "la", "les", "l"})
# A name never ends with these, so text split there is one name, not a name and a
# qualifier: "Châteauneuf-sur-Loire" is not Châteauneuf in the Loire.
_LINKING_END = frozenset(
    {
        "a",
        "au",
        "aux",
        "d",
        "dans",
        "de",
        "des",
        "du",
        "en",
        "et",
        "l",
        "la",
        "le",
        "les",
        "lez",
        "saint",
        "sainte",
        "sous",
        "sur",
    }
)
_LINKING_START = frozenset({"et", "les", "lez", "sous", "sur"})

_HARD_SEPARATOR_RE = re.compile(r"[\s,;:()\[\]{}/|+&]+")
_POSTAL_RE = re.compile(r"\d{5}")
_NUMBER_RE = re.compile(r"\d{1,3}|2[ab]")
_ORDINAL_RE = re.compile(r"(\d{1,2})(?:e|er|ere|eme|ieme|em|me)")


@dataclass(frozen=True, slots=True)
class _Commune:
    name: str
    departement: str
    postal_code: str


@dataclass(frozen=True, slots=True)
class _Index:
    departements: tuple[Departement, ...]
    by_code: Mapping[str, Departement]
    order: Mapping[str, int]
    regions: Mapping[str, str]
    region_departements: Mapping[str, tuple[str, ...]]
    communes: Mapping[str, tuple[_Commune, ...]]
    # Names without their article ("Havre", "Réunion"), used only when no name matches.
    communes_bare: Mapping[str, tuple[_Commune, ...]]
    departement_keys: Mapping[str, str]
    region_keys: Mapping[str, str]
    postal: Mapping[str, tuple[_Commune, ...]]
    fuzzy_keys: tuple[str, ...]


def _key(text: str) -> str:
    return fold(text).replace(" ", "")


def _bare_key(text: str) -> str | None:
    words = fold(text).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        return "".join(words[1:])
    return None


def _read_csv(name: str) -> list[dict[str, str]]:
    text = (files("dialogs.geo") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _group(pairs: Iterable[tuple[str, _Commune]]) -> dict[str, tuple[_Commune, ...]]:
    grouped: dict[str, list[_Commune]] = {}
    for key, commune in pairs:
        bucket = grouped.setdefault(key, [])
        if commune not in bucket:
            bucket.append(commune)
    return {key: tuple(bucket) for key, bucket in grouped.items()}


@cache
def _index() -> _Index:
    regions = {row["code"]: row["name"] for row in _read_csv("regions.csv")}
    deps = tuple(
        Departement(
            code=row["code"],
            name=row["name"],
            region=row["region"],
            lat=float(row["lat"]),
            lon=float(row["lon"]),
        )
        for row in _read_csv("departements.csv")
    )
    by_code = {d.code: d for d in deps}
    region_departements = {
        code: tuple(d.code for d in deps if d.region == code) for code in regions
    }
    communes = [
        _Commune(row["name"], row["departement"], row["postal_code"])
        for row in _read_csv("communes.csv")
    ]
    by_name = {(c.name, c.departement): c for c in communes}

    named = [(_key(c.name), c) for c in communes]
    for alias, targets in _COMMUNE_ALIASES.items():
        for target in targets:
            if target not in by_name:
                raise ValueError(f"alias {alias!r} names an unknown commune {target!r}")
            named.append((_key(alias), by_name[target]))
    bare = [(k, c) for c in communes if (k := _bare_key(c.name))]

    departement_keys: dict[str, str] = {}
    for d in deps:
        departement_keys[_key(d.name)] = d.code
        if bare_name := _bare_key(d.name):
            departement_keys.setdefault(bare_name, d.code)
    region_keys: dict[str, str] = {}
    for code, name in regions.items():
        region_keys[_key(name)] = code
        if bare_name := _bare_key(name):
            region_keys.setdefault(bare_name, code)
    for alias, code in _REGION_ALIASES.items():
        region_keys.setdefault(_key(alias), code)

    postal = [(c.postal_code, c) for c in communes]
    for (name, dep), (count, pattern) in _ARRONDISSEMENTS.items():
        postal.extend((pattern.format(n), by_name[(name, dep)]) for n in range(1, count + 1))
    postal.extend((code, by_name[target]) for code, target in _EXTRA_POSTAL_CODES.items())

    communes_by_key = _group(named)
    communes_bare = _group(bare)
    # Shorter keys are scanned too, so that a typo close to two names ("loires":
    # Loire, Loiret) is refused even when only one of them is long enough to guess.
    fuzzy_keys = {
        k
        for k in (*communes_by_key, *communes_bare, *departement_keys, *region_keys)
        if len(k) >= FUZZY_MIN_LEN - 2
    }
    return _Index(
        departements=deps,
        by_code=by_code,
        order={d.code: i for i, d in enumerate(deps)},
        regions=regions,
        region_departements=region_departements,
        communes=communes_by_key,
        communes_bare=communes_bare,
        departement_keys=departement_keys,
        region_keys=region_keys,
        postal=_group(postal),
        fuzzy_keys=tuple(sorted(fuzzy_keys)),
    )


# --- public helpers -------------------------------------------------------------


def departements() -> tuple[Departement, ...]:
    """All 101 départements, in official order (2A and 2B between 19 and 21)."""
    return _index().departements


def departement(code: str) -> Departement | None:
    """The département with this code ("29", "2A", "974"), or None."""
    return _index().by_code.get(code.strip().upper())


def region_codes() -> tuple[str, ...]:
    """The 18 région codes (ISO 3166-2:FR without "FR-")."""
    return tuple(_index().regions)


def region_name(code: str) -> str:
    """French name of a région; KeyError for an unknown code."""
    return _index().regions[code]


def place_from_location(lat: float, lon: float) -> Place | None:
    """The département whose centroid is nearest, or None outside France.

    Centroids are coarse: near a border the neighbouring département may win, which
    the intake asks the person to confirm anyway.
    """
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    nearest = min(_index().departements, key=lambda d: _distance_km(lat, lon, d.lat, d.lon))
    if _distance_km(lat, lon, nearest.lat, nearest.lon) > OUTSIDE_KM:
        return None
    return Place(departement=nearest)


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# --- lookup ---------------------------------------------------------------------


def lookup_place(text: str) -> PlaceLookup:
    """Understand a typed place: département number or name, postal code, commune.

    A commune known in several départements gives `Ambiguous` unless the text
    also names the département ("Saint-Denis 93", "Saint-Denis (La Réunion)").
    A région alone ("Bretagne", "Grand Est", "auvergne rhone alpes") gives
    `InRegion` with all its départements, however many.
    """
    tokens = _tokens(text[:_MAX_TEXT])
    if not tokens:
        return NotFound()
    words, splittable = _words(tokens)
    postal = next((t for t, _ in tokens if _POSTAL_RE.fullmatch(t)), None)
    if postal is not None:
        return _by_postal(postal, words)

    numbers = [t for t, _ in tokens if _NUMBER_RE.fullmatch(t)]
    ordinals = [int(m.group(1)) for t, _ in tokens if (m := _ORDINAL_RE.fullmatch(t))]
    # Only filler left ("dans le 29"): nothing to guess from, but "Villé" is a name.
    core = _strip_filler(words)
    region = _region_named(words) if core and not numbers and not ordinals else None
    if region is not None:
        codes = _index().region_departements[region]
        return InRegion(region=region, places=tuple(_departement_place(c) for c in codes))
    places = _resolve_words(words, splittable) if core else _match(words)

    places, numbers = _apply_arrondissement(places, numbers, ordinals)
    number_codes = [codes for t in numbers if (codes := _codes_for_number(t))]
    if number_codes:
        wanted = {code for codes in number_codes for code in codes}
        kept = [p for p in places if p.departement.code in wanted]
        # A département typed as a number is explicit: when the name does not fit
        # it, the name is one we do not know there ("Valence 16").
        places = kept or [_departement_place(code) for code in number_codes[0]]
    return _result(places)


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Folded tokens, each with whether a hard separator comes before it.

    Hyphens and apostrophes join the parts of one name ("Pont-de-l'Isère");
    spaces, commas and brackets may separate a name from its département.
    """
    out: list[tuple[str, bool]] = []
    for chunk in _HARD_SEPARATOR_RE.split(text):
        hard = True
        for token in fold(chunk).split():
            token = _ABBREVIATIONS.get(token, token)
            if token in _NOISE:
                hard = True
                continue
            out.append((token, hard))
            hard = False
    return out


def _words(tokens: Sequence[tuple[str, bool]]) -> tuple[list[str], frozenset[int]]:
    """The tokens without digits, and the indexes where a name may end before them."""
    words: list[str] = []
    splittable: set[int] = set()
    pending = False
    for token, hard in tokens:
        if any(ch.isdigit() for ch in token):
            pending = True
            continue
        if hard or pending:
            splittable.add(len(words))
        words.append(token)
        pending = False
    return words, frozenset(splittable)


def _strip_filler(words: Sequence[str]) -> list[str]:
    rest = list(words)
    while rest and rest[0] in _FILLER:
        rest.pop(0)
    return rest


def _variants(words: Sequence[str]) -> list[list[str]]:
    """The words, then the words without each leading filler word in turn."""
    out = [list(words)]
    rest = list(words)
    while len(rest) > 1 and rest[0] in _FILLER:
        head, rest = rest[0], rest[1:]
        if head in _CONTRACTIONS:
            out.append([_CONTRACTIONS[head], *rest])
        out.append(rest)
    return out


def _result(places: Sequence[Place]) -> PlaceLookup:
    idx = _index()
    unique = {(p.departement.code, p.commune): p for p in places}
    ordered = sorted(
        unique.values(),
        key=lambda p: (idx.order[p.departement.code], p.commune is not None, p.commune or ""),
    )
    if not ordered:
        return NotFound()
    if len(ordered) == 1:
        return Found(place=ordered[0])
    return Ambiguous(places=tuple(ordered[:MAX_CANDIDATES]))


def _departement_place(code: str) -> Place:
    return Place(departement=_index().by_code[code])


def _commune_place(commune: _Commune) -> Place:
    return Place(
        departement=_index().by_code[commune.departement],
        commune=commune.name,
        postal_code=commune.postal_code,
    )


# Postal codes


def _departement_for_postal_code(code: str) -> str | None:
    idx = _index()
    if code in _NOT_IN_A_DEPARTEMENT:
        return None
    if code.startswith("20"):
        if code[2] in "01":
            return "2A"
        return "2B" if code[2] in "23456" else None
    if code.startswith("97"):
        return code[:3] if code[:3] in idx.by_code else None
    # 00, 96, 98 and 99 are no département code, so they fall through to None.
    return code[:2] if code[:2] in idx.by_code else None


def _by_postal(code: str, words: Sequence[str]) -> PlaceLookup:
    dep = _departement_for_postal_code(code)
    if dep is None:
        return UnknownPostalCode(code=code)
    commune = _commune_named_in(words, dep) or _commune_with_postal_code(code)
    return Found(place=Place(departement=_index().by_code[dep], commune=commune, postal_code=code))


def _commune_named_in(words: Sequence[str], dep: str) -> str | None:
    """The longest run of words naming a commune of `dep` (the text may be an address)."""
    idx = _index()
    n = len(words)
    for length in range(n, 0, -1):
        for start in range(n - length + 1):
            key = "".join(words[start : start + length])
            for commune in (*idx.communes.get(key, ()), *idx.communes_bare.get(key, ())):
                if commune.departement == dep:
                    return commune.name
    return None


def _commune_with_postal_code(code: str) -> str | None:
    names = {c.name for c in _index().postal.get(code, ())}
    return names.pop() if len(names) == 1 else None


# Département numbers


def _codes_for_number(token: str) -> tuple[str, ...]:
    if token in ("2a", "2b"):
        return (token.upper(),)
    if token == "20":
        return ("2A", "2B")
    code = f"0{token}" if len(token) == 1 else token
    return (code,) if code in _index().by_code else ()


def _apply_arrondissement(
    places: list[Place], numbers: list[str], ordinals: list[int]
) -> tuple[list[Place], list[str]]:
    """Read "Paris 11e" / "Lyon 3" as an arrondissement, not as a département."""
    place = places[0] if len(places) == 1 else None
    if place is None or place.commune is None:
        return places, numbers
    arrondissements = _ARRONDISSEMENTS.get((place.commune, place.departement.code))
    if arrondissements is None:
        return places, numbers
    count, pattern = arrondissements
    if ordinals and 1 <= ordinals[0] <= count:
        return [replace(place, postal_code=pattern.format(ordinals[0]))], numbers
    for i, token in enumerate(numbers):
        value = int(token) if token.isdigit() else 0
        # "Marseille 13" and "Paris 75" name the département, as usual.
        if 1 <= value <= count and token.zfill(2) != place.departement.code:
            rest = [*numbers[:i], *numbers[i + 1 :]]
            return [replace(place, postal_code=pattern.format(value))], rest
    return places, numbers


# Names


def _resolve_words(words: Sequence[str], splittable: frozenset[int]) -> list[Place]:
    exact = _match(words)
    if exact:
        return exact
    strong: list[Place] = []
    weak: list[Place] = []
    for i in range(1, len(words)):
        head, tail = words[:i], words[i:]
        if i not in splittable or head[-1] in _LINKING_END or tail[0] in _LINKING_START:
            continue
        for name_part, qualifier_part in ((head, tail), (tail, head)):
            qualifier = _qualifier(qualifier_part)
            if qualifier is None:
                continue
            codes, is_departement = qualifier
            names = _match(name_part) or _fuzzy(name_part)
            kept = [p for p in names if p.departement.code in codes]
            if kept:
                return kept
            if is_departement and not strong:
                # "Plouzané, Finistère": a commune we do not know, in a known département.
                strong = [_departement_place(next(iter(codes)))]
            elif names and not weak:
                weak = names
    return _fuzzy(words) or strong or weak


def _match(words: Sequence[str]) -> list[Place]:
    for variant in _variants(words):
        found = _exact("".join(variant))
        if found:
            return found
    return []


def _exact(key: str) -> list[Place]:
    idx = _index()
    communes = idx.communes.get(key) or idx.communes_bare.get(key) or ()
    places = [_commune_place(c) for c in communes]
    dep = idx.departement_keys.get(key)
    # "Paris" or "Mayenne" name both a commune and its département: the commune
    # says more. "Vienne" (a commune of Isère) stays ambiguous with the département.
    if dep is not None and all(c.departement != dep for c in communes):
        places.append(_departement_place(dep))
    return places


def _region_named(words: Sequence[str]) -> str | None:
    """The région these words name, exactly or one typo away, unless they name
    a commune or a département first ("La Réunion" is a département too)."""
    idx = _index()
    for variant in _variants(words):
        key = "".join(variant)
        if key in idx.communes or key in idx.departement_keys:
            return None
        if key in idx.region_keys:
            return idx.region_keys[key]
    for variant in _variants(words):
        typed = "".join(variant)
        if len(typed) < FUZZY_MIN_LEN:
            continue
        close = [k for k in idx.fuzzy_keys if _within_one_edit(typed, k)]
        if len(close) == 1 and close[0] in idx.region_keys:
            return idx.region_keys[close[0]]
    return None


def _qualifier(words: Sequence[str]) -> tuple[frozenset[str], bool] | None:
    """Département codes named by these words, and whether they name one département."""
    idx = _index()
    for variant in _variants(words):
        key = "".join(variant)
        if key in idx.departement_keys:
            return frozenset({idx.departement_keys[key]}), True
        if key in idx.region_keys:
            return frozenset(idx.region_departements[idx.region_keys[key]]), False
    return None


def _fuzzy(words: Sequence[str]) -> list[Place]:
    """Names one typo away from exactly one known name."""
    keys = _index().fuzzy_keys
    for variant in _variants(words):
        typed = "".join(variant)
        if len(typed) < FUZZY_MIN_LEN - 1:
            continue
        close = [k for k in keys if _within_one_edit(typed, k)]
        if len(close) == 1 and len(close[0]) >= FUZZY_MIN_LEN:
            return _exact(close[0])
    return []


def _within_one_edit(a: str, b: str) -> bool:
    """At most one insertion, deletion, substitution or swap of neighbours."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        if a[i + 1 :] == b[i + 1 :]:
            return True
        return a[i + 2 :] == b[i + 2 :] and a[i : i + 2] == b[i : i + 2][::-1]
    return a[i:] == b[i + 1 :]


def place_name_length(words: Sequence[str], longest: int = 5) -> tuple[int, str]:
    """How many of the first folded `words` make a known place name, longest
    first, and its kind ("region", "departement" or "commune"); (0, "") for
    none. Used by matching to take place names out of a person's text."""
    idx = _index()
    for size in range(min(longest, len(words)), 0, -1):
        key = "".join(words[:size])
        if key in idx.region_keys:
            return size, "region"
        if key in idx.departement_keys:
            return size, "departement"
        if key in idx.communes:
            return size, "commune"
    return 0, ""


def region_of_place(words: Sequence[str]) -> str | None:
    """The région code these folded words name (a région, a département or a
    commune known in one région only), or None."""
    idx = _index()
    key = "".join(words)
    if key in idx.region_keys:
        return idx.region_keys[key]
    if key in idx.departement_keys:
        return idx.by_code[idx.departement_keys[key]].region
    regions = {idx.by_code[c.departement].region for c in idx.communes.get(key, ())}
    return regions.pop() if len(regions) == 1 else None
