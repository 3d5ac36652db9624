import numpy as np
import pytest

from tests.conftest import HashingEmbedder
from toolnav.errors import EmbeddingError
from toolnav.tuning.adapter import AdaptedEmbedder, fit_adapter


def _unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_adapter_learns_a_mapping_that_generalises_to_unseen_requests():
    rng = np.random.default_rng(0)
    tools = _unit(rng.normal(size=(60, 16))).astype(np.float32)
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    # requests are their tool's vector seen through a rotation, with noise
    gold = rng.integers(0, 60, size=400)
    requests = _unit(tools[gold] @ rotation.T + 0.1 * rng.normal(size=(400, 16)))
    train, test = slice(0, 300), slice(300, 400)
    weights = fit_adapter(requests[train], [[g] for g in gold[train]],
                          [i % 2 for i in range(300)], tools, steps=300, identity_penalty=0.0)

    def top1(vectors):
        return float(np.mean((vectors @ tools.T).argmax(1) == gold[test]))

    adapted = _unit(requests[test] @ weights)
    assert top1(requests[test]) < 0.3 and top1(adapted) > 0.8


def test_the_identity_penalty_keeps_the_adapter_near_the_identity():
    rng = np.random.default_rng(1)
    tools = _unit(rng.normal(size=(20, 8))).astype(np.float32)
    requests = _unit(rng.normal(size=(30, 8))).astype(np.float32)
    gold = [[i % 20] for i in range(30)]
    loose = fit_adapter(requests, gold, [0] * 30, tools, steps=50, identity_penalty=0.0)
    held = fit_adapter(requests, gold, [0] * 30, tools, steps=50, identity_penalty=100.0)
    assert np.linalg.norm(held - np.eye(8)) < 0.2 * np.linalg.norm(loose - np.eye(8))
    with pytest.raises(EmbeddingError, match="need the same, non-zero number"):
        fit_adapter(requests, gold[:3], [0] * 30, tools)


def test_adapted_embedder_changes_requests_only():
    base = HashingEmbedder()
    swap = np.eye(64, dtype=np.float32)[::-1]
    adapted = AdaptedEmbedder(base, swap)
    assert np.allclose(adapted.embed(["send mail"]), base.embed(["send mail"]))
    (rows,) = adapted.embed_spans(["send mail. get weather"], [[(0, 9), (11, 22)]])
    assert rows.shape == (3, 64)
    assert np.allclose(rows[0], base.embed(["send mail. get weather"])[0][::-1], atol=1e-6)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0)


def test_adapter_tuner_runs_in_the_leave_one_out_protocol(tmp_path, hashing_embedder):
    from tests.evaluation.test_leave_one_out import TOPICS, _write_set
    from toolnav.evaluation.leave_one_out import leave_one_out
    from toolnav.tuning.adapter import AdapterTuner

    sets = [_write_set(tmp_path, name, phrases, ("train", "test"))
            for name, phrases in TOPICS.items()]
    tuner = AdapterTuner(steps=5)
    report = leave_one_out(sets, home=tmp_path / "home", tuner=tuner, embedder=hashing_embedder)
    assert report.tuner == "adapter" and len(tuner.shifts) == 4
    assert all(shift > 0 for shift in tuner.shifts)  # each fit moved away from the identity
    assert all(row.columns["left-out"]["recall@10"] == 1.0 for row in report.rows)
