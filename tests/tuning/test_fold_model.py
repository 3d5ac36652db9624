"""The fine-tuning tuner in the leave-one-set-out protocol: trains a model per fold, embeds the
catalog with it through the cache, and a second run reuses both."""

import pytest

from toolnav.embed import MiniLMEmbedder
from toolnav.evaluation.leave_one_out import leave_one_out
from toolnav.tuning.fold_model import ModelTuner


@pytest.mark.timeout(120)
def test_model_tuner_trains_per_fold_and_reuses_its_models(tmp_path, hashing_embedder):
    from tests.evaluation.test_leave_one_out import TOPICS, _write_set

    sets = [_write_set(tmp_path, name, TOPICS[name], ("train", "test"))
            for name in ("mail", "weather")]
    home, models = tmp_path / "home", tmp_path / "home" / "eval" / "models"

    def run() -> ModelTuner:
        tuner = ModelTuner(models_dir=models, per_set=3, max_steps=2, batch_size=2,
                           train_tokens=16, threads=1)
        report = leave_one_out(sets, home=home, tuner=tuner, embedder=hashing_embedder)
        assert report.tuner == "model" and [row.dataset for row in report.rows] == [
            "mail", "weather"]
        assert all(row.columns["left-out"]["recall@10"] == 1.0 for row in report.rows)
        return tuner

    first = run()
    in_set, mail_out, weather_out = first.runs
    assert in_set.examples == {"mail": 3, "weather": 3}  # capped at per_set each
    assert mail_out.training == ("weather",) and weather_out.training == ("mail",)
    assert len({run.model_dir for run in first.runs}) == 3
    assert all(run.trained_seconds > 0 and run.embedded == 8 for run in first.runs)
    tuned = MiniLMEmbedder(model_dir=mail_out.model_dir)
    assert tuned.tuned and tuned.model_id != MiniLMEmbedder().model_id
    second = run()  # same folds: models and tool vectors come back from disk
    assert [run.model_dir for run in second.runs] == [run.model_dir for run in first.runs]
    assert all(run.trained_seconds == 0 and run.embedded == 0 for run in second.runs)
