"""The modules of `src/` import each other without a cycle, and so do its packages (a
package being a top-level package or module of `trade_analysis`: api, live, db, wire...),
counting every import statement wherever it stands (inside functions and
`if TYPE_CHECKING:` blocks too)."""

from __future__ import annotations

import ast
from pathlib import Path

import trade_analysis

PACKAGE_DIR = Path(trade_analysis.__file__).parent
PACKAGE = "trade_analysis"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}


def imported_names(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Every dotted name an import statement in the tree may load (absolute or relative)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            # `from package import module` loads the module itself.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        targets = imported_names(tree, module, path.name == "__init__.py")
        graph[module] = {name for name in targets if name in modules and name != module}
    return graph


def package_of(module: str) -> str:
    """`trade_analysis.live.hub` -> `live`; a top-level module is its own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which package imports which, an import between two of its own modules left out."""
    graph: dict[str, set[str]] = {}
    for module, targets in modules.items():
        package = package_of(module)
        graph.setdefault(package, set()).update(
            package_of(target) for target in targets if package_of(target) != package
        )
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that returns to its start, or None (depth-first, iterative)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph):
        if state.get(root):
            continue
        path = [root]
        stack = [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif not state.get(following):
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph[following])))
    return None


def test_the_graph_sees_imports_inside_functions_and_relative_ones() -> None:
    source = "import os\ndef f():\n    from trade_analysis.live import hub\n    from . import x\n"
    names = imported_names(ast.parse(source), "trade_analysis.capture.agent", False)
    assert {"os", "trade_analysis.live", "trade_analysis.live.hub", "trade_analysis.capture.x"} <= (
        names
    )


def test_cycle_finder_finds_a_cycle_and_accepts_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_whole_package_is_in_the_graph() -> None:
    graph = import_graph()
    assert "trade_analysis.services" in graph
    assert "trade_analysis.trading.ledger" in graph["trade_analysis.trading.writer"]


def test_no_import_cycle_among_the_modules_of_src() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_package_graph_joins_modules_by_their_package() -> None:
    modules = {
        "trade_analysis.live.hub": {"trade_analysis.live.events", "trade_analysis.wire"},
        "trade_analysis.live.events": {"trade_analysis.wire"},
        "trade_analysis.wire": set(),
        "trade_analysis.api.routes.bots": {"trade_analysis.live.hub"},
    }
    assert package_graph(modules) == {"live": {"wire"}, "wire": set(), "api": {"live"}}
    assert find_cycle(package_graph({**modules, "trade_analysis.wire": {"trade_analysis.api"}}))


def test_no_import_cycle_among_the_packages_of_src() -> None:
    graph = package_graph(import_graph())
    assert {"api", "live", "capture", "db", "trading", "wire"} <= graph.keys()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle between packages: " + " -> ".join(cycle or [])


def test_migrations_import_nothing_of_the_application() -> None:
    """An old revision means what it meant when written: it carries the few table
    definitions and rules it needs rather than importing code that changes later."""
    graph = import_graph()
    migrations = [name for name in graph if ".db.migrations.versions." in name]
    assert migrations
    for name in migrations:
        foreign = {t for t in graph[name] if not t.startswith("trade_analysis.db.types")}
        assert not foreign, f"{name} imports {sorted(foreign)}"
