"""Calibration: held-out corpus wordings as unseen questions, and the thresholds they give."""

from __future__ import annotations

from pathlib import Path

from knowledge.calibration import LabelledQuery, Scored, calibrate, held_out_wordings
from knowledge.config import KnowledgeConfig
from knowledge.retriever import Candidate
from knowledge.thresholds import Fusion, Thresholds, load_thresholds
from tests.knowledge.conftest import HashingEncoder, make_entry

KITE = make_entry(
    "db-1",
    "Can I bring a kite?",
    "Kites are not allowed.",
    paraphrases=["kite allowed inside", "flying toys at the ground", "may I carry my kite"],
)
DRUM = make_entry(
    "db-2",
    "Can I bring a drum?",
    "Drums are allowed in the North Stand.",
    paraphrases=["drum in the stand", "percussion instruments ok", "bring a big drum"],
)


def test_every_wording_is_asked_once_of_an_index_built_without_it(
    config: KnowledgeConfig,
) -> None:
    scored = held_out_wordings(
        [KITE, DRUM], HashingEncoder(), Fusion(0.5, 0.02, 1.0), config, folds=2, parts=2
    )
    asked = sorted((s.query.text, s.query.entry) for s in scored)
    wordings = [(t, e.id) for e in (KITE, DRUM) for t in e.paraphrases["en"]]
    assert asked == sorted(wordings)
    for item in scored:
        own = next(c for c in item.ranked if c.entry_id == item.query.entry)
        assert own.question_score < 0.999  # the wording itself was not in the index


def _scored(entry: str, best: str, first: float, gap: float) -> Scored:
    def candidate(entry_id: str, score: float) -> Candidate:
        return Candidate(entry_id, "faq_other", "entry-security", "?", score, score, 0, 0)

    ranked = (candidate(best, first), candidate("other" if best != "other" else "x", first - gap))
    return Scored(LabelledQuery(f"{entry} {first} {gap}", "en", entry), ranked)


def _negative(first: float, out_of_scope: float = 0.0) -> Scored:
    return Scored(
        LabelledQuery(f"negative {first} {out_of_scope}", "en", None),
        (
            Candidate(
                "a",
                "faq_other",
                "entry-security",
                "?",
                first,
                first,
                0,
                0,
                out_of_scope=out_of_scope,
            ),
        ),
    )


def test_held_out_wordings_replace_the_calibration_positives_in_the_utility() -> None:
    negatives = [_negative(0.5 + i / 100) for i in range(20)]
    # The calibration half's answerable queries: all right, close runners-up.
    seen = [_scored("a", "a", 2.0, 0.05) for _ in range(10)]
    # Unseen questions: wrong when the lead is small, right when it is large.
    unseen = [_scored("a", "b", 2.0, 0.1) for _ in range(30)]
    unseen += [_scored("a", "a", 2.0, 0.6) for _ in range(70)]
    optimistic = calibrate([*negatives, *seen], "test")
    careful = calibrate([*negatives, *seen], "test", held_out=unseen)
    assert optimistic.margin <= 0.05
    assert careful.margin > 0.1
    assert careful.suggest == optimistic.suggest  # from the negatives either way
    assert careful.provenance["held_out_wordings"]["answered_wrong"] == 0.0
    assert careful.provenance["held_out_wordings"]["answerable"] == 100
    assert isinstance(careful, Thresholds)


def test_near_misses_the_classifier_recognises_are_rejected_by_the_out_of_scope_limit() -> None:
    # Near misses score like real questions (2.0-2.4) but the classifier gives them a
    # high P(out of scope); easy negatives score low. Real questions score 2.0-2.5.
    near = [_negative(2.0 + i / 50, out_of_scope=0.6 + i / 100) for i in range(20)]
    easy = [_negative(0.5 + i / 100) for i in range(20)]
    real = [_scored("a", "a", 2.0 + i / 40, 0.5) for i in range(20)]
    guarded = calibrate([*near, *easy, *real], "test", target_rejection=0.9)
    assert 0.3 <= guarded.out_of_scope <= 0.6
    assert guarded.suggest < 2.0  # no need to climb above the near misses' scores
    assert guarded.provenance["negatives_rejected"] >= 0.9
    assert guarded.provenance["answered_right"] == 1.0
    # Without the classifier's signal the only way to reject them is a threshold above
    # the near misses, which loses most real questions.
    blind = [_negative(s.first) for s in near]
    unguarded = calibrate([*blind, *easy, *real], "test", target_rejection=0.9)
    assert unguarded.out_of_scope == 1.0 or unguarded.suggest > 2.2
    assert unguarded.provenance["answered_right"] < 0.6


def _blind(first: float, out_of_scope: float = 0.0) -> Scored:
    """A real question from a file written for calibration (`whole`), answered by "a"."""
    query = LabelledQuery(f"blind {first} {out_of_scope}", "en", "a", whole="calibration")
    ranked = (
        Candidate(
            "a", "faq_other", "entry-security", "?", first, first, 0, 0, out_of_scope=out_of_scope
        ),
        Candidate(
            "b",
            "faq_other",
            "entry-security",
            "?",
            first - 0.5,
            first - 0.5,
            0,
            0,
            out_of_scope=out_of_scope,
        ),
    )
    return Scored(query, ranked)


def test_the_limit_is_chosen_on_blind_questions_and_spares_clear_matches(tmp_path: Path) -> None:
    # Near misses score 2.0-2.4 with a high P(out of scope); so do five real questions
    # that match their entry clearly (3.3-3.5). Corpus wordings (not blind) say nothing
    # about P(out of scope): the limit must be judged on the blind questions.
    near = [_negative(2.0 + i / 50, out_of_scope=0.6 + i / 100) for i in range(20)]
    easy = [_negative(0.5 + i / 100) for i in range(20)]
    real = [_blind(2.0 + i / 40) for i in range(20)]
    doubted = [_blind(3.3 + i / 20, out_of_scope=0.7) for i in range(5)]
    wordings = [_scored("a", "a", 2.6, 0.6) for _ in range(40)]
    chosen = calibrate(
        [*near, *easy, *real, *doubted], "test", target_rejection=0.9, held_out=wordings
    )
    assert chosen.out_of_scope <= 0.6
    assert chosen.out_of_scope_unless == 2.5  # above every near miss, below the clear ones
    assert chosen.provenance["blind_answerable_kept"] == 1.0
    assert chosen.provenance["negatives_rejected"] >= 0.9
    chosen.save(tmp_path / "thresholds.yml")
    reloaded = load_thresholds(tmp_path / "thresholds.yml")
    assert reloaded.out_of_scope_unless == 2.5 and reloaded.out_of_scope == chosen.out_of_scope
    assert reloaded.out_of_scope_abstains(2.4, 0.7)
    assert not reloaded.out_of_scope_abstains(3.3, 0.7)
