"""`aiguillage catalog …` and `aiguillage match` through `bot.cli.commands`, on a
database of the session's engine: French output, one clear line per failure, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.commands import main
from tests import databases
from tests.catalog.helpers import SEED, seed_catalog

BROKEN = """\
resources:
  - id: framadate
    name: Framadate
    url: pas une adresse
    summary: "Sondage de dates libre."
    themes: [gouvernance]
    kind: outil
    license: CECILL-B
    libre: true
"""


@pytest.fixture(autouse=True)
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGUILLAGE_LOCALE", "fr")
    monkeypatch.delenv("AIGUILLAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("AIGUILLAGE_CONFIG", raising=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return databases.url(tmp_path, "cli.sqlite3")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Exit status, stdout, stderr; French no-break spaces read as spaces."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.replace("\u00a0", " "), err.replace("\u00a0", " ")


def test_check_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "catalog", "check", str(SEED))
    assert code == 0 and err == ""
    assert "catalogue valide" in out and f"{len(seed_catalog().resources)} ressource" in out


def test_check_broken_file_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cassé.yaml"
    path.write_text(BROKEN, encoding="utf-8")
    code, out, err = run(capsys, "catalog", "check", str(path))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "ligne 4" in lines[0] and "framadate" in lines[0] and "« url »" in lines[0]
    assert "Traceback" not in err


def test_several_problems_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(BROKEN.replace("kind: outil", "kind: truc"), encoding="utf-8")
    code, _out, err = run(capsys, "catalog", "check", str(path))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 3
    assert "2 problèmes" in lines[0]
    assert "ligne 4" in lines[1] and "ligne 7" in lines[2]


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = run(capsys, "catalog", "check", str(tmp_path / "absent.yaml"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "absent.yaml" in err


def test_import_dry_run_then_import_then_again(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "catalog", "import", str(SEED), "--dry-run", "--db", db)
    assert code == 0
    # An empty database: the file completes the starter catalog (its resources), so only
    # the file's (demo) aiguilleurs are new.
    assert "complète le catalogue de départ" in out
    assert "+ ressource framadate" not in out
    assert "+ aiguilleur·euse lou-demo (ajout)" in out
    assert "Simulation" in out and "rien n'a été écrit" in out
    # The dry run wrote nothing: a real import still says the database had no catalog.
    code, out, _ = run(capsys, "catalog", "import", str(SEED), "--db", db)
    assert code == 0 and "Catalogue importé" in out and "catalogue de départ" in out
    assert "+ aiguilleur·euse lou-demo" in out
    code, out, _ = run(capsys, "catalog", "import", str(SEED), "--db", db)
    assert code == 0 and "déjà à jour" in out and "+ " not in out


def test_dry_run_lists_changes_and_disabling(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "catalog", "import", str(SEED), "--db", db)[0] == 0
    text = SEED.read_text(encoding="utf-8")
    smaller = tmp_path / "moins.yaml"
    smaller.write_text(
        text.replace("name: Mobicoop", "name: Mobicoop (coopérative)"), encoding="utf-8"
    )
    code, out, _ = run(capsys, "catalog", "import", str(smaller), "--dry-run", "--db", db)
    assert code == 0 and "~ ressource mobicoop (modification)" in out
    csv = tmp_path / "deux.csv"
    csv.write_text(
        "id,name,url,summary,themes,kind,tags,license,libre,replaces,regions\n"
        "mobicoop,Mobicoop,https://www.mobicoop.fr,Covoiturage libre.,mobilite,outil,,"
        "AGPL-3.0,true,BlaBlaCar,\n",
        encoding="utf-8",
    )
    # By default an import merges: what the file does not list stays active.
    code, out, _ = run(capsys, "catalog", "import", str(csv), "--dry-run", "--db", db)
    assert code == 0 and "désactivation :" not in out
    assert "restent actives (--replace pour les désactiver)" in out
    code, out, _ = run(capsys, "catalog", "import", str(csv), "--dry-run", "--replace", "--db", db)
    assert "- ressource framadate (désactivation" in out
    assert "aiguilleur" not in out  # a CSV of resources disables no aiguilleur


def test_import_merges_unless_replace_which_lists_first(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's example file on the starter catalog: merged, nothing deactivated;
    --replace lists what it deactivates before the summary, then does it."""
    example = Path(__file__).resolve().parents[2] / "docs" / "exemples" / "mon-catalogue.yaml"
    assert run(capsys, "catalog", "import", str(SEED), "--db", db)[0] == 0
    code, out, _ = run(capsys, "catalog", "import", str(example), "--db", db)
    assert code == 0 and "0 désactivation(s)" in out and "1 ajout(s)" in out
    assert run(capsys, "catalog", "export", str(tmp_path / "fusion.yaml"), "--db", db)[0] == 0
    merged = (tmp_path / "fusion.yaml").read_text(encoding="utf-8")
    assert "id: mobicoop" in merged and "id: reseau-tiers-lieux-exemple" in merged
    code, out, _ = run(capsys, "catalog", "import", str(example), "--replace", "--db", db)
    lines = out.strip().splitlines()
    assert code == 0 and "vont être désactivées" in lines[0]
    assert "- ressource mobicoop (désactivation" in out
    gone = len(seed_catalog().resources) - 1  # all but framadate, which the file lists
    assert "Catalogue importé" in lines[-1] and f" {gone} désactivation(s)" in lines[-1]
    assert run(capsys, "catalog", "export", str(tmp_path / "apres.yaml"), "--db", db)[0] == 0
    replaced = (tmp_path / "apres.yaml").read_text(encoding="utf-8")
    assert "id: mobicoop" not in replaced and "id: reseau-tiers-lieux-exemple" in replaced


