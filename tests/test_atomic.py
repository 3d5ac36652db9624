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
