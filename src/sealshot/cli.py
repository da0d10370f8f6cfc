"""The ``sealshot`` command line: a thin layer over the pipeline and each area's commands."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from sealshot.errors import SealshotError


class _SealshotGroup(TyperGroup):
    """The root command group: the one place where a ``SealshotError`` becomes a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SealshotError as error:
            Console(stderr=True).print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    name="sealshot",
    cls=_SealshotGroup,
    help="Keep one sealed best face crop per person seen by a camera, and nothing else.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# Each area registers its own commands; see the ``commands`` module of each sub-package.
from sealshot import commands as _pipeline_commands  # noqa: E402
from sealshot.quality import commands as _quality_commands  # noqa: E402
from sealshot.vault import commands as _vault_commands  # noqa: E402
from sealshot.train import commands as _train_commands  # noqa: E402
from sealshot.evaluate import commands as _evaluate_commands  # noqa: E402
from sealshot.console import commands as _console_commands  # noqa: E402
from sealshot.serve import commands as _serve_commands  # noqa: E402
from sealshot.batch import commands as _batch_commands  # noqa: E402

_AREAS = (_pipeline_commands, _serve_commands, _batch_commands, _quality_commands, _vault_commands, _console_commands, _train_commands, _evaluate_commands)
for _module in _AREAS:
    _module.register(app)


if __name__ == "__main__":
    app()
