"""`kb.grouping` against the plain computation it replaced (tests/kb/grouping_reference.py): the exact methods
give the same floats, and `lifts_above` / `any_lift_above` put every pair on the same side of the threshold
as the exact lift — on streams long enough to rebuild word rarity, replace the noise sample and roll the
background over, with noise levels made exact long after they were first asked for."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from kb import grouping
from kb.bm25 import BM25Index
from tests.kb import grouping_reference as reference
from tests.kb.report_texts import report, traffic

CANDIDATES = 40  # the bot compares with up to 100; fewer keep the plain computation quick


@pytest.fixture
def small_background(monkeypatch: pytest.MonkeyPatch) -> None:
    """A background of 260 reports instead of 2,000, in both: it rolls over within a test's stream."""
    for module in (grouping, reference):
        monkeypatch.setattr(module, "BACKGROUND_SIZE", 260)


def pairs(texts: list[str], background: list[str]) -> tuple[grouping.ReportSimilarity, reference.ReportSimilarity]:
    return grouping.ReportSimilarity(background=background), reference.ReportSimilarity(background=background)


@pytest.mark.usefixtures("small_background")
@pytest.mark.parametrize(("seed", "background"), [(0, 0), (1, 60), (2, 150)])
def test_lifts_above_puts_every_pair_on_the_side_of_the_exact_lift(seed: int, background: int) -> None:
    texts = traffic(330, seed, bursts=12)
    fast, plain = pairs(texts, texts[:background])
    stream = texts[background:]
    rng = random.Random(seed)
    seen_fast: list[grouping.Prepared] = []
    seen_plain: list[reference.Prepared] = []
    decided = alike = 0
    for i, text in enumerate(stream):
        new_fast, new_plain = grouping.prepare(text), reference.prepare(text)
        if seen_fast:
            threshold = rng.choice([5.0, 12.0, 22.0, 35.0])
            exact = plain.lifts(new_plain, seen_plain[-CANDIDATES:])
            bounded = fast.lifts_above(new_fast, seen_fast[-CANDIDATES:], threshold)
            assert [v >= threshold for v in bounded] == [v >= threshold for v in exact], (i, text)
            for value, truth in zip(bounded, exact, strict=True):
                # below the threshold an upper bound, at or above it a lower bound
                assert value >= truth - 1e-9 if truth < threshold else threshold <= value <= truth + 1e-9
            decided += len(exact)
            alike += sum(v >= threshold for v in exact)
        if i % 7 == 3 and seen_fast:  # an earlier report's noise level, made exact only now
            j = rng.randrange(len(seen_fast))
            assert fast.noise(seen_fast[j]) == plain.noise(seen_plain[j])
        fast.observe(new_fast)
        plain.observe(new_plain)
        seen_fast.append(new_fast)
        seen_plain.append(new_plain)
    assert alike > 20 and decided > 2_000  # the streams do have look-alikes to decide


@pytest.mark.usefixtures("small_background")
@pytest.mark.parametrize("seed", [4])
def test_any_lift_above_is_the_max_of_the_exact_lifts(seed: int) -> None:
    texts = traffic(360, seed, bursts=15)
    fast, plain = pairs(texts, texts[:120])
    rng = random.Random(seed)
    seen_fast: list[grouping.Prepared] = []
    seen_plain: list[reference.Prepared] = []
    answers = Counter[bool]()
    for text in texts[120:]:
        new_fast, new_plain = grouping.prepare(text), reference.prepare(text)
        if seen_fast:
            threshold = rng.choice([12.0, 22.0])
            picked = rng.sample(range(len(seen_fast)), min(len(seen_fast), 30))
            expected = max(plain.lifts(new_plain, [seen_plain[j] for j in picked])) >= threshold
            assert fast.any_lift_above(new_fast, [seen_fast[j] for j in picked], threshold) == expected
            answers[expected] += 1
        fast.observe(new_fast)
        plain.observe(new_plain)
        seen_fast.append(new_fast)
        seen_plain.append(new_plain)
    assert answers[True] > 10 and answers[False] > 10


@pytest.mark.usefixtures("small_background")
def test_exact_methods_give_the_same_floats() -> None:
    texts = traffic(450, 6, bursts=15)
    fast, plain = pairs(texts, texts[:30])
    rng = random.Random(6)
    kept_fast: list[grouping.Prepared] = []
    kept_plain: list[reference.Prepared] = []
    for i, text in enumerate(texts[30:]):
        new_fast, new_plain = grouping.prepare(text), reference.prepare(text)
        if kept_fast and i % 3 == 0:
            picked = rng.sample(range(len(kept_fast)), min(len(kept_fast), 12))
            group_fast = [kept_fast[j] for j in picked]
            group_plain = [kept_plain[j] for j in picked]
            assert fast.scores(new_fast, group_fast) == plain.scores(new_plain, group_plain)
            assert fast.lifts(new_fast, group_fast) == plain.lifts(new_plain, group_plain)
            assert fast.closeness(new_fast, group_fast) == plain.closeness(new_plain, group_plain)
            assert fast.noise(new_fast) == plain.noise(new_plain)
        fast.observe(new_fast)
        plain.observe(new_plain)
        kept_fast.append(new_fast)
        kept_plain.append(new_plain)


