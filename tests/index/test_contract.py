"""Every index backend passes the same contract (congruence with the exact flat index)."""

import numpy as np
import pytest

from tests.conftest import python_output
from toolnav.errors import IndexFormatError, VectorIndexError
from toolnav.index import INDEX_KINDS, FlatIndex, create_index, load_index


def unit_rows(count: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(params=INDEX_KINDS)
def kind(request):
    return request.param


@pytest.fixture
def filled(kind):
    index = create_index(kind, 16)
    index.add(np.arange(100, 400), unit_rows(300))
    return index


def test_search_finds_each_stored_vector_first(filled):
    vectors = unit_rows(300)
    ids, scores = filled.search(vectors[:20], k=3)
    assert ids.shape == scores.shape == (20, 3)
    assert (ids[:, 0] == np.arange(100, 120)).all()
    assert np.allclose(scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all()


def test_single_query_gives_1d_results_matching_flat(filled):
    query = unit_rows(1, seed=5)[0]
    reference = FlatIndex(16)
    reference.add(np.arange(100, 400), unit_rows(300))
    ids, scores = filled.search(query, k=5)
    exact_ids, exact_scores = reference.search(query, k=5)
    assert ids.shape == (5,) and list(ids) == list(exact_ids)
    assert np.allclose(scores, exact_scores, atol=1e-5)


def test_remove_and_add_are_reflected(filled):
    vectors = unit_rows(300)
    filled.remove([100, 101])
    assert len(filled) == 298
    ids, _ = filled.search(vectors[0], k=5)
    assert 100 not in ids
    filled.add(np.array([7]), vectors[:1])
    assert filled.search(vectors[0], k=1)[0][0] == 7


def test_save_load_round_trip(filled, tmp_path):
    filled.save(tmp_path / "idx")
    loaded = load_index(tmp_path / "idx")
    queries = unit_rows(10, seed=9)
    for got, expected in zip(loaded.search(queries, 4), filled.search(queries, 4), strict=True):
        assert np.array_equal(got, expected)
    assert type(loaded) is type(filled)


@pytest.mark.parametrize("vectors, ids, message", [
    (unit_rows(2, dim=8), [1, 2], "dimension 8, the index has 16"),
    (np.full((1, 16), np.nan, dtype=np.float32), [1], "NaN or infinity"),
    (np.full((1, 16), np.inf, dtype=np.float32), [1], "NaN or infinity"),
    (unit_rows(2), [3, 3], "duplicate id 3"),
    (unit_rows(2), [1], "1 ids but 2 vectors"),
    (unit_rows(1), [-1], "non-negative"),
])
def test_bad_additions_are_refused(kind, vectors, ids, message):
    index = create_index(kind, 16)
    with pytest.raises(VectorIndexError, match=message):
        index.add(np.array(ids), vectors)
    assert len(index) == 0


def test_bad_searches_and_removals(filled, kind):
    with pytest.raises(VectorIndexError, match="k=301 exceeds the 300 vectors"):
        filled.search(unit_rows(1)[0], k=301)
    with pytest.raises(VectorIndexError, match=r"shape \(16,\) or \(n, 16\)"):
        filled.search(np.zeros(8, dtype=np.float32), k=1)
    with pytest.raises(VectorIndexError, match="already in the index"):
        filled.add(np.array([100]), unit_rows(1))
    with pytest.raises(VectorIndexError, match="not in the index"):
        filled.remove([5])
    with pytest.raises(VectorIndexError, match="the index is empty"):
        create_index(kind, 16).search(unit_rows(1)[0], k=1)


def test_corrupted_directories_are_refused(filled, tmp_path):
    path = tmp_path / "idx"
    filled.save(path)
    (path / "header.json").write_text("{not json")
    with pytest.raises(IndexFormatError, match="unreadable"):
        load_index(path)
    filled.save(path)
    array_file = sorted(path.glob("*.npy"))[0]
    array_file.write_bytes(array_file.read_bytes()[:40])
    with pytest.raises(IndexFormatError, match=r"missing or corrupted|has shape"):
        load_index(path)
    with pytest.raises(IndexFormatError, match=r"no header\.json"):
        load_index(tmp_path / "nowhere")


def test_factory_passes_nsg_params_and_refuses_them_for_flat():
    from toolnav.config import NSGParams
    from toolnav.errors import ConfigError

    index = create_index("nsg", 16, NSGParams(degree=8, search_pool=20))
    index.add(np.arange(50), unit_rows(50))
    assert index.params.degree == 8
    assert index.search(unit_rows(50)[3], k=1)[0][0] == 3
    with pytest.raises(ConfigError, match="flat index takes no params"):
        create_index("flat", 16, NSGParams())
    with pytest.raises(ConfigError, match="unknown index kind 'hnsw'"):
        create_index("hnsw", 16)
    with pytest.raises(ConfigError, match=r"NSGParams\.build_pool must be at least 1, got 0"):
        NSGParams(build_pool=0)
    with pytest.raises(ConfigError, match=r"NSGParams\.max_candidates must be at least 1, got -5"):
        NSGParams(max_candidates=-5)
    with pytest.raises(ConfigError, match=r"consolidate_at must be in \(0, 1\), got 1.0"):
        NSGParams(consolidate_at=1.0)


def test_tiny_catalogs_work_with_every_kind(kind, tmp_path):
    for count in (1, 2, 10):
        index = create_index(kind, 16)
        index.add(np.arange(count) + 7, unit_rows(count, seed=count))
        index.save(tmp_path / f"{kind}{count}")
        ids, _ = load_index(tmp_path / f"{kind}{count}").search(unit_rows(count, seed=count),
                                                                k=count)
        assert (ids[:, 0] == np.arange(count) + 7).all()


def test_search_restricted_to_allowed_ids_matches_exact_search_over_them(filled):
    vectors = unit_rows(300)
    allowed = np.arange(100, 400, 7)
    reference = FlatIndex(16)
    reference.add(allowed, vectors[allowed - 100])
    queries = unit_rows(6, seed=11)
    ids, scores = filled.search(queries, 5, allowed=allowed)
    exact_ids, exact_scores = reference.search(queries, 5)
    assert (ids == exact_ids).all() and np.allclose(scores, exact_scores, atol=1e-5)
    assert set(filled.search(vectors[1], 3, allowed=np.array([250, 260, 270]))[0]) == {
        250, 260, 270}


def test_restricted_search_refuses_unknown_ids_and_k_beyond_them(filled):
    with pytest.raises(VectorIndexError, match="id 5 is not in the index"):
        filled.search(unit_rows(1)[0], 1, allowed=np.array([5, 100]))
    with pytest.raises(VectorIndexError, match="k=3 exceeds the 2"):
        filled.search(unit_rows(1)[0], 3, allowed=np.array([100, 101]))


def test_vectors_read_back_in_the_asked_order(filled):
    vectors = unit_rows(300)
    assert np.allclose(filled.vectors(np.array([399, 100, 250])), vectors[[299, 0, 150]],
                       atol=1e-6)
    filled.remove([250])
    with pytest.raises(VectorIndexError, match="id 250 is not in the index"):
        filled.vectors(np.array([250]))


def test_ids_lists_the_live_ids(filled):
    assert sorted(filled.ids().tolist()) == list(range(100, 400))
    filled.remove([100, 399])
    assert sorted(filled.ids().tolist()) == list(range(101, 399))


def test_load_exact_reads_the_live_vectors_of_any_kind_for_exact_search(filled, tmp_path):
    from toolnav.index import load_exact

    removed = np.arange(150, 160)  # NSG keeps these as tombstones in its saved arrays
    filled.remove(removed)
    filled.save(tmp_path / "saved")
    exact = load_exact(tmp_path / "saved")
    assert isinstance(exact, FlatIndex)
    live = filled.ids()
    assert np.array_equal(exact.ids(), live) and not np.isin(removed, exact.ids()).any()
    assert np.array_equal(exact.vectors(live), filled.vectors(live))
    queries = unit_rows(8, seed=3)
    reference = FlatIndex(16)
    reference.add(live, filled.vectors(live))
    for got, expected in zip(exact.search(queries, k=5), reference.search(queries, k=5),
                             strict=True):
        assert np.array_equal(got, expected)
    (tmp_path / "saved" / "ids.npy").write_bytes(b"garbage")
    with pytest.raises(IndexFormatError, match=r"ids\.npy is missing or corrupted"):
        load_exact(tmp_path / "saved")


@pytest.mark.timeout(120)
def test_load_exact_of_a_saved_nsg_index_does_not_import_numba(tmp_path):
    import json

    index = create_index("nsg", 16)
    index.add(np.arange(50), unit_rows(50))
    index.save(tmp_path / "saved")
    script = ("import sys; from pathlib import Path; from toolnav.index import load_exact; "
              f"exact = load_exact(Path({str(tmp_path / 'saved')!r})); "
              "print(exact.ids().tolist()); print('numba' in sys.modules)")
    ids, numba_loaded = python_output(script, timeout=100).splitlines()
    assert json.loads(ids) == list(range(50)) and numba_loaded == "False"


@pytest.mark.parametrize("queries", [0, 1, 3, 12])
def test_compiled_inner_products_at_match_numpy(queries):
    from toolnav.index.flat import inner_products_at as by_numpy
    from toolnav.index.nsg import inner_products_at as compiled

    vectors = unit_rows(500, dim=384)
    rows = np.array([499, 0, 7, 7, 250])  # any order, repeats allowed
    asked = unit_rows(max(queries, 1), dim=384, seed=3)[:queries]
    expected = by_numpy(asked, vectors, rows)
    got = compiled(asked.astype(np.float64), vectors, rows)
    assert got.shape == expected.shape == (queries, 5) and got.dtype == np.float32
    assert np.allclose(got, expected, atol=1e-5)
