"""The small rules of privacy: what a timeline keeps, how references are found,
calendar months, the export's size cap, the [privacy] section."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config.load import ConfigError, load_config
from bot.privacy.service import EXPORT_CAP, fit_export, months_before
from storage.repos.privacy import mentions, scrub_event_data


def test_scrub_keeps_ids_choices_and_figures_only() -> None:
    assert scrub_event_data({"nudge": 3, "kind": "ouverture", "answer": "texte", "text": "x"}) == {
        "nudge": 3,
        "kind": "ouverture",
        "answer": "texte",
    }
    assert scrub_event_data({"field": "heures", "value": 12.5}) == {
        "field": "heures",
        "value": 12.5,
    }
    assert scrub_event_data({"field": "ressources", "text": "Framaforms"}) == {
        "field": "ressources"
    }
    assert scrub_event_data({"resources": ["a", "b"], "aiguilleurs": ["alix"]}) == {
        "resources": ["a", "b"],
        "aiguilleurs": ["alix"],
    }
    # Unknown strings (a future event's free text) are dropped by default.
    assert scrub_event_data({"comment": "Jeanne a appelé", "reason": "help", "ok": True}) == {
        "reason": "help",
        "ok": True,
    }
    assert scrub_event_data({"themes": [{"nested": "x"}]}) == {}


def test_references_are_not_prefixes_of_longer_ones() -> None:
    assert mentions("AIG-1000").search("Dossier AIG-1000 : merci")
    assert not mentions("AIG-1000").search("Dossier AIG-10000 : merci")
    assert mentions("AIG-0042").search('{"html": "<b>AIG-0042</b>"}')


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2028, 6, 15, 3, tzinfo=UTC), 24, datetime(2026, 6, 15, 3, tzinfo=UTC)),
        (datetime(2026, 3, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 3, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 1, 10, tzinfo=UTC), 13, datetime(2024, 12, 10, tzinfo=UTC)),
    ],
)
def test_months_before_counts_calendar_months(
    moment: datetime, months: int, expected: datetime
) -> None:
    assert months_before(moment, months) == expected


def document(cases: int, events: int, size: int) -> dict[str, object]:
    return {
        "format": 1,
        "person": {"display_name": "Zéphyrine"},
        "cases": [
            {
                "ref": f"AIG-{c:04d}",
                "sheet": {"problem": "p" * 100},
                "events": [
                    {
                        "at": f"2026-01-{1 + e % 28:02d}T{c:02d}:00:00+00:00",
                        "data": {"text": "é" * size},
                    }
                    for e in range(events)
                ],
            }
            for c in range(cases)
        ],
    }


def test_a_small_export_is_whole() -> None:
    text, shortened = fit_export(document(2, 3, 10))
    assert not shortened
    assert json.loads(text) == document(2, 3, 10)


def test_a_big_export_drops_its_oldest_events_first() -> None:
    big = document(3, 200, 1000)  # ~1.2 MB of UTF-8
    text, shortened = fit_export(big)
    assert shortened
    assert len(text.encode("utf-8")) <= EXPORT_CAP
    loaded = json.loads(text)
    omitted = loaded["truncated"]["events_omitted"]
    kept = [e["at"] for case in loaded["cases"] for e in case["events"]]
    assert omitted + len(kept) == 600
    all_times = sorted(e["at"] for case in big["cases"] for e in case["events"])  # type: ignore[attr-defined]
    assert min(kept) >= all_times[omitted - 1]  # only the oldest went
    # A little more would not have fitted: the cut is as small as can be.
    assert len(text.encode("utf-8")) > EXPORT_CAP - 5000
    assert [c["ref"] for c in loaded["cases"]] == ["AIG-0000", "AIG-0001", "AIG-0002"]


def test_an_export_too_big_even_without_events_drops_its_oldest_cases() -> None:
    huge = document(40, 0, 0)
    for case in huge["cases"]:  # type: ignore[attr-defined]
        case["sheet"]["problem"] = "x" * 10_000
    text, shortened = fit_export(huge)
    loaded = json.loads(text)
    assert shortened and len(text.encode("utf-8")) <= EXPORT_CAP
    assert loaded["truncated"]["cases_omitted"] > 0
    assert loaded["cases"][-1]["ref"] == "AIG-0039"  # the newest stay


def test_privacy_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[privacy]\nretention_months = 6\n")
    assert load_config(path, environ={}).privacy.retention_months == 6
    path.write_text("")
    assert load_config(path, environ={}).privacy.retention_months == 24
    path.write_text("[privacy]\nretention_months = -1\n")
    with pytest.raises(ConfigError) as bad:
        load_config(path, environ={})
    assert bad.value.message.params["key"] == "[privacy] retention_months"
    path.write_text('[privacy]\nretention_months = "2 ans"\n')
    with pytest.raises(ConfigError):
        load_config(path, environ={})


def test_the_example_configuration_documents_retention() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    assert load_config(example, environ={}).privacy.retention_months == 24
    assert "retention_months" in example.read_text()