def test_merge_into_an_empty_database_completes_the_starter_catalog(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before the bot's first start the database has no resource: importing the README's
    example file must not leave a catalog of two resources (the bot would then never load
    its starter catalog)."""
    example = Path(__file__).resolve().parents[2] / "docs" / "exemples" / "mon-catalogue.yaml"
    starter = len(seed_catalog().resources)
    code, out, _ = run(capsys, "catalog", "import", str(example), "--db", db)
    assert code == 0 and f"catalogue de départ ({starter} ressources)" in out
    assert "1 ajout(s), 1 modification(s), 0 désactivation(s)" in out
    assert run(capsys, "catalog", "export", str(tmp_path / "tout.yaml"), "--db", db)[0] == 0
    exported = (tmp_path / "tout.yaml").read_text(encoding="utf-8")
    assert exported.count("\n- id: ") == starter + 1
    assert "id: mobicoop" in exported and "id: reseau-tiers-lieux-exemple" in exported


def test_invalid_import_imports_nothing(
    db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = SEED.read_text(encoding="utf-8")
    broken = tmp_path / "presque.yaml"
    broken.write_text(good.replace("kind: outil", "kind: bidule", 1), encoding="utf-8")
    code, out, err = run(capsys, "catalog", "import", str(broken), "--db", db)
    assert code == 2 and out == ""
    assert "rien n'a été importé" in err and len(err.strip().splitlines()) == 1
    code, out, _ = run(capsys, "catalog", "import", str(SEED), "--dry-run", "--db", db)
    assert "complète le catalogue de départ" in out  # still no catalog at all
    assert f" {len(seed_catalog().aiguilleurs)} ajout" in out


def test_export_round_trip(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "import", str(SEED), "--db", db)[0] == 0
    exported = tmp_path / "export.yaml"
    code, _out, err = run(capsys, "catalog", "export", str(exported), "--db", db)
    assert code == 0 and "Catalogue exporté" in err
    code, out, _ = run(capsys, "catalog", "import", str(exported), "--db", db)
    assert code == 0 and "déjà à jour" in out
    code, out, _ = run(capsys, "catalog", "export", "-", "--db", db)
    assert code == 0 and out.startswith("resources:")
    csv = tmp_path / "export.csv"
    assert run(capsys, "catalog", "export", str(csv), "--db", db)[0] == 0
    assert csv.read_text(encoding="utf-8").startswith("id,name,url")


def test_match_json_shape(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "import", str(SEED), "--db", db)[0] == 0
    code, out, _ = run(
        capsys, "match", "on utilise Doodle pour les réunions", "--json", "--limit", "3", "--db", db
    )
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"resources", "aiguilleurs", "themes"}
    assert len(data["resources"]) <= 3
    first = data["resources"][0]
    assert set(first) == {"id", "score", "why"}
    assert first["id"] == "framadate"
    assert any(why.startswith("remplace Doodle") for why in first["why"])
    scores = [r["score"] for r in data["resources"]]
    assert scores == sorted(scores, reverse=True)
    assert data["themes"] and all(isinstance(t, str) for t in data["themes"])
    for row in data["aiguilleurs"]:
        assert set(row) == {"id", "score", "why"} and row["why"]


def test_match_with_theme_and_region(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "catalog", "import", str(SEED), "--db", db)[0] == 0
    code, out, _ = run(
        capsys,
        "match",
        "panneaux solaires citoyens",
        "--theme",
        "energie",
        "--region",
        "bre",
        "--json",
        "--db",
        db,
    )
    data = json.loads(out)
    assert code == 0 and data["themes"] == ["energie"]
    # The Breton network is relevant on its own merits (solar, citizen energy),
    # so its région lifts it into the first places; it does not jump first on
    # its région alone ahead of the resource that says most about solar roofs.
    ids = [r["id"] for r in data["resources"]]
    assert "taranis" in ids[:2]
    assert any(
        w.startswith("pour les tiers-lieux de la région Bretagne")
        for w in data["resources"][ids.index("taranis")]["why"]
    )
    assert data["aiguilleurs"][0]["id"] == "alix-exemple"


def test_match_human_output_and_empty_database(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "match", "on cherche un logiciel de compta", "--db", db)
    assert code == 0
    assert "catalogue de départ" in err
    assert "Ressources :" in out and "pourquoi :" in out and "Thèmes" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--theme", "sport"], "thème inconnu"),
        (["--region", "XX"], "code de région inconnu"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_match_bad_options_one_line(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    code, out, err = run(capsys, "match", "vélo", *argv, "--db", db)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and needle in err


def test_match_is_light_and_leaves_no_data_folder(tmp_path: Path) -> None:
    """A cold `aiguillage match --db …` imports none of the bot (no Telegram,
    no Matrix, no migrations; no SQLAlchemy either while the database does not
    exist) and creates nothing in the working directory."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    script = (
        "import sys\n"
        "from bot.cli.commands import main\n"
        "code = main(['match', 'on utilise Doodle', '--json', '--db', {db_url!r}])\n"
        "heavy = [m for m in ('bot.app', 'telegram', 'nio', 'alembic', 'storage.db', 'sqlalchemy')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, code)\n"
    ).replace("{db_url!r}", repr(f"sqlite+aiosqlite:///{(tmp_path / 'x.sqlite3').as_posix()}"))
    work = tmp_path / "cwd"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=work,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY [] 0" in done.stdout
    data = json.loads(done.stdout[: done.stdout.rindex("HEAVY")])
    assert data["resources"] and all("id" in r for r in data["resources"])
    assert list(work.iterdir()) == []


