"""The architecture's rules, checked on the source (docs/architecture.md explains them).

- small modules: one job each, about 400 lines at most;
- the engine (``rgpd``) never imports a population's app (``contacts``), and no two modules import each
  other, directly or through others, lazily or not;
- only the dispatch module sends tasks, so the queue rules live in one place;
- no block of six lines or more is written twice.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gdpr_portal", "contacts", "rgpd")
MAX_LINES = 400
DUPLICATE_MIN_LINES = 6


def sources() -> dict[str, Path]:
    """Dotted module name -> file, for the project's packages (migrations aside: they are generated)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules that ``name`` imports anywhere in its body (function-level imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` imports the module; ``from module import name`` the module.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break
    return found


def import_graph() -> dict[str, set[str]]:
    modules = sources()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a set of modules in a cycle.

    A package's ``__init__`` re-exporting its own modules is not a cycle: edges from a package to its
    submodules are left out, since the submodules only ever import each other or other packages.
    """
    edges = {
        name: {target for target in targets if not target.startswith(name + ".")}
        for name, targets in graph.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): count
        for path in sources().values()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_engine_never_imports_a_population_app():
    graph = import_graph()
    offenders = {
        name: sorted(target for target in targets if target.split(".")[0] == "contacts")
        for name, targets in graph.items()
        if name.split(".")[0] == "rgpd"
    }
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def test_there_is_no_import_cycle():
    assert cycles(import_graph()) == []


def test_a_cycle_is_found():
    # The check itself can fail: two modules importing each other through a third are reported.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_only_the_dispatch_module_imports_the_tasks():
    graph = import_graph()
    importers = sorted(
        name
        for name, targets in graph.items()
        if any(target == "rgpd.tasks" or target.startswith("rgpd.tasks.") for target in targets)
        and not name.startswith("rgpd.tasks")
    )
    assert importers == ["rgpd.services.dispatch"]


def code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped text) of the lines that carry code: blanks, comments and imports aside."""
    source = path.read_text()
    imports = {
        number
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for number in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    lines = []
    for number, line in enumerate(source.splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#") or number in imports or text in {")", "]", "}", "),", "],", "},"}:
            continue
        lines.append((number, text))
    return lines


def repeated_blocks(paths: list[Path], size: int, *, root: Path = ROOT) -> list[str]:
    """Each pair of places sharing a window of ``size`` code lines, once per pair of files."""
    seen: dict[tuple[str, ...], tuple[Path, int]] = {}
    repeats: dict[tuple[Path, Path], str] = {}
    for path in paths:
        lines = code_lines(path)
        for start in range(len(lines) - size + 1):
            window = tuple(text for _number, text in lines[start : start + size])
            line = lines[start][0]
            first_path, first_line = seen.setdefault(window, (path, line))
            if (first_path, first_line) != (path, line):
                where = f"{first_path.relative_to(root)}:{first_line} = {path.relative_to(root)}:{line}"
                repeats.setdefault((first_path, path), where)
    return sorted(repeats.values())


def test_no_block_of_six_lines_is_repeated_in_the_engine_or_contacts():
    paths = [path for name, path in sources().items() if name.split(".")[0] in ("rgpd", "contacts")]
    assert repeated_blocks(paths, DUPLICATE_MIN_LINES) == []


def test_a_repeated_block_is_found(tmp_path):
    block = "\n".join(f"value_{n} = compute({n})" for n in range(6))
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text(block + "\n")
    second.write_text("other = 1\n" + block + "\n")
    assert repeated_blocks([first, second], DUPLICATE_MIN_LINES, root=tmp_path) == [
        "first.py:1 = second.py:2"
    ]
