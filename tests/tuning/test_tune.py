"""Fine-tuning the bundled model: it learns the pairs, saves atomically, and is loadable."""

import json

import numpy as np
import pytest
import torch
from transformers import BertModel

from toolnav.embed import MiniLMEmbedder, load_default_embedder
from toolnav.embed.local import bundled_model_dir
from toolnav.errors import EmbeddingError
from toolnav.tuning.model import TUNING_FILE, TuningExample, tune_model

PAIRS = [
    ("ping the on-call person", "page_engineer: Alert the engineer on duty"),
    ("how much is left in my budget", "get_balance: Remaining funds of an account"),
    ("put the meeting on my calendar", "create_event: Add an event to a calendar"),
    ("turn this recording into text", "transcribe_audio: Speech to text for an audio file"),
]
FILLER = ["one", "two", "three", "four", "five"]  # > 4 texts: the torch path, no ONNX export
EXAMPLES = [TuningExample(request, tool, negatives=(PAIRS[(i + 1) % 4][1],))
            for i, (request, tool) in enumerate(PAIRS)]
SETTINGS = {"epochs": 3, "learning_rate": 1e-4, "batch_size": 4}


def margins(embedder) -> np.ndarray:
    """Per request: cosine to its own tool minus the best cosine to another pair's tool."""
    vectors = embedder.embed([r for r, _ in PAIRS] + [t for _, t in PAIRS] + FILLER)
    scores = vectors[:4] @ vectors[4:8].T
    others = np.where(np.eye(4, dtype=bool), -np.inf, scores).max(axis=1)
    return np.diag(scores) - others


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    target = tmp_path_factory.mktemp("home") / "model"
    steps = []
    report = tune_model(EXAMPLES, target, **SETTINGS,
                        progress=lambda step, total, loss: steps.append((step, total)))
    return target, report, steps


def test_tuning_pulls_requests_toward_their_tools(tuned):
    target, report, steps = tuned
    before = margins(MiniLMEmbedder())
    after = margins(MiniLMEmbedder(model_dir=target))
    assert (after > 0).all() and after.mean() > before.mean() + 0.05, (before, after)
    assert report.steps == 3 and steps[-1] == (3, 3)
    assert report.last_loss < report.first_loss


def test_the_tuned_model_has_its_own_id_and_provenance(tuned):
    target, report, _ = tuned
    provenance = json.loads((target / TUNING_FILE).read_text())
    assert provenance["weights_sha256"] == report.weights_digest
    assert provenance["examples"] == 4 and provenance["epochs"] == 3
    tuned_id = MiniLMEmbedder(model_dir=target).model_id
    assert MiniLMEmbedder(model_dir=target).tuned and not MiniLMEmbedder().tuned
    assert tuned_id != MiniLMEmbedder().model_id
    assert report.weights_digest[:16] in tuned_id
    assert load_default_embedder(target.parent).model_id == tuned_id
    assert load_default_embedder(target.parent / "elsewhere").model_id == MiniLMEmbedder().model_id


def test_mix_ends_halfway_between_the_base_and_the_tuned_weights(tuned, tmp_path):
    target, _, _ = tuned
    tune_model(EXAMPLES, tmp_path / "half", **SETTINGS, mix=0.5)
    base, full, half = (BertModel.from_pretrained(model).state_dict()
                        for model in (bundled_model_dir(), target, tmp_path / "half"))
    moved = [name for name, weights in base.items() if weights.is_floating_point()]
    tuned_step = torch.cat([(full[name] - base[name]).flatten() for name in moved])
    mixed_step = torch.cat([(half[name] - base[name]).flatten() for name in moved])
    clear = tuned_step.abs() > 1e-5  # well above float32 rounding of the weights
    assert clear.sum() > 10_000
    ratio = mixed_step[clear] / tuned_step[clear]
    assert ratio.min() > 0.45 and ratio.max() < 0.55, (ratio.min(), ratio.max())
    assert json.loads((tmp_path / "half" / TUNING_FILE).read_text())["mix"] == 0.5


def test_bad_tuning_input_and_broken_model_directories(tmp_path):
    with pytest.raises(EmbeddingError, match="at least 2 request-tool pairs, got 1"):
        tune_model([TuningExample("a", "b")], tmp_path / "model")
    with pytest.raises(EmbeddingError, match="batch_size ≥ 2"):
        tune_model([TuningExample("a", "b")] * 2, tmp_path / "model", batch_size=1)
    with pytest.raises(EmbeddingError, match="0 < mix ≤ 1"):
        tune_model([TuningExample("a", "b")] * 2, tmp_path / "model", mix=0)
    (tmp_path / "model").mkdir()
    with pytest.raises(EmbeddingError, match="is not a tuned toolnav model"):
        MiniLMEmbedder(model_dir=tmp_path / "model")
    (tmp_path / "model" / TUNING_FILE).write_text('{"weights_sha256": "ab"}')
    with pytest.raises(EmbeddingError, match=r"lacks model\.safetensors, tokenizer\.json"):
        MiniLMEmbedder(model_dir=tmp_path / "model")
