"""The package's layering, checked on the source with ``ast``: no cycles, no upward imports, no private reach-ins.

Every import counts, including lazy ones inside functions, ``TYPE_CHECKING`` blocks and
``importlib.import_module("sealshot....")`` calls. Each module belongs to one *unit*: its
top-level package (``sealshot.quality.vae`` → ``quality``), except command modules, which
are units of their own in the ``commands`` layer (``sealshot.quality.commands`` → ``quality.commands``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SOURCE = REPO_ROOT / "src"
PACKAGE = "sealshot"

# Bottom → top. A unit may import units of lower layers, and of its own layer only as listed below.
LAYERS: list[set[str]] = [
    {"sealshot", "errors"},
    {"outputs"},  # checks on the files a command will write, made before any work
    {"video"},
    {"detect"},  # including the still-image module, detect.stills
    {"recognize"},
    {"quality"},
    {"track"},
    {"select"},
    {"ledger", "config"},  # the per-track ledger (one record per face); the pipeline's and runner's settings
    {"vault"},
    {"pipeline", "report", "runner"},
    {"serve", "batch"},  # `sealshot serve`: supervised camera processes; `sealshot batch`: archives in chunks, on Ray
    {"train", "evaluate"},
    {"console"},  # the web console over the vault
    {"commands"},  # every command module: */commands.py, sealshot/commands.py, train/heads_commands.py
    {"cli"},
]
COMMAND_MODULES = {"commands", "heads_commands"}

SAME_LAYER_ALLOWED: set[tuple[str, str]] = {
    ("report", "pipeline"),  # the report describes the pipeline's track summaries
    ("runner", "pipeline"),
    ("runner", "report"),
    ("train", "evaluate"),  # the heads train on the benchmark's cached CelebA embeddings
    ("train.commands", "train.heads_commands"),  # `sealshot train head` is registered on the `train` sub-app
}
ONLY_IMPORTS: dict[str, set[str]] = {"vault": {"errors"}}
"""Units held to a stricter rule than their layer: the vault stays usable (and auditable) on its own."""

# Violations in other engineers' areas, fixed on the pipeline/vault branches; (importer unit, imported unit).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name
    names: tuple[str, ...]  # names taken from it (``from x import a, b``); empty for ``import x``
    line: int


def module_name(path: Path, root: Path | None = None) -> str:
    parts = list(path.relative_to(root or SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def unit_of(module: str) -> str:
    parts = module.split(".")
    if parts[0] != PACKAGE:
        raise ValueError(module)
    if len(parts) == 1:
        return PACKAGE
    if parts[-1] in COMMAND_MODULES:
        return ".".join(parts[1:])
    return parts[1]


def layer_of(unit: str) -> int:
    key = "commands" if unit.split(".")[-1] in COMMAND_MODULES else unit
    for index, members in enumerate(LAYERS):
        if key in members:
            return index
    raise AssertionError(f"unit {unit!r} has no layer: add it to LAYERS")


def _is_module(dotted: str) -> bool:
    path = SOURCE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path, module: str) -> list[Import]:
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, (), node.lineno) for alias in node.names if alias.name.split(".")[0] == PACKAGE]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            names = tuple(alias.name for alias in node.names)
            # ``from sealshot.x import y`` where y is a module imports that module.
            submodules = [name for name in names if _is_module(f"{source}.{name}")]
            found += [Import(module, f"{source}.{name}", (), node.lineno) for name in submodules]
            rest = tuple(name for name in names if name not in submodules)
            if rest or not submodules:
                found.append(Import(module, source, rest, node.lineno))
        elif isinstance(node, ast.Call) and _is_import_module_call(node):
            argument = node.args[0] if node.args else None
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value.startswith(PACKAGE + "."):
                found.append(Import(module, argument.value, (), node.lineno))
    return found


def _is_import_module_call(node: ast.Call) -> bool:
    function = node.func
    return (isinstance(function, ast.Attribute) and function.attr == "import_module") or (
        isinstance(function, ast.Name) and function.id == "import_module"
    )


def private_attribute_uses(path: Path, module: str | None) -> list[tuple[str, str, int]]:
    """``(imported module, private name, line)`` for each private name taken from another unit's module:
    ``from sealshot.x import _y`` or ``alias._y`` where ``alias`` is a sealshot module bound by an import."""
    tree = ast.parse(path.read_text(), str(path))
    own = unit_of(module) if module else None
    aliases: dict[str, str] = {}
    uses: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else PACKAGE
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == PACKAGE:
            source = node.module or ""
            for alias in node.names:
                if _is_module(f"{source}.{alias.name}"):
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
                elif _private(alias.name) and unit_of(source) != own:
                    uses.append((source, alias.name, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            target = _dotted(node.value, aliases)
            if target and _is_module(target) and unit_of(target) != own:
                uses.append((target, node.attr, node.lineno))
    return uses


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SOURCE / PACKAGE).rglob("*.py"))}


def unit_edges() -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = {}
    for module, path in all_modules().items():
        for found in imports_of(path, module):
            edge = (unit_of(found.importer), unit_of(found.imported))
            if edge[0] != edge[1]:
                edges.setdefault(edge, []).append(found)
    return edges


def _where(imports: list[Import]) -> str:
    return ", ".join(f"{i.importer}:{i.line} imports {i.imported}" for i in imports[:3])


def layering_violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for (importer, imported), imports in unit_edges().items():
        if importer in ONLY_IMPORTS:
            if imported not in ONLY_IMPORTS[importer]:
                found[(importer, imported)] = f"{importer} may import only {sorted(ONLY_IMPORTS[importer])}: {_where(imports)}"
            continue
        low, high = layer_of(importer), layer_of(imported)
        if high > low:
            found[(importer, imported)] = f"upward import {importer} → {imported}: {_where(imports)}"
        elif high == low and (importer, imported) not in SAME_LAYER_ALLOWED:
            found[(importer, imported)] = f"same-layer import {importer} → {imported} (not listed): {_where(imports)}"
    return found


def unit_cycles() -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for importer, imported in unit_edges():
        graph.setdefault(importer, set()).add(imported)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(unit: str, stack: list[str]) -> None:
        state[unit] = 1
        for following in sorted(graph.get(unit, ())):
            if state.get(following) == 1:
                cycles.append(stack[stack.index(following) :] + [following])
            elif following not in state:
                visit(following, stack + [following])
        state[unit] = 2

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [unit])
    return cycles


def test_every_module_has_a_layer() -> None:
    for module in all_modules():
        layer_of(unit_of(module))


def test_no_import_cycle_between_units() -> None:
    cycles = [c for c in unit_cycles() if not all((a, b) in KNOWN_VIOLATIONS for a, b in zip(c, c[1:]))]
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_imports_go_down_the_layers() -> None:
    violations = {edge: text for edge, text in layering_violations().items() if edge not in KNOWN_VIOLATIONS}
    assert not violations, "\n".join(sorted(violations.values()))


def test_known_violations_are_still_real() -> None:
    # An allow-list entry that no longer matches anything must go, so that it cannot hide a new violation.
    stale = KNOWN_VIOLATIONS - set(layering_violations())
    assert not stale, f"fixed, remove from KNOWN_VIOLATIONS: {sorted(stale)}"


@pytest.mark.parametrize("folder", ["src", "bench"])
def test_no_private_name_is_taken_from_another_package(folder: str) -> None:
    found = []
    for path in sorted((REPO_ROOT / folder).rglob("*.py")):
        module = module_name(path) if folder == "src" else None
        found += [f"{path.relative_to(REPO_ROOT)}:{line} uses {name} of {source}" for source, name, line in private_attribute_uses(path, module)]
    assert not found, "\n".join(found)


def test_the_checker_sees_lazy_type_checking_and_private_imports(tmp_path: Path) -> None:
    package = tmp_path / PACKAGE
    (package / "quality").mkdir(parents=True)
    (package / "detect").mkdir()
    for init in (package / "__init__.py", package / "quality" / "__init__.py", package / "detect" / "__init__.py"):
        init.write_text("")
    (package / "quality" / "base.py").write_text("_SECRET = 1\n")
    probe = package / "detect" / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from sealshot.quality.base import QualityMethod\n"
        "def lazy():\n    from sealshot.quality import base\n    return base._SECRET\n"
        "import importlib\nimportlib.import_module('sealshot.quality.vae')\n"
    )
    module = module_name(probe, tmp_path)
    imported = {i.imported for i in imports_of(probe, module)}
    assert imported == {"sealshot.quality.base", "sealshot.quality.vae"}
    assert layer_of(unit_of("sealshot.quality.base")) > layer_of(unit_of(module))  # an upward import, seen
    assert private_attribute_uses(probe, module) == [("sealshot.quality.base", "_SECRET", 6)]
    assert unit_of("sealshot.train.heads_commands") == "train.heads_commands" and layer_of("train.heads_commands") == layer_of("commands")
