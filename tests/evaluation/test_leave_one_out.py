import json

import numpy as np
import pytest

from tests.conftest import SHARED_DATA, requires_shared_data
from toolnav.config import RouteParams
from toolnav.errors import ConfigError, SourceError
from toolnav.evaluation.leave_one_out import (
    ParamsTuner,
    abstention_threshold,
    leave_one_out,
    plot_leave_one_out,
)

# Three tiny sets from three "sources" whose words do not overlap.
TOPICS = {
    "mail": ["email letter inbox", "calendar meeting invite", "contact address book",
             "spam folder filter"],
    "weather": ["rain forecast tomorrow", "wind speed storm", "snow depth mountain",
                "temperature heat wave"],
    "music": ["guitar chord song", "piano sheet notes", "drum beat tempo",
              "violin string concerto"],
}


def _write_set(root, name, phrases, splits):
    folder = root / name
    folder.mkdir()
    tools = [{"name": f"{name}_{i}", "description": phrase,
              "parameters": {"type": "object", "properties": {}}}
             for i, phrase in enumerate(phrases)]
    (folder / "tools.jsonl").write_text("".join(json.dumps(tool) + "\n" for tool in tools))
    queries = [{"id": f"{name}-{i}-{split}", "query": f"{phrase} {split}",
                "tools": [f"{name}_{i}"], "split": split}
               for i, phrase in enumerate(phrases) for split in splits]
    (folder / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in queries))
    return folder


@pytest.fixture
def three_sets(tmp_path):
    return [_write_set(tmp_path, "mail", TOPICS["mail"], ("train", "test")),
            _write_set(tmp_path, "weather", TOPICS["weather"], ("dev", "test")),
            _write_set(tmp_path, "music", TOPICS["music"], ("a", "b", "c"))]


class RecordingTuner:
    """Fits nothing; remembers what each fold trained on."""

    name = "recording"

    def __init__(self):
        self.trained_on = []

    def fit(self, context):
        self.trained_on.append({r.name: list(r.texts) for r in context.training})
        return context.router(RouteParams())


def test_each_fold_trains_only_on_the_other_sets_tuning_split(tmp_path, three_sets,
                                                              hashing_embedder):
    tuner = RecordingTuner()
    report = leave_one_out(three_sets, home=tmp_path / "home", tuner=tuner,
                           embedder=hashing_embedder)
    in_set, *folds = tuner.trained_on
    assert sorted(in_set) == ["mail", "music", "weather"]
    # train split where there is one, dev beside another split, else the even-crc32 half
    assert all(text.endswith(" train") for text in in_set["mail"]) and len(in_set["mail"]) == 4
    assert all(text.endswith(" dev") for text in in_set["weather"])
    assert 0 < len(in_set["music"]) < 12
    assert [sorted(fold) for fold in folds] == [["music", "weather"], ["mail", "music"],
                                                ["mail", "weather"]]
    assert [row.dataset for row in report.rows] == ["mail", "weather", "music"]
    mail = report.rows[0]
    assert mail.queries == 4 and mail.catalog_size == 12  # the held-out "test" requests
    assert mail.disjoint_catalog == "weather"  # not a shared set: the next one named
    for column in mail.columns.values():
        assert column["recall@1"] == 1.0 and column["complete@10"] == 1.0
    assert len(mail.curves["left-out"]) == 20


def test_cross_source_requests_are_abstained_on(tmp_path, three_sets, hashing_embedder):
    report = leave_one_out(three_sets, home=tmp_path / "home", tuner=RecordingTuner(),
                           embedder=hashing_embedder, max_recall_drop=0.0)
    for row in report.rows:
        left_out = row.columns["left-out"]
        # no word is shared with the other source, so its lift stays far below
        assert left_out["abstained cross-source"] == 1.0
        # every normal request finds its tool first, so each one abstained on loses it
        assert left_out["recall@5 lost"] == left_out["abstained normal"] < 1.0
        # a lift: a normal request's best cosine minus its mean cosine over the catalog
        assert 0.3 < row.thresholds["left-out"] < 2.0


def test_params_tuner_picks_from_its_grid(tmp_path, three_sets, hashing_embedder):
    tuner = ParamsTuner(dense_weights=(0.2, 0.8), group_pulls=(0.0,))
    report = leave_one_out(three_sets, home=tmp_path / "home", tuner=tuner,
                           embedder=hashing_embedder, sample=2)
    assert len(tuner.chosen) == 4  # the in-set fit and one per fold
    assert {params.dense_weight for params in tuner.chosen} <= {0.2, 0.8}
    assert report.rows[0].settings["left-out"] == {"dense_weight": tuner.chosen[1].dense_weight,
                                                   "group_pull": 0.0}
    assert report.tuner == "params" and all(row.queries == 2 for row in report.rows)


def test_plot_is_written(tmp_path, three_sets, hashing_embedder):
    pytest.importorskip("matplotlib")
    report = leave_one_out(three_sets, home=tmp_path / "home", tuner=RecordingTuner(),
                           embedder=hashing_embedder)
    plot_leave_one_out(report, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_bad_runs_are_refused(tmp_path, three_sets, hashing_embedder):
    with pytest.raises(ConfigError, match="at least two datasets"):
        leave_one_out(three_sets[:1], home=tmp_path, tuner=RecordingTuner(),
                      embedder=hashing_embedder)
    with pytest.raises(ConfigError, match="must be another dataset"):
        leave_one_out(three_sets, home=tmp_path, tuner=RecordingTuner(),
                      embedder=hashing_embedder, disjoint={"mail": "mail"})
    only_train = _write_set(tmp_path, "trainonly", ["chess opening", "go board"], ("train",))
    with pytest.raises(SourceError, match="trainonly: leave-one-set-out needs requests both"):
        leave_one_out([three_sets[0], only_train], home=tmp_path / "h2",
                      tuner=RecordingTuner(), embedder=hashing_embedder)


def test_abstention_threshold_keeps_every_sets_loss_within_the_bound():
    best = [np.array([0.1, 0.5, 0.9]), np.array([0.3, 0.7])]
    recall = [np.array([0.0, 1.0, 1.0]), np.array([0.5, 1.0])]
    # up to 0.3 nothing is lost; at 0.5 the second set would lose 0.5 / 2 = 0.25
    assert abstention_threshold(best, recall, max_drop=0.0) == pytest.approx(0.3)
    assert abstention_threshold(best, recall, max_drop=0.25) == pytest.approx(0.5)


@requires_shared_data("metatool", "api_bank")
def test_protocol_runs_on_shared_sets(tmp_path, hashing_embedder):
    report = leave_one_out([SHARED_DATA / "metatool", SHARED_DATA / "api_bank"],
                           home=tmp_path, tuner=RecordingTuner(), embedder=hashing_embedder,
                           sample=25)
    metatool, api_bank = report.rows
    assert (metatool.catalog_size, metatool.queries) == (271, 25)
    assert (metatool.disjoint_catalog, api_bank.disjoint_catalog) == ("api_bank", "metatool")
    assert all(row.columns["left-out"]["recall@10"] > 0.3 for row in report.rows)
