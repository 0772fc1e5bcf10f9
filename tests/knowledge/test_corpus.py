from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from knowledge.calibration import load_labelled
from knowledge.classifier import load_out_of_scope
from knowledge.config import load_config
from knowledge.corpus import (
    CATEGORIES,
    Corpus,
    CorpusError,
    entry_from_mapping,
    export_entries,
    load_corpus,
    load_entries_data,
)
from knowledge.text import clean
from knowledge.topics import TOPICS


def _write(root: Path, category: str, entry_id: str, data: object) -> Path:
    path = root / category / f"{entry_id}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _valid(entry_id: str = "entry-test", category: str = "entry-security") -> dict[str, object]:
    return {
        "id": entry_id,
        "category": category,
        "topic": "stadium_entry",
        "question": {"en": "Can I bring a kite?", "zh": "可以带风筝吗？"},
        "paraphrases": {
            "en": ["kite ok?", "flying a kite", "kites allowed"],
            "zh": ["风筝", "带风筝", "放风筝"],
        },
        "answer": {"en": "No kites.", "zh": "不能带风筝。"},
        "tags": ["kite"],
        "owner": "stadium",
        "last_reviewed": "2026-11-01",
    }


def test_the_shipped_corpus_is_valid_and_complete(corpus: Corpus) -> None:
    assert len(corpus.entries) >= 150
    assert {entry.category for entry in corpus.entries} == set(CATEGORIES)
    for entry in corpus.entries:
        assert entry.topic in TOPICS
        assert set(entry.languages) == {"en", "zh"}
        assert all(len(entry.paraphrases[lang]) >= 3 for lang in ("en", "zh"))


def test_fingerprint_changes_with_any_content(tmp_path: Path) -> None:
    path = _write(tmp_path, "entry-security", "entry-test", _valid())
    first = load_corpus(tmp_path).fingerprint
    data = _valid()
    data["answer"] = {"en": "No kites, sorry.", "zh": "不能带风筝。"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert load_corpus(tmp_path).fingerprint != first


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"topic": "weather"}, "topic"),
        ({"category": "food"}, "category"),
        ({"answer": {"en": "No kites."}}, "answer.zh"),
        ({"question": {"en": "", "zh": "可以带风筝吗？"}}, "question.en"),
        ({"paraphrases": {"en": ["one"], "zh": ["一", "二", "三"]}}, "paraphrases.en"),
        ({"last_reviewed": "yesterday"}, "last_reviewed"),
        ({"colour": "red"}, "colour"),
        ({"id": "Not An Id"}, "id"),
    ],
)
def test_errors_name_the_file_and_the_field(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    data = _valid() | change
    path = _write(tmp_path, "entry-security", "entry-test", data)
    with pytest.raises(CorpusError) as caught:
        load_corpus(tmp_path)
    assert caught.value.where == str(path)
    assert caught.value.field == field
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_id_and_folder_must_match_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "entry-security", "entry-other", _valid())
    with pytest.raises(CorpusError, match="id") as caught:
        load_corpus(tmp_path)
    assert caught.value.where == str(path)
    other = tmp_path / "second"
    _write(other, "seats-views", "entry-test", _valid())
    with pytest.raises(CorpusError) as caught:
        load_corpus(other)
    assert caught.value.field == "category"


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "entry-security" / "entry-test.yml"
    path.parent.mkdir(parents=True)
    path.write_text("id: entry-test\nquestion: [unclosed\n", encoding="utf-8")
    with pytest.raises(CorpusError) as caught:
        load_corpus(tmp_path)
    assert caught.value.where == str(path)
    assert caught.value.field.startswith("line ")


def test_published_entries_may_have_one_language_and_export_as_files(tmp_path: Path) -> None:
    published = {
        "id": "db-12",
        "category": "entry-security",
        "topic": "stadium_entry",
        "question": {"zh": "可以带风筝吗？"},
        "answer": {"zh": "不能带风筝。"},
    }
    entry = entry_from_mapping(published, source="db")
    assert entry.languages == ("zh",)
    approved = entry_from_mapping(published | {"answer": {"en": "No.", "zh": "不能。"}})
    assert approved.languages == ("en", "zh") and approved.question == {"zh": "可以带风筝吗？"}
    derived = {k: v for k, v in published.items() if k != "category"} | {"topic": "refund"}
    assert entry_from_mapping(derived).category == "refunds-exchanges-transfers"
    with pytest.raises(CorpusError, match="question"):
        entry_from_mapping(published | {"question": {}}, source="db")
    source = tmp_path / "published.json"
    source.write_text(json.dumps([published]), encoding="utf-8")
    [path] = export_entries(load_entries_data(source), tmp_path / "out")
    assert path == tmp_path / "out" / "entry-security" / "db-12.yml"
    assert entry_from_mapping(yaml.safe_load(path.read_text(encoding="utf-8"))) == entry


BLIND_B = Path(__file__).resolve().parents[2] / "bench" / "data" / "faq_labels_b.jsonl"
CALIBRATION_C = BLIND_B.with_name("faq_labels_c.jsonl")


def test_no_labelled_query_appears_verbatim_in_the_corpus(corpus: Corpus) -> None:
    # The labelled set must stay unseen: a test query copied into an entry (or into the
    # out-of-scope wordings the classifier learns from) inflates accuracy.
    config = load_config()
    labelled = [
        *load_labelled(config.labels),
        *load_labelled(BLIND_B),
        *load_labelled(CALIBRATION_C),
    ]
    labelled += [q for path in config.calibration_files for q in load_labelled(path)]
    queries = {clean(q.text).lower() for q in labelled}
    leaked = [
        (entry.id, text)
        for entry in corpus.entries
        for _, text in entry.texts()
        if clean(text).lower() in queries
    ]
    leaked += [
        ("out_of_scope.yml", text) for text in load_out_of_scope() if clean(text).lower() in queries
    ]
    assert leaked == []
