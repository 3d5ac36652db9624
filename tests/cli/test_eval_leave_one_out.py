"""`toolnav eval --leave-one-out` as a user runs it: a real process with the bundled model."""

import json

import pytest

from tests.conftest import run_toolnav as toolnav


def _dataset(root, name, tools, asks):
    folder = root / name
    folder.mkdir()
    (folder / "tools.jsonl").write_text("".join(
        json.dumps({"name": tool, "description": text}) + "\n" for tool, text in tools.items()))
    (folder / "queries.jsonl").write_text("".join(
        json.dumps({"id": f"{name}{i}", "query": ask, "tools": [list(tools)[i % len(tools)]],
                    "split": "train" if i < len(tools) else "test"}) + "\n"
        for i, ask in enumerate(asks)))
    return folder


@pytest.mark.timeout(300)
def test_leave_one_out_table_json_and_plot(tmp_path):
    daily = _dataset(tmp_path, "daily", {"get_weather": "Current weather conditions for a city",
                                         "send_email": "Send an email to a recipient"},
                     ["is it raining in Oslo", "mail the invoice to Ann",
                      "will I need an umbrella in Lima", "write to Bob about lunch"])
    travel = _dataset(tmp_path, "travel", {"book_flight": "Book a plane ticket",
                                           "convert_currency": "Convert between currencies"},
                      ["get me a seat to Rome", "how many yen is 20 euros",
                       "fly me to Tokyo on Friday", "dollars to pounds"])
    home, plot = tmp_path / "home", tmp_path / "loo.png"
    run = toolnav(home, "eval", str(daily), str(travel), "--leave-one-out", "--tuner", "none",
                  "--json", "--plot", str(plot))
    report = json.loads(run.stdout)
    assert report["tuner"] == "none"
    assert [(row["dataset"], row["queries"], row["disjoint_catalog"]) for row in report["rows"]
            ] == [("daily", 2, "travel"), ("travel", 2, "daily")]
    assert all(row["columns"]["left-out"]["recall@5"] == 1.0 for row in report["rows"])
    assert plot.read_bytes()[:4] == b"\x89PNG"
    table = toolnav(home, "eval", str(daily), str(travel), "--leave-one-out", "--tuner", "none")
    assert "daily: 2 held-out requests, 4 tools; cross-source catalog: travel" in table.stdout
    assert "left-out" in table.stdout and "abstained cross-source" in table.stdout
    refused = toolnav(home, "eval", str(daily), str(travel), "--leave-one-out", "--held-out",
                      check_exit=1)
    assert "--leave-one-out always scores held-out requests" in refused.stderr
    unknown = toolnav(home, "eval", str(daily), str(travel), "--leave-one-out", "--tuner", "x",
                      check_exit=1)
    assert ("--tuner 'x': choose one of params, adapter, none, model, request-model"
            in unknown.stderr)
    unmixable = toolnav(home, "eval", str(daily), str(travel), "--leave-one-out", "--mix", "0.5",
                        check_exit=1)
    assert "--tuner params trains no model: use --tuner model or request-model" in unmixable.stderr
