"""The calling loop (route → render → LLM → validate → execute → feed back) and its traces."""

from toolnav.agent.loop import Agent, AgentOutcome, AgentParams, Tracer

__all__ = ["Agent", "AgentOutcome", "AgentParams", "Tracer"]
