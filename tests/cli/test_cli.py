"""The CLI as a user runs it: a real process, its exit code, stdout and stderr."""

import json
import subprocess
import sys

import pytest

from tests.conftest import python_output
from tests.conftest import run_toolnav as toolnav


def test_add_malformed_json_is_one_clear_line_and_changes_nothing(tmp_path):
    good = tmp_path / "weather.json"
    good.write_text(json.dumps([{"name": "get_weather", "description": "Weather"}]))
    toolnav(tmp_path / "home", "add", str(good))
    good.write_text('[{"name": "get_weather", "description": }]')
    failed = toolnav(tmp_path / "home", "add", str(good), check_exit=1)
    assert "malformed JSON at line 1, column 41" in failed.stderr
    listed = toolnav(tmp_path / "home", "tools", "--json")
    assert [t["description"] for t in json.loads(listed.stdout)] == ["Weather"]


def test_search_on_an_empty_catalog(tmp_path):
    failed = toolnav(tmp_path, "search", "anything", check_exit=1)
    assert "the catalog is empty; add tools with `toolnav add SOURCE`" in failed.stderr


def test_remove_unknown_tool_and_bad_k(tmp_path):
    assert "no tool named 'ghost'" in toolnav(tmp_path, "remove", "ghost",
                                              check_exit=1).stderr
    assert "--k '1,x'" in toolnav(tmp_path, "eval", str(tmp_path), "--k", "1,x",
                                  check_exit=1).stderr


@pytest.mark.timeout(600)
def test_add_index_search_with_the_real_model(tmp_path):
    catalog = tmp_path / "tools.json"
    catalog.write_text(json.dumps([
        {"name": "get_weather", "description": "Current weather conditions for a city"},
        {"name": "send_email", "description": "Send an email to a recipient"},
        {"name": "convert_currency", "description": "Convert an amount between currencies"},
        {"name": "book_flight", "description": "Book a plane ticket between two airports"},
    ]))
    home = tmp_path / "home"
    toolnav(home, "add", str(catalog))
    first = toolnav(home, "index")
    assert "4 embedded, 0 from the embedding cache; index rebuilt" in first.stdout
    again = toolnav(home, "index")
    assert "0 embedded, 4 from the embedding cache; index unchanged" in again.stdout
    found = json.loads(toolnav(home, "search", "how many euros is 30 dollars", "-k", "2",
                               "--json").stdout)
    assert found["candidates"][0]["name"] == "convert_currency"
    assert len(found["candidates"]) == 2


def test_exit_codes_of_help_and_usage_errors(tmp_path):
    assert "Usage" in toolnav(tmp_path, "--help").stdout
    assert "No such command" in toolnav(tmp_path, "frobnicate", check_exit=2).stderr


def mini_dataset(tmp_path):
    """Six tools and twelve requests, half of them in the tuning split."""
    data = tmp_path / "mini"
    data.mkdir()
    tools = {"get_weather": "Current weather conditions for a city",
             "send_email": "Send an email to a recipient",
             "convert_currency": "Convert an amount between currencies",
             "book_flight": "Book a plane ticket between two airports",
             "translate_text": "Translate text into another language",
             "set_alarm": "Set an alarm clock for a time"}
    (data / "tools.jsonl").write_text("".join(
        json.dumps({"name": n, "description": d}) + "\n" for n, d in tools.items()))
    asks = ["is it raining in Oslo", "mail the invoice to Ann", "how many yen is 20 euros",
            "get me a seat to Rome", "say this in German", "wake me at 6",
            "will I need an umbrella in Lima", "write to Bob about lunch", "dollars to pounds",
            "fly me to Tokyo on Friday", "what is 'hello' in Spanish", "alarm for 7:30"]
    (data / "queries.jsonl").write_text("".join(
        json.dumps({"id": f"q{i}", "query": ask, "tools": [list(tools)[i % 6]],
                    "split": "dev" if i < 6 else "test"}) + "\n" for i, ask in enumerate(asks)))
    return data


