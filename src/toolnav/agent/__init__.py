"""The calling loop (route → render → LLM → validate → execute → feed back) and its traces."""

from toolnav.agent.loop import Agent, AgentOutcome, AgentParams, BlockingAgent
from toolnav.agent.state import PlannedCall, RunState
from toolnav.agent.trace import Tracer

__all__ = ["Agent", "AgentOutcome", "AgentParams", "BlockingAgent", "PlannedCall", "RunState",
           "Tracer"]
