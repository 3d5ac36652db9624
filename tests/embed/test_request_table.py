"""The request table: trained from a tuned model, it embeds requests without the transformer."""

import json

import numpy as np
import pytest

from toolnav.embed import MiniLMEmbedder
from toolnav.embed.local import load_tokenizer
from toolnav.embed.request_table import TABLE_FILE, TableEncoder, save_table
from toolnav.errors import EmbeddingError
from toolnav.tuning.examples import train_table
from toolnav.tuning.model import TuningExample, tune_model
from toolnav.tuning.table import train_request_table

TOOLS = [
    "page_engineer: Alert the engineer on duty",
    "get_balance: Remaining funds of an account",
    "create_event: Add an event to a calendar",
    "transcribe_audio: Speech to text for an audio file",
    "send_invoice: Bill a customer for an order",
    "translate_text: Translate a text into another language",
]
REQUESTS = [
    ("ping the on-call person", [0]),
    ("how much is left in my budget", [1]),
    ("put the meeting on my calendar", [2]),
    ("turn this recording into text. Then put the notes on my calendar", [3, 2]),
    ("charge the client for their purchase", [4]),
    ("say this in French", [5]),
]
SPANS = [[], [], [], [(0, 30), (32, 64)], [], []]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tuned model (one quick epoch) with a request table trained on REQUESTS."""
    target = tmp_path_factory.mktemp("home") / "model"
    tune_model([TuningExample(request, TOOLS[gold[0]]) for request, gold in REQUESTS], target,
               epochs=1, batch_size=6)
    teacher = MiniLMEmbedder(model_dir=target, request_encoder="fp32")
    steps = []
    table = train_request_table(teacher, TOOLS, teacher.embed(TOOLS),
                                [request for request, _ in REQUESTS], SPANS,
                                [gold for _, gold in REQUESTS], epochs=30,
                                progress=lambda *args: steps.append(args))
    assert steps[-1][0].startswith("training the request table (loss ")
    assert steps[-1][1:] == (30, 30)
    assert table.shape == (load_tokenizer(target).get_vocab_size(), 384)
    save_table(table, target / TABLE_FILE)
    return target


def test_a_tuned_model_with_a_table_embeds_requests_with_it(model_dir):
    embedder = MiniLMEmbedder(model_dir=model_dir)
    assert embedder.request_encoder == "table"
    transformer = MiniLMEmbedder(model_dir=model_dir, request_encoder="fp32")
    assert np.array_equal(embedder.embed(TOOLS[:2]), transformer.embed(TOOLS[:2]))  # tools
    rows = embedder.embed_spans([request for request, _ in REQUESTS], SPANS)
    assert [len(group) for group in rows] == [1, 1, 1, 3, 1, 1]
    for group in rows:
        np.testing.assert_allclose(np.linalg.norm(group, axis=1), 1.0, atol=1e-5)
    tools = embedder.embed(TOOLS)
    for (_, gold), group in zip(REQUESTS, rows, strict=True):
        assert int(np.argmax(tools @ group[0])) in gold
    # The spans of the two-step request each find their own tool.
    assert int(np.argmax(tools @ rows[3][1])) == 3 and int(np.argmax(tools @ rows[3][2])) == 2


def test_the_table_follows_the_transformer(model_dir):
    table = MiniLMEmbedder(model_dir=model_dir)
    transformer = MiniLMEmbedder(model_dir=model_dir, request_encoder="fp32")
    requests = [request for request, _ in REQUESTS]
    fast = np.stack([group[0] for group in table.embed_spans(requests, [[]] * 6)])
    slow = np.stack([group[0] for group in transformer.embed_spans(requests, [[]] * 6)])
    # Untrained (single-token vectors, idf weights) the mean cosine is ~0.3.
    assert (fast * slow).sum(axis=1).mean() > 0.55


def test_a_missing_or_broken_table_is_refused(model_dir, tmp_path):
    with pytest.raises(EmbeddingError, match="has no request table"):
        MiniLMEmbedder(request_encoder="table")
    assert MiniLMEmbedder().request_encoder == "int8"
    with pytest.raises(EmbeddingError, match="request_encoder must be one of table, int8, "
                                             "fp32, got 'int4'"):
        MiniLMEmbedder(request_encoder="int4")
    broken = tmp_path / "table.npy"
    save_table(np.ones((3, 4), dtype=np.float32), broken)
    with pytest.raises(EmbeddingError, match=r"has shape \(3, 4\), expected \(5, 4\).*tune"):
        TableEncoder(broken, 5, 4, [0])
    broken.write_bytes(b"not a table")
    with pytest.raises(EmbeddingError, match="cannot read the request table"):
        TableEncoder(broken, 3, 4, [0])


def test_saved_tables_keep_directions_and_silence_special_tokens(tmp_path):
    rng = np.random.default_rng(0)
    table = rng.normal(size=(6, 4)).astype(np.float32) * 500
    save_table(table, tmp_path / TABLE_FILE)
    assert not list(tmp_path.glob(".*partial"))
    encoder = TableEncoder(tmp_path / TABLE_FILE, 6, 4, [0, 5])
    rows = encoder.encode(np.array([[1, 2, 0, 5]]), np.ones((1, 4), dtype=np.int64))[0]
    assert rows.dtype == np.float32 and not rows[2:].any()
    cosines = (rows[:2] * table[1:3]).sum(1) / np.linalg.norm(rows[:2], axis=1) / np.linalg.norm(
        table[1:3], axis=1)
    np.testing.assert_allclose(cosines, 1.0, atol=1e-3)


def test_training_input_that_does_not_line_up_is_refused(model_dir):
    teacher = MiniLMEmbedder(model_dir=model_dir, request_encoder="fp32")
    with pytest.raises(EmbeddingError, match="2 tool texts but 1 vectors: need one vector"):
        train_request_table(teacher, TOOLS[:2], np.zeros((1, 384)), ["a"], [[]], [[0]])
    with pytest.raises(EmbeddingError, match="1 requests, 0 span lists and 1 gold lists"):
        train_request_table(teacher, TOOLS[:2], np.zeros((2, 384)), ["a"], [], [[0]])
    with pytest.raises(EmbeddingError, match="the teacher embeds requests with table"):
        train_request_table(MiniLMEmbedder(model_dir=model_dir), TOOLS[:2], np.zeros((2, 384)),
                            ["a"], [[]], [[0]])


def test_examples_outside_the_datasets_catalog_are_refused(model_dir, tmp_path):
    data = tmp_path / "mini"
    data.mkdir()
    (data / "tools.jsonl").write_text(json.dumps({"name": "ping", "description": "Ping"}) + "\n")
    (data / "queries.jsonl").write_text(json.dumps({"id": "1", "query": "ping it",
                                                    "tools": ["ping"]}) + "\n")
    before = (model_dir / TABLE_FILE).read_bytes()
    with pytest.raises(EmbeddingError, match="nothing to train the request table on"):
        train_table([data], [TuningExample("ping it", "not a tool of this catalog")],
                    home=tmp_path / "home", model_dir=model_dir)
    assert (model_dir / TABLE_FILE).read_bytes() == before