@pytest.mark.timeout(600)
def test_tune_then_eval_held_out_then_reset(tmp_path):
    data = mini_dataset(tmp_path)
    home = tmp_path / "home"
    toolnav(home, "add", str(data))
    tuned = toolnav(home, "tune", str(data), "--epochs", "1", "--batch-size", "6",
                    "--mix", "0.5")
    assert "tuned on 6 request-tool pairs, 1 steps" in tuned.stdout
    assert "catalog re-embedded with the tuned model: 6 tools" in tuned.stdout
    assert "0 embedded" in toolnav(home, "index").stdout          # already tuned vectors
    provenance = json.loads((home / "model" / "toolnav-tuning.json").read_text())
    assert provenance["mix"] == 0.5
    assert "request table trained" in tuned.stdout
    assert (home / "model" / "request-table.npy").is_file()
    found = json.loads(toolnav(home, "search", "what is the weather in Oslo", "--json").stdout)
    assert found["candidates"][0]["name"] == "get_weather"      # the request went through the table
    transformer = toolnav(home, "search", "what is the weather in Oslo", "--json",
                          env={"TOOLNAV_REQUEST_ENCODER": "int8"})
    assert json.loads(transformer.stdout)["candidates"][0]["name"] == "get_weather"
    bad = toolnav(home, "search", "weather", env={"TOOLNAV_REQUEST_ENCODER": "int4"},
                  check_exit=1).stderr
    assert "TOOLNAV_REQUEST_ENCODER='int4' is not one of table, int8, fp32" in bad
    held_out = toolnav(home, "eval", str(data), "--held-out", "--methods", "dense", "--json")
    assert json.loads(held_out.stdout)[0]["queries"] == 6
    assert "requests are embedded by the table request encoder" in held_out.stderr
    everything = toolnav(home, "eval", str(data), "--methods", "bm25", "--json")
    assert json.loads(everything.stdout)[0]["queries"] == 12
    assert "pass --held-out for an unbiased figure" in everything.stderr
    reset = toolnav(home, "tune", "--reset").stdout
    assert "tuned model and request table removed" in reset
    assert "catalog re-embedded with the bundled model: 6 tools" in reset
    assert not (home / "model").exists()
    assert "0 embedded" in toolnav(home, "index").stdout          # already bundled vectors
    untuned = toolnav(home, "search", "weather", env={"TOOLNAV_REQUEST_ENCODER": "table"},
                      check_exit=1).stderr
    assert "the bundled model has no request table; `toolnav tune --label-free`" in untuned
    assert "name at least one dataset folder" in toolnav(home, "tune", check_exit=1).stderr
    refused = toolnav(home, "tune", "--label-free", "--mix", "0.5", check_exit=1).stderr
    assert "--label-free trains no model, only a request table" in refused
    out_of_range = toolnav(home, "tune", str(data), "--mix", "0", check_exit=2).stderr
    assert "Invalid value for '--mix'" in out_of_range


def test_eval_abstention_calibrates_a_threshold_that_search_then_uses(tmp_path):
    data, home = mini_dataset(tmp_path), tmp_path / "home"
    measured = json.loads(toolnav(home, "eval", str(data), "--abstention", "--json").stdout)
    threshold, report = measured["threshold"], measured["held_out"]["mini"]
    assert report["requests"] == 6 and report["threshold"] == threshold
    # with its one fitting tool gone, a request's best match is an unrelated tool
    assert report["separation"] > 0.9
    assert report["abstained_without_gold"] > report["abstained_normal"]
    toolnav(home, "add", str(data))
    env = {"TOOLNAV_ABSTAIN_LIFT_BELOW": str(threshold)}
    unrelated = json.loads(toolnav(home, "search", "a lasagne recipe with spinach", "--json",
                                   env=env).stdout)
    fitting = json.loads(toolnav(home, "search", "is it snowing in Bergen", "--json",
                                 env=env).stdout)
    assert unrelated["abstained"] and unrelated["lift"] < threshold
    assert not fitting["abstained"] and fitting["candidates"][0]["name"] == "get_weather"
    refused = toolnav(home, "eval", str(data), "--abstention", "--held-out", check_exit=1)
    assert "drop --plot, --held-out and --leave-one-out" in refused.stderr
    assert "is not a number" in toolnav(home, "search", "x", check_exit=1,
                                        env={"TOOLNAV_ABSTAIN_BELOW": "high"}).stderr
    out_of_range = toolnav(home, "search", "x", check_exit=1,
                           env={"TOOLNAV_ABSTAIN_BELOW": "2"}).stderr
    assert "TOOLNAV_ABSTAIN_BELOW: abstain_below is a cosine" in out_of_range
    assert "must be in [-1, 1], got 2.0" in out_of_range


