"""Progress bars for long management commands (rich): a bar with the count, the rate and
the time left, drawn on the command's stderr so that stdout stays what scripts read."""

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """`1,234 customers/s`: the task's speed in its own unit (task field `unit`)."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "items")
        if not task.speed:
            return Text(f"- {unit}/s", style="progress.data.speed")
        return Text(f"{task.speed:,.0f} {unit}/s", style="progress.data.speed")


@contextmanager
def progress_bar(stream, *, disable: bool = False) -> Iterator[Progress]:
    """A rich `Progress` writing to `stream` (a command's `self.stderr`): add tasks with
    `add_task(description, total=..., unit="rows")` and `advance` them."""
    out = getattr(stream, "_out", stream)  # Django's OutputWrapper wraps the real file
    console = Console(file=out, stderr=True, highlight=False, soft_wrap=True)
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        disable=disable,
        transient=False,
    )
    with progress:
        yield progress