def test_word_rarity_is_what_a_bm25_index_holds() -> None:
    texts = traffic(900, 7)
    similarity = grouping.ReportSimilarity()
    for n, text in enumerate(texts, start=1):
        similarity.observe(grouping.prepare(text))
        if n % 97 == 0:
            rarity = similarity._epoch.rarity
            index = BM25Index([grouping.prepare(t).terms for t in texts[max(0, n - grouping.BACKGROUND_SIZE) : n]])
            since = similarity._since_build
            if since:  # word rarity is read again every REBUILD_EVERY reports: compare with that moment
                index = BM25Index([grouping.prepare(t).terms for t in texts[max(0, n - since - 2000) : n - since]])
            terms = {t for text in texts for t in grouping.prepare(text).terms} | {"neverseen"}
            assert [rarity.idf(t) for t in sorted(terms)] == [index.idf(t) for t in sorted(terms)]
            assert rarity.average == (index.average_length or 1.0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab cd", max_size=30), st.text(alphabet="ab cd", max_size=30))
def test_token_sort_is_the_ratio_of_the_sorted_words(a: str, b: str) -> None:
    x, y = grouping.prepare(a), grouping.prepare(b)
    assert fuzz.ratio(x.sorted_text, y.sorted_text) == fuzz.token_sort_ratio(x.text, y.text)


def test_an_empty_report_is_scored_exactly() -> None:
    texts = traffic(200, 8)
    fast, plain = pairs(texts, texts[:150])
    others = [grouping.prepare(t) for t in texts[150:190]]
    empty_fast, empty_plain = grouping.prepare("!!! ???"), reference.prepare("!!! ???")
    assert empty_fast.text == ""
    expected = plain.lifts(empty_plain, [reference.prepare(t) for t in texts[150:190]])
    assert fast.lifts_above(empty_fast, others, 0.0) == expected


def test_a_noise_level_asked_for_long_after_its_moment_is_measured_against_todays_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(grouping, "EXACT_LATER", 5)
    texts = traffic(400, 9)
    similarity = grouping.ReportSimilarity(background=texts[:200])
    first = grouping.prepare(texts[200])
    similarity.lifts_above(first, [grouping.prepare(t) for t in texts[190:200]], 22.0)  # its moment
    other = grouping.prepare(texts[199])
    for text in texts[201:320]:  # later reports' levels push the first's moment out
        report = grouping.prepare(text)
        similarity.lifts_above(report, [other], 22.0)
        similarity.observe(report)
    # its moment was forgotten: measured now, as if first asked for today
    today = sorted(similarity.scores(first, [d for d in similarity._sample if d.text != first.text]))
    assert similarity.noise(first) == today[min(len(today) - 1, int(grouping.NOISE_QUANTILE * len(today)))]


def test_look_alikes_counts_earlier_reports_of_the_subject_not_stand_in_wordings() -> None:
    rng = random.Random(7)
    everyday = [report(rng, "refund") for _ in range(30)]
    others = [report(rng, intent) for intent in ("card_declined", "export_empty", "login_broken") for _ in range(40)]
    background = others[:60] + everyday + others[60:]
    new = grouping.prepare("how do i get a refund for my order")
    reports = grouping.ReportSimilarity(background=background)
    alike, compared = reports.look_alikes(new, 10, leave_out=set())
    exact = reports.lifts(new, [grouping.prepare(t) for t in background])
    assert (alike, compared) == (sum(v >= 10 for v in exact), len(background))
    assert alike >= 5  # an everyday subject: many earlier reports read like it
    # the same texts as a young desk's stand-in wordings teach word rarity but are not traffic
    stand_in = grouping.ReportSimilarity(background=others, wordings=everyday)
    assert stand_in.look_alikes(new, 10, leave_out=set()) == (0, len(others))
    left = set(everyday[:10])
    assert reports.look_alikes(new, 10, leave_out=left)[1] == len(background) - len(left)


def test_noise_is_measured_against_the_desks_own_reports_once_it_has_enough() -> None:
    """A young desk's stand-in wordings (its KB's) are its noise sample until it has a sample's worth of reports:
    they are what its customers are expected to write, not what they wrote."""
    rng = random.Random(8)
    wordings = [report(rng, "export_empty") for _ in range(40)]
    traffic_so_far = [report(rng) for _ in range(grouping.NOISE_SAMPLE + 20)]
    young = grouping.ReportSimilarity(background=traffic_so_far[:30], wordings=wordings)
    stand_ins = {grouping.prepare(w).text for w in wordings}
    assert {d.text for d in young._sample} >= stand_ins
    grown = grouping.ReportSimilarity(background=traffic_so_far, wordings=wordings)
    assert len(grown._sample) == grouping.NOISE_SAMPLE
    assert {d.text for d in grown._sample} <= {grouping.prepare(t).text for t in traffic_so_far}
