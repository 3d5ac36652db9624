import toolnav


def test_public_api_is_curated_and_importable():
    assert toolnav.__all__ == ["Agent", "Catalog", "Router", "Tool", "Toolnav", "ToolnavError"]
    for name in toolnav.__all__:
        assert getattr(toolnav, name).__name__ == name
