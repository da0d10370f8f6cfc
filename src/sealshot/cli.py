"""The ``sealshot`` command line: a thin layer over the pipeline and each area's commands."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="sealshot",
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

for _module in (_pipeline_commands, _quality_commands, _vault_commands, _train_commands, _evaluate_commands):
    _module.register(app)


if __name__ == "__main__":
    app()