def test_cold_match_on_a_filled_database_creates_nothing_then_uses_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`aiguillage match --db …` on an imported catalog, run from a folder
    without ``data``: nothing is created there. Where the data folder exists,
    the index's analysis is kept in ``data/cache`` and the next cold run,
    served from it, answers the same."""
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{(tmp_path / 'rempli.sqlite3').as_posix()}"
    code, _out, _err = run(capsys, "catalog", "import", str(SEED), "--db", url)
    assert code == 0
    root = Path(__file__).resolve().parents[2]
    work = tmp_path / "cwd"
    work.mkdir()

    argv = ["match", "on galère avec la compta", "--json", "--region", "BRE", "--db", url]

    def cold() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *argv],
            cwd=work,
            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "AIGUILLAGE_LOCALE": "fr"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        found: dict[str, object] = json.loads(done.stdout)
        return found

    first = cold()
    assert list(work.iterdir()) == []
    assert first["resources"]
    (work / "data").mkdir()
    assert cold() == first
    cache = work / "data" / "cache"
    assert len(list(cache.glob("index-*.npz"))) == 1
    assert len(list(cache.glob("vectors-*.npy"))) == 2
    stamp = {p: p.stat().st_mtime_ns for p in cache.iterdir()}
    assert cold() == first
    assert {p: p.stat().st_mtime_ns for p in cache.iterdir()} == stamp, "read, not rewritten"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///data/aiguillage.sqlite3",
        "sqlite+aiosqlite:////tmp/un dossier/é.sqlite3",
        "sqlite+aiosqlite:////tmp/%C3%A9.sqlite3",
        "sqlite+aiosqlite:///base.sqlite3?mode=ro",
        "sqlite:///:memory:",
        "sqlite://",
        "sqlite+aiosqlite:///",
    ],
)
def test_sqlite_database_reads_urls_as_sqlalchemy_does(url: str) -> None:
    from sqlalchemy.engine import make_url

    from bot.cli.catalog import sqlite_database

    assert sqlite_database(url) == make_url(url).database