def test_version_help_and_bad_method_before_any_work(tmp_path):
    assert toolnav(tmp_path, "--version").stdout.startswith("toolnav ")
    shown = toolnav(tmp_path, "search", "--help").stdout
    assert "<bool>" not in shown and "--json" in shown and "hybrid|dense|bm25" in shown
    bad = toolnav(tmp_path / "empty", "search", "weather", "--method", "semantic", check_exit=2)
    assert "semantic" in bad.stderr and not (tmp_path / "empty" / "index").exists()
    empty = toolnav(tmp_path, "search", "   ", check_exit=1)
    assert "the request is empty" in empty.stderr


def test_call_arguments_from_a_file_and_from_standard_input(tmp_path):
    from tests.sources.services import EXAMPLES

    home = tmp_path / "home"
    toolnav(home, "add", str(EXAMPLES / "python_tools.py"))
    arguments = tmp_path / "args.json"
    arguments.write_text('{"a": 2, "b": 40}')
    assert toolnav(home, "call", "add_numbers", "--args", f"@{arguments}").stdout.strip() == "42"
    piped = subprocess.run([sys.executable, "-m", "toolnav", "--home", str(home), "call",
                            "add_numbers", "--args", "-"], input='{"a": 1, "b": 1}',
                           capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and piped.stdout.strip() == "2", piped.stderr
    missing = toolnav(home, "call", "add_numbers", "--args", "@nope.json", check_exit=1)
    assert "cannot read nope.json" in missing.stderr


def test_plot_without_matplotlib_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from toolnav.cli import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(sys, "argv", ["toolnav", "--home", str(tmp_path), "eval",
                                      str(tmp_path), "--plot", str(tmp_path / "p.png")])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 1
    assert "pip install 'toolnav[plot]'" in capsys.readouterr().err


def test_progress_without_a_terminal_is_plain_lines(monkeypatch, capsys):
    from toolnav.cli import _common

    clock = iter([0.0, 1.0, 11.0, 12.0, 30.0])
    monkeypatch.setattr(_common, "_clock", lambda: next(clock))
    from rich.console import Console

    monkeypatch.setattr(_common, "error_console", Console(stderr=True, force_terminal=False))
    with _common.progress() as update:
        update("embedding tools", 1, 10)      # 1 s in: too soon to print
        update("embedding tools", 5, 10)      # 11 s: a line
        update("embedding tools", 6, 10)      # 12 s: too soon again
        update("embedding tools", 10, 10)     # done, and lines were printed: a last line
    assert capsys.readouterr().err.splitlines() == ["embedding tools: 5/10",
                                                    "embedding tools: 10/10"]


@pytest.mark.timeout(600)
def test_search_k_above_the_search_depth_returns_k(tmp_path):
    tools = tmp_path / "many.jsonl"
    tools.write_text("\n".join(json.dumps({"name": f"task_{i}", "description":
                                           f"handles task number {i} of area {i % 13}"})
                               for i in range(300)))
    toolnav(tmp_path / "home", "add", str(tools))
    found = json.loads(toolnav(tmp_path / "home", "search", "handle a task", "-k", "150",
                               "--json").stdout)
    assert len({candidate["name"] for candidate in found["candidates"]}) == 150


def test_tools_lists_plain_aligned_columns_and_json_one_tool_a_line(tmp_path):
    source = tmp_path / "many.jsonl"
    source.write_text("".join(json.dumps({"name": f"tool_{i}", "description": f"does {i}\nmore"})
                              + "\n" for i in range(12)))
    home = tmp_path / "home"
    toolnav(home, "add", str(source))
    lines = toolnav(home, "tools").stdout.splitlines()
    assert lines[:3] == ["name     source  description", "tool_0   many    does 0",
                         "tool_1   many    does 1"]
    assert len(lines) == 13 and lines[-1] == "tool_11  many    does 11"
    listed = toolnav(home, "tools", "--json").stdout
    assert len(listed.splitlines()) == 14                   # "[", a line per tool, "]"
    assert [tool["name"] for tool in json.loads(listed)] == [f"tool_{i}" for i in range(12)]
    assert "the catalog is empty" in toolnav(tmp_path / "empty", "tools").stderr


def test_commands_that_need_no_model_import_none_of_the_heavy_libraries():
    script = ("import sys, toolnav.cli.app; print(sorted(m for m in ('numpy', 'torch', 'numba', "
              "'httpx', 'pydantic', 'jsonschema', 'mcp', 'onnxruntime') if m in sys.modules))")
    assert python_output(script).strip() == "[]"
