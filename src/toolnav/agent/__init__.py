"""The calling loop (route → render → LLM → validate → execute → feed back) and its traces.

`Agent` runs the side-effecting steps, `RunState` holds a run as plain data with its pure
transitions, `Tracer` writes the JSONL trace; durable execution wraps them in `toolnav.tasks`.

Example:
    with Agent.open(".toolnav", base_url="http://127.0.0.1:8000/v1", model="qwen3") as agent:
        print(agent.run("convert 100 F to Celsius").answer)
"""

from toolnav.agent.loop import Agent, AgentOutcome, AgentParams, BlockingAgent
from toolnav.agent.state import PlannedCall, RunState
from toolnav.agent.trace import Tracer

__all__ = ["Agent", "AgentOutcome", "AgentParams", "BlockingAgent", "PlannedCall", "RunState",
           "Tracer"]
