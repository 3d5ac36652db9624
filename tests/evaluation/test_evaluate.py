import json

import pytest

from toolnav.errors import SourceError
from toolnav.evaluation.evaluate import complete_at_k, load_queries, mrr, ndcg_at_k, recall_at_k


def test_metrics_on_a_known_ranking():
    ranked = ["a", "x", "b", "y"]
    gold = ["a", "b"]
    assert recall_at_k(ranked, gold, 1) == 0.5
    assert recall_at_k(ranked, gold, 3) == 1.0
    assert complete_at_k(ranked, gold, 2) == 0.0 and complete_at_k(ranked, gold, 3) == 1.0
    assert mrr(["x", "a"], gold) == 0.5 and mrr(["x"], gold) == 0.0
    assert ndcg_at_k(["a", "b"], gold, 2) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "a"], ["a"], 2) == pytest.approx(1 / 1.5849625)


def test_load_queries_and_its_errors(tmp_path):
    (tmp_path / "queries.jsonl").write_text(json.dumps(
        {"id": "q1", "query": "hello", "tools": ["a"], "split": "dev"}) + "\n")
    (query,) = load_queries(tmp_path)
    assert (query.id, query.text, query.gold, query.split) == ("q1", "hello", ("a",), "dev")
    (tmp_path / "queries.jsonl").write_text('{"id": "q1", "query": "hello", "tools": []}\n')
    with pytest.raises(SourceError, match=r"queries.jsonl:1: 'tools' must be a non-empty list"):
        load_queries(tmp_path)


def test_tuning_mask_takes_train_then_dev_then_the_even_crc32_half():
    from toolnav.evaluation.evaluate import Query, tuning_mask

    def queries(*splits):
        return [Query(f"q{i}", "text", ("a",), split) for i, split in enumerate(splits)]

    assert tuning_mask(queries("train", "dev", "test")) == [True, False, False]
    assert tuning_mask(queries("dev", "test_in_domain")) == [True, False]
    only_test = queries(*["test"] * 40)
    mask = tuning_mask(only_test)  # one split name: the even-crc32 half
    assert mask == tuning_mask(queries(*[""] * 40)) and 10 < sum(mask) < 30
    assert tuning_mask(queries("dev", "dev")) == tuning_mask(queries("", ""))
