import pytest

from toolnav._atomic import replaced_directory


def test_a_failed_writer_leaves_the_old_directory_and_no_debris(tmp_path):
    target = tmp_path / "model"
    with replaced_directory(target) as staging:
        (staging / "weights").write_text("v1")
    with pytest.raises(RuntimeError), replaced_directory(target) as staging:
        (staging / "weights").write_text("half")
        raise RuntimeError("killed mid-write")
    assert (target / "weights").read_text() == "v1"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    with replaced_directory(target) as staging:
        (staging / "weights").write_text("v2")
    assert (target / "weights").read_text() == "v2"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_staging_left_by_a_killed_writer_is_removed_but_a_live_writers_is_not(tmp_path):
    import os
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    left = tmp_path / f".index.{dead}.abc123"
    left.mkdir()
    (left / "vectors.npy").write_bytes(b"x" * 1000)
    live = tmp_path / f".index.{os.getpid()}.def456"   # another writer in this very process
    live.mkdir()
    with replaced_directory(tmp_path / "index") as staging:
        (staging / "header.json").write_text("{}")
    assert not left.exists() and live.exists()
    assert (tmp_path / "index" / "header.json").is_file()


def test_replaced_file_swaps_in_whole_or_not_at_all(tmp_path):
    from toolnav._atomic import replaced_file

    target = tmp_path / "manifest.json"
    with replaced_file(target) as staging:
        staging.write_text('{"v": 1}')
    with pytest.raises(RuntimeError), replaced_file(target) as staging:
        staging.write_text('{"v": 2, "half')
        raise RuntimeError("killed mid-write")
    assert target.read_text() == '{"v": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
