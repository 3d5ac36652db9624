"""The scripted OpenAI-compatible server now ships in the library (`toolnav.testing`)."""

from toolnav.testing import FakeLLM, text, tool_call

__all__ = ["FakeLLM", "text", "tool_call"]
