"""The CLI's single error boundary: typed errors become a message and their exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from voxguard.errors import VoxGuardError

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except VoxGuardError as exc:
            err_console.print(f"[bold red]error[/] ({exc.code}): {exc.message}", highlight=False)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper
