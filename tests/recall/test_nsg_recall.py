"""NSG against exact search on clustered data (the shape tool embeddings have)."""

import numpy as np
import pytest

from toolnav.config import NSGParams
from toolnav.errors import VectorIndexError
from toolnav.index import FlatIndex
from toolnav.index.nsg import NSGIndex


def clustered(count: int, dim: int = 32, clusters: int = 20, seed: int = 0) -> np.ndarray:
    """Unit points around 20 fixed centres; *seed* varies the points, not the centres."""
    centres = np.random.default_rng(0).normal(size=(clusters, dim))
    rng = np.random.default_rng(seed + 1)
    points = centres[rng.integers(clusters, size=count)] + 0.35 * rng.normal(size=(count, dim))
    points = points.astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def recall(index, exact, queries, k=10, pool=None):
    got, _ = index.search(queries, k, pool=pool)
    truth, _ = exact.search(queries, k)
    return np.mean([len(set(g) & set(t)) / k for g, t in zip(got, truth, strict=True)])


@pytest.fixture(scope="module")
def data():
    vectors = clustered(4000)
    queries = clustered(200, seed=1)
    exact = FlatIndex(32)
    exact.add(np.arange(4000), vectors)
    nsg = NSGIndex(32, NSGParams(degree=24, knn=32, build_pool=64))
    nsg.add(np.arange(4000), vectors)
    return vectors, queries, exact, nsg


def test_recall_against_exact_search(data):
    _, queries, exact, nsg = data
    assert recall(nsg, exact, queries, pool=64) >= 0.95


def test_every_node_is_reachable_and_degree_is_bounded(data):
    nsg = data[3]
    assert nsg.reachable_from_entry()
    assert nsg._degrees.max() <= nsg.params.degree and nsg._degrees.min() >= 1


def test_inserts_and_deletes_keep_recall_and_reachability():
    vectors = clustered(3300, seed=3)
    params = NSGParams(degree=24, knn=32, build_pool=64)
    nsg = NSGIndex(32, params)
    nsg.add(np.arange(3000), vectors[:3000])
    nsg.add(np.arange(3000, 3300), vectors[3000:])          # +10%
    nsg.remove(np.arange(0, 3000, 10))                       # -10%: tombstones
    nsg.remove(np.arange(1, 3000, 5))                        # past 20%: consolidation
    assert len(nsg) == 3300 - 300 - 600
    assert len(nsg._ids) == len(nsg)                         # compacted
    assert nsg.reachable_from_entry()
    live = np.setdiff1d(np.arange(3300), np.r_[np.arange(0, 3000, 10), np.arange(1, 3000, 5)])
    exact = FlatIndex(32)
    exact.add(live, vectors[live])
    queries = clustered(200, seed=4)
    assert recall(nsg, exact, queries, pool=64) >= 0.95
    got, _ = nsg.search(vectors[0], k=5)
    assert 0 not in got


def test_the_int8_walk_returns_exact_scores_in_order_and_codes_follow_updates(data, tmp_path):
    vectors, queries, _, nsg = data
    ids, scores = nsg.search(queries, k=10, pool=64)
    assert np.allclose(scores, np.einsum("qd,qkd->qk", queries, vectors[ids]), atol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()
    grown = NSGIndex(32, NSGParams(degree=24, knn=32, build_pool=64))
    grown.add(np.arange(2000), vectors[:2000])
    outlier = np.zeros((1, 32), dtype=np.float32)
    outlier[0, 0] = 1.0                                       # beyond the fitted code range
    grown.add(np.array([9999]), outlier)
    grown.remove(np.arange(0, 2000, 3))                       # consolidates
    assert grown._codes.shape == grown._vectors.shape and grown._codes.dtype == np.int8
    found, score = grown.search(outlier[0], k=1)
    assert found[0] == 9999 and score[0] == pytest.approx(1.0, abs=1e-5)
    grown.save(tmp_path / "grown")
    loaded = NSGIndex.load(tmp_path / "grown")
    assert np.array_equal(loaded._scale, grown._scale)       # codes rebuilt with the saved scale
    before, after = grown.search(queries, k=10), loaded.search(queries, k=10)
    assert np.array_equal(before[0], after[0]) and np.array_equal(before[1], after[1])


def test_small_inserts_keep_the_entry_pivots_and_growth_refreshes_them():
    vectors = clustered(3600, seed=5)
    nsg = NSGIndex(32, NSGParams(degree=24, knn=32, build_pool=64))
    nsg.add(np.arange(3000), vectors[:3000])
    chosen = nsg._pivots.copy()
    nsg.add(np.arange(3000, 3200), vectors[3000:3200])     # +6.7%: pivots kept (no k-means)
    assert np.array_equal(nsg._pivots, chosen)
    got, _ = nsg.search(vectors[3100], k=1)
    assert got[0] == 3100                                    # new nodes are found meanwhile
    nsg.add(np.arange(3200, 3600), vectors[3200:])          # +20% since chosen: refreshed
    assert not np.array_equal(nsg._pivots, chosen)
    assert nsg._pivots.max() < 3600


def test_non_unit_vectors_are_refused():
    with pytest.raises(VectorIndexError, match=r"norm 2\.0000; NSG needs unit vectors"):
        NSGIndex(4).add(np.array([1]), np.array([[2.0, 0, 0, 0]], dtype=np.float32))


def test_cell_knn_graph_beyond_the_exact_limit_keeps_recall(data):
    vectors, queries, exact, _ = data
    nsg = NSGIndex(32, NSGParams(degree=24, knn=32, build_pool=64, exact_knn_limit=1000))
    nsg.add(np.arange(4000), vectors)
    assert nsg.reachable_from_entry()
    assert recall(nsg, exact, queries, pool=64) >= 0.95


def test_every_dense_region_gets_an_entry_pivot_and_pivots_survive_save(tmp_path):
    """120 tight clusters, more than a random sample of 256 nodes would cover (~14 missed)."""
    vectors = clustered(6000, clusters=120, seed=3)
    centres = np.random.default_rng(0).normal(size=(120, 32))
    labels = np.argmax(vectors @ centres.T, axis=1)
    index = NSGIndex(32, NSGParams(degree=16, knn=24, build_pool=48))
    index.add(np.arange(6000), vectors)
    assert len(np.unique(labels[index._pivots])) == 120
    index.save(tmp_path / "nsg")
    loaded = NSGIndex.load(tmp_path / "nsg")
    assert np.array_equal(loaded._pivots, index._pivots)


def test_a_saved_index_with_pivots_out_of_range_is_refused(tmp_path, data):
    from toolnav.errors import IndexFormatError

    *_, nsg = data
    nsg.save(tmp_path / "nsg")
    np.save(tmp_path / "nsg" / "pivots.npy", np.full(len(nsg._pivots), 10**6, dtype=np.int32))
    with pytest.raises(IndexFormatError, match="disagree"):
        NSGIndex.load(tmp_path / "nsg")


def test_a_saved_index_whose_code_scale_has_the_wrong_length_is_refused(tmp_path, data):
    import json

    from toolnav.errors import IndexFormatError

    *_, nsg = data
    nsg.save(tmp_path / "nsg")
    np.save(tmp_path / "nsg" / "scale.npy", np.ones(nsg.dim + 1, dtype=np.float32))
    header = json.loads((tmp_path / "nsg" / "header.json").read_text())
    header["arrays"]["scale"] = [nsg.dim + 1]                # consistent header, wrong length
    (tmp_path / "nsg" / "header.json").write_text(json.dumps(header))
    with pytest.raises(IndexFormatError, match="disagree"):
        NSGIndex.load(tmp_path / "nsg")
