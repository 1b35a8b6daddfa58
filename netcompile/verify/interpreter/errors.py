"""The one error of the interpreter: a construct it does not know, or one nft itself would refuse."""

from __future__ import annotations

__all__ = ["InterpreterError"]


class InterpreterError(Exception):
    """The text uses a construct the interpreter does not know, or nft itself would refuse it.

    `line` counts from 1 (0 when the problem is not tied to a line); `text` is that line of the input.
    """

    def __init__(self, message: str, line: int = 0, text: str = "") -> None:
        self.message = message
        self.line = line
        self.text = text.strip()
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}" + (f": {self.text}" if self.text else ""))
