"""The fine-tuning tuner in the leave-one-set-out protocol: trains a model per fold, embeds the
catalog with it through the cache, and a second run reuses both."""

import json

import pytest

from tests.conftest import HashingEmbedder
from toolnav.embed import MiniLMEmbedder
from toolnav.embed.local import TUNING_FILE
from toolnav.errors import ConfigError
from toolnav.evaluation.leave_one_out import leave_one_out
from toolnav.tuning.fold_model import ModelTuner, tuned_embedder


class FoldEmbedder(HashingEmbedder):
    """Stands in for the fold model when embedding (no ONNX export): its id is the model's."""

    def __init__(self, model_dir):
        super().__init__()
        self.model_id = f"hashing+{model_dir.name}"


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """A one-layer, 64-wide BERT with the bundled tokenizer: trains and saves in moments, and
    its vectors have the hashing embedder's width."""
    import shutil

    from transformers import BertConfig, BertModel

    from toolnav.embed.local import bundled_model_dir

    target = tmp_path_factory.mktemp("tiny")
    config = BertConfig(hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(target)
    shutil.copy2(bundled_model_dir() / "tokenizer.json", target / "tokenizer.json")
    return target


@pytest.mark.timeout(60)
def test_model_tuner_trains_per_fold_and_reuses_its_models(tmp_path, hashing_embedder,
                                                           tiny_base):
    from tests.evaluation.test_leave_one_out import TOPICS, _write_set

    sets = [_write_set(tmp_path, name, TOPICS[name], ("train", "test"))
            for name in ("mail", "weather")]
    home, models = tmp_path / "home", tmp_path / "home" / "eval" / "models"

    def evaluate() -> tuple[ModelTuner, list[FoldEmbedder]]:
        embedders = []

        def embedder_for(model_dir, threads, request_encoder):
            embedders.append(FoldEmbedder(model_dir))
            return embedders[-1]

        tuner = ModelTuner(models_dir=models, base=tiny_base, per_set=3, max_steps=2, batch_size=2,
                           train_tokens=16, embedder_for=embedder_for)
        report = leave_one_out(sets, home=home, tuner=tuner, embedder=hashing_embedder)
        assert report.tuner == "model" and [row.dataset for row in report.rows] == [
            "mail", "weather"]
        assert all(row.columns["left-out"]["recall@10"] == 1.0 for row in report.rows)
        return tuner, embedders

    first, _ = evaluate()
    in_set, mail_out, weather_out = first.runs
    assert in_set.examples == {"mail": 3, "weather": 3}  # capped at per_set each
    assert mail_out.training == ("weather",) and weather_out.training == ("mail",)
    assert len({run.model_dir for run in first.runs}) == 3
    for run in first.runs:  # a trained model, 2 steps, that embedded the whole catalog
        assert run.trained_seconds > 0 and run.embedded == 8
        assert json.loads((run.model_dir / TUNING_FILE).read_text())["steps"] == 2
    second, _ = evaluate()  # same folds: models and tool vectors come back from disk
    assert [run.model_dir for run in second.runs] == [run.model_dir for run in first.runs]
    assert all(run.trained_seconds == 0 and run.embedded == 0 for run in second.runs)
    tuned = tuned_embedder(mail_out.model_dir, 1, "int8")
    assert isinstance(tuned, MiniLMEmbedder) and tuned.tuned and tuned.request_encoder == "int8"
    assert tuned.model_id != MiniLMEmbedder().model_id


@pytest.mark.timeout(60)
def test_a_frozen_tools_tuner_trains_requests_only_and_embeds_no_tool(tmp_path,
                                                                      hashing_embedder,
                                                                      tiny_base):
    from tests.evaluation.test_leave_one_out import TOPICS, _write_set

    sets = [_write_set(tmp_path, name, TOPICS[name], ("train", "test"))
            for name in ("mail", "weather")]
    fold_embedders = []

    def embedder_for(model_dir, threads, request_encoder):
        fold_embedders.append(FoldEmbedder(model_dir))
        return fold_embedders[-1]

    tuner = ModelTuner(models_dir=tmp_path / "models", tools="frozen", base=tiny_base,
                       max_steps=2, batch_size=2, train_tokens=16, mix=0.5,
                       embedder_for=embedder_for)
    report = leave_one_out(sets, home=tmp_path / "home", tuner=tuner, embedder=hashing_embedder)
    assert [run.examples for run in tuner.runs] == [{"mail": 4, "weather": 4}, {"weather": 4},
                                                    {"mail": 4}]  # one per request
    assert all(run.embedded == 0 for run in tuner.runs)
    provenance = json.loads((tuner.runs[0].model_dir / TUNING_FILE).read_text())
    assert provenance["steps"] == 2 and "requests only" in provenance["tools"]
    assert provenance["mix"] == 0.5
    assert all(row.columns["left-out"]["recall@10"] == 1.0 for row in report.rows)
    with pytest.raises(ConfigError, match="tools one of"):
        ModelTuner(models_dir=tmp_path, tools="both").fit(None)


def test_request_encoder_tuning_rejects_positions_outside_the_catalog(tmp_path):
    import numpy as np

    from toolnav.errors import EmbeddingError
    from toolnav.tuning.model import RequestExample, tune_request_encoder

    vectors = np.eye(4, dtype=np.float32)
    examples = [RequestExample("a", (0,), (1, 2)), RequestExample("b", (1,), (9,))]
    with pytest.raises(EmbeddingError, match="must lie in the 4 tool vectors"):
        tune_request_encoder(examples, vectors, tmp_path / "model")
    with pytest.raises(EmbeddingError, match="at least 2 requests, got 1"):
        tune_request_encoder(examples[:1], vectors, tmp_path / "model")
