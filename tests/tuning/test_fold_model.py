"""The fine-tuning tuner in the leave-one-set-out protocol: trains a model per fold, embeds the
catalog with it through the cache, and a second run reuses both."""

import json

import pytest

from tests.conftest import HashingEmbedder
from toolnav.embed import MiniLMEmbedder
from toolnav.embed.local import TUNING_FILE
from toolnav.evaluation.leave_one_out import leave_one_out
from toolnav.tuning.fold_model import ModelTuner, tuned_embedder


class FoldEmbedder(HashingEmbedder):
    """Stands in for the fold model when embedding (no ONNX export): its id is the model's."""

    def __init__(self, model_dir):
        super().__init__()
        self.model_id = f"hashing+{model_dir.name}"


@pytest.mark.timeout(60)
def test_model_tuner_trains_per_fold_and_reuses_its_models(tmp_path, hashing_embedder):
    from tests.evaluation.test_leave_one_out import TOPICS, _write_set

    sets = [_write_set(tmp_path, name, TOPICS[name], ("train", "test"))
            for name in ("mail", "weather")]
    home, models = tmp_path / "home", tmp_path / "home" / "eval" / "models"

    def run() -> tuple[ModelTuner, list[FoldEmbedder]]:
        embedders = []

        def embedder_for(model_dir, threads, request_encoder):
            embedders.append(FoldEmbedder(model_dir))
            return embedders[-1]

        tuner = ModelTuner(models_dir=models, per_set=3, max_steps=2, batch_size=2,
                           train_tokens=16, embedder_for=embedder_for)
        report = leave_one_out(sets, home=home, tuner=tuner, embedder=hashing_embedder)
        assert report.tuner == "model" and [row.dataset for row in report.rows] == [
            "mail", "weather"]
        assert all(row.columns["left-out"]["recall@10"] == 1.0 for row in report.rows)
        return tuner, embedders

    first, embedders = run()
    in_set, mail_out, weather_out = first.runs
    assert in_set.examples == {"mail": 3, "weather": 3}  # capped at per_set each
    assert mail_out.training == ("weather",) and weather_out.training == ("mail",)
    assert len({run.model_dir for run in first.runs}) == 3
    for run in first.runs:  # a trained model, 2 steps, that embedded the whole catalog
        assert run.trained_seconds > 0 and run.embedded == 8
        assert json.loads((run.model_dir / TUNING_FILE).read_text())["steps"] == 2
    assert [e.texts_embedded for e in embedders][:3] == [8, 8, 8]
    second, embedders = run()  # same folds: models and tool vectors come back from disk
    assert [run.model_dir for run in second.runs] == [run.model_dir for run in first.runs]
    assert all(run.trained_seconds == 0 and run.embedded == 0 for run in second.runs)
    tuned = tuned_embedder(mail_out.model_dir, 1, "int8")
    assert isinstance(tuned, MiniLMEmbedder) and tuned.tuned
    assert tuned.model_id != MiniLMEmbedder().model_id
