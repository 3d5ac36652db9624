"""Example Python tools: register with `toolnav add examples/python_tools.py`.

Type hints give each tool its schema and the docstring its descriptions.

Example:
    toolnav add examples/python_tools.py && toolnav call add_numbers --args '{"a": 2, "b": 3}'
"""

from __future__ import annotations

import time
from typing import Literal

__all__ = ["add_numbers", "convert_temperature", "divide", "repeat_text", "wait"]


def add_numbers(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first integer.
        b: the second integer.
    """
    return a + b


def divide(numerator: float, denominator: float) -> float:
    """Divide one number by another (fails on division by zero).

    Args:
        numerator: the number to divide.
        denominator: the number to divide by.
    """
    return numerator / denominator


def convert_temperature(value: float, unit: Literal["C", "F"]) -> dict:
    """Convert a temperature between Celsius and Fahrenheit.

    Args:
        value: the temperature to convert.
        unit: the unit of `value`: "C" converts to Fahrenheit, "F" to Celsius.
    """
    if unit == "C":
        return {"value": round(value * 9 / 5 + 32, 2), "unit": "F"}
    return {"value": round((value - 32) * 5 / 9, 2), "unit": "C"}


def repeat_text(text: str, times: int = 2) -> str:
    """Repeat a piece of text.

    Args:
        text: the text to repeat.
        times: how many copies.
    """
    return text * times


def wait(seconds: float) -> str:
    """Sleep for a while, then say so (for timeout demonstrations).

    Args:
        seconds: how long to sleep.
    """
    time.sleep(seconds)
    return f"waited {seconds} s"
