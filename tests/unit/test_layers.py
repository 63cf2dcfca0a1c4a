"""The house's rule: layers import downward only, and nothing imports in a circle.

    schemas  <  haocha.domain  <  haocha.settings, haocha.adapters, haocha.auth  <  sinks  <  streams  <  apps

Read from the source with `ast` (no module is imported), so the check is the same whatever is installed.
Run alone: `python -m pytest tests/unit/test_layers.py -q`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "haocha", "sinks", "streams", "apps")

# (module prefix, layer); the longest matching prefix decides.
LAYERS = (
    ("schemas", 0),
    ("haocha.domain", 1),
    ("haocha.settings", 2),
    ("haocha.adapters", 2),
    ("haocha.auth", 2),
    ("haocha", 2),
    ("sinks", 3),
    ("streams", 4),
    ("apps", 5),
)

# Layers whose code must do no I/O: nothing of these libraries may be imported there.
PURE = {0: {"aiokafka", "faust", "clickhouse_connect", "chdb", "aiohttp", "httpx", "sqlite3", "socket"},
        1: {"aiokafka", "faust", "clickhouse_connect", "chdb", "aiohttp", "httpx", "sqlite3", "socket"}}


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, layer)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    this = module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this package
                base = this.split(".")[: -node.level] if not path.name == "__init__.py" else this.split(".")[: len(this.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((mod, node.lineno))
            # `from pkg import module` imports pkg.module
            found += [(f"{mod}.{a.name}", node.lineno) for a in node.names]
    return found


def sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "node_modules" not in p.parts)


def upward_imports() -> list[str]:
    problems = []
    for path in sources():
        mine = layer_of(module_name(path))
        for mod, line in imports_of(path):
            theirs = layer_of(mod)
            if theirs is not None and mine is not None and theirs > mine:
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {mod} (layer {theirs} above {mine})")
            top = mod.split(".")[0]
            if top in PURE.get(mine, ()):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {top}: no I/O in layer {mine}")
    return problems


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in sources()}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for m, path in modules.items():
        for mod, _ in imports_of(path):
            if mod in modules and mod != m:
                graph[m].add(mod)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_layers_import_downward_only():
    assert upward_imports() == []


def test_no_import_cycles():
    graph = import_graph()
    # a package's __init__ naming its own modules is not a cycle of logic
    for m in graph:
        graph[m] = {d for d in graph[m] if not (m.startswith(d + ".") and d in graph)}
    assert cycles(graph) == []


@pytest.mark.parametrize("module,layer", [("schemas.review", 0), ("haocha.domain.tickets", 1),
                                          ("haocha.adapters.kafka", 2), ("sinks.clickhouse", 3),
                                          ("streams.app", 4), ("apps.api.app", 5)])
def test_layer_table_knows_the_rooms(module, layer):
    assert layer_of(module) == layer


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule is not vacuous: a domain module importing the worker is reported."""
    bad = ROOT / "haocha" / "domain" / "_layer_probe.py"
    bad.write_text("from streams.app import StreamApp\n", encoding="utf-8")
    try:
        assert any("_layer_probe.py:1 imports streams.app" in p for p in upward_imports())
    finally:
        bad.unlink()


def test_no_sql_outside_sinks():
    """Every ClickHouse statement lives under sinks/."""
    import re

    sql = re.compile(r"\b(SELECT|INSERT INTO|CREATE TABLE|ALTER TABLE|OPTIMIZE TABLE)\b.*\b(FROM|VALUES|ENGINE|\()",
                     re.S)
    offenders = []
    for path in sources():
        if path.parts[len(ROOT.parts)] == "sinks":
            continue
        # SQLite is the local store of an adapter (the gateway's, the terminal client's), not ClickHouse.
        if any(mod == "sqlite3" for mod, _ in imports_of(path)):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and sql.search(node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_every_kafka_client_is_built_by_the_factory():
    """aiokafka clients are constructed in haocha/adapters/kafka.py only (Faust builds its own)."""
    offenders = []
    for path in sources():
        if module_name(path) == "haocha.adapters.kafka":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name in {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert offenders == []
