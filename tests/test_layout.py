"""The package layout: imports point one way, no cycles, modules and functions stay readable.

Layers, lowest first. A module may import its own layer and any lower one, never a higher one::

    base       types, errors, vocab, _text, fileio, ui, findings, toml_lines   (plain data, helpers)
    text       read/, chunk, policies, policy_validate, assess/     (text in, plain data out)
    vectors    embed/                                               (vectors and the cache)
    score      scoring/, judge                                      (chunk scores, statuses)
    report     report/                                              (one module per format)
    pipeline   pipeline, gate/, check, config, batch/, calibrate, evaluate*
    interface  cli/, web/, serve*, the package root's lazy re-exports

``ALLOWED`` lists the imports that still run against the direction, each with the reason it is
left. The list only shrinks: an entry that no longer matches an import fails the test too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "align"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("types", "errors", "vocab", "_text", "fileio", "ui", "findings", "toml_lines",
              "__version__")),
    ("text", ("read", "chunk", "policies", "policy_validate", "assess")),
    ("vectors", ("embed",)),
    ("score", ("scoring", "judge")),
    ("report", ("report",)),
    ("pipeline", ("pipeline", "gate", "check", "config", "batch", "calibrate", "evaluate",
                  "evaluate_real")),
    ("interface", ("cli", "web", "serve", "serve_batch", "__main__", "")),
]

# (importer, imported) pairs still against the direction, with why they are left.
ALLOWED: dict[tuple[str, str], str] = {
}

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
# Modules still over MAX_MODULE_LINES, with the reason; the list only shrinks.
LONG_MODULES: dict[str, str] = {
}
# Import cycles still left, each as the sorted pair of modules; the list only shrinks.
CYCLES: dict[tuple[str, str], str] = {
}
# Functions over MAX_FUNCTION_LINES with no "Long:" reason yet; the list only shrinks.
LONG_FUNCTIONS: set[str] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every align module `name` imports, lazy imports inside functions included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from . import x` names a submodule when one exists, else an attribute.
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known else module
                       for a in node.names]
            if module == "align" and all(a.name == "__version__" for a in node.names):
                targets = ["align.__version__"]
        else:
            continue
        for target in targets:
            if target == "align" or target.startswith("align."):
                found.add(target)
    found.discard(name)
    return found


def _layer(module: str) -> int:
    first = module.split(".")[1] if module.count(".") else ""
    for rank, (_, tops) in enumerate(LAYERS):
        if first in tops:
            return rank
    raise AssertionError(f"{module}: no layer in tests/test_layout.py LAYERS; add it")


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_every_module_has_a_layer():
    for name in _modules():
        _layer(name)


def test_imports_point_one_way():
    against: set[tuple[str, str]] = set()
    for importer, targets in _graph().items():
        for target in targets:
            if _layer(target) > _layer(importer):
                against.add((importer, target))
    new = sorted(against - set(ALLOWED))
    assert not new, "imports against the layer direction:\n" + "\n".join(
        f"  {a} -> {b}" for a, b in new)
    stale = sorted(set(ALLOWED) - against)
    assert not stale, "ALLOWED entries that no longer match an import (delete them):\n" + \
        "\n".join(f"  {a} -> {b}" for a, b in stale)


def test_no_import_cycles():
    graph = _graph()
    # A package's __init__ re-exporting its own submodules is not a cycle of jobs.
    edges = {m: {t for t in ts if t in graph and not (m and t.startswith(m + "."))}
             for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    found = {tuple(sorted(set(c))) for c in cycles}
    new = sorted(c for c in found if c not in CYCLES)
    assert not new, "import cycles:\n" + "\n".join("  " + " <-> ".join(c) for c in new)
    stale = sorted(set(CYCLES) - found)
    assert not stale, f"CYCLES entries no longer found (delete them): {stale}"


def test_modules_stay_short():
    long = {name: len(path.read_text(encoding="utf-8").splitlines())
            for name, path in _modules().items()}
    over = {n for n, lines in long.items() if lines > MAX_MODULE_LINES}
    new = sorted(over - set(LONG_MODULES))
    assert not new, "modules over {} lines: {}".format(
        MAX_MODULE_LINES, ", ".join(f"{n} ({long[n]})" for n in new))
    stale = sorted(set(LONG_MODULES) - over)
    assert not stale, f"LONG_MODULES entries now short enough (delete them): {stale}"


def test_long_functions_say_why():
    """A function over MAX_FUNCTION_LINES needs a docstring line starting "Long:" with the reason."""
    offenders = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length <= MAX_FUNCTION_LINES:
                continue
            doc = ast.get_docstring(node) or ""
            if not any(line.strip().startswith("Long:") for line in doc.splitlines()):
                offenders.append(f"{name}.{node.name}")
    new = sorted(set(offenders) - LONG_FUNCTIONS)
    assert not new, "functions over {} lines without a 'Long:' reason:\n  {}".format(
        MAX_FUNCTION_LINES, "\n  ".join(new))
    stale = sorted(LONG_FUNCTIONS - set(offenders))
    assert not stale, f"LONG_FUNCTIONS entries now short or explained (delete them): {stale}"


# The public API a moved module must keep: the package root's names and the types' fields.
PUBLIC_TYPES = {
    "Assessable": ["verdict", "targets", "deadlines", "owners"],
    "Block": ["text", "start", "end", "kind", "level", "page", "line"],
    "Chunk": ["id", "text", "location", "heading_path"],
    "Document": ["path", "text", "blocks", "format", "sha256", "encoding"],
    "Evidence": ["chunk_id", "text", "score", "location", "matched_terms", "raw_score"],
    "Location": ["start", "end", "page", "heading", "line", "paragraph"],
    "ModelInfo": ["name", "version", "kind", "fingerprint", "calibration", "extra"],
    "PolicySet": ["id", "title", "document", "issuer", "number", "date", "tasks", "source",
                  "path", "context_terms"],
    "Report": ["document", "model", "policy_sets", "chunks", "matrix", "align_version",
               "schema"],
    "SetResult": ["id", "title", "tasks"],
    "Task": ["id", "set_id", "title", "description", "official_text", "sub_measures",
             "aliases", "terms", "negative_terms", "threshold", "broad"],
    "TaskResult": ["id", "title", "score", "status", "evidence", "sub_measures", "threshold",
                   "reason", "raw_score", "support", "assessable"],
    "Threshold": ["covered", "partial", "evidence"],
}


def test_public_api_unchanged():
    import dataclasses
    import inspect

    import align
    import align.types

    assert align.__all__ == ["__version__", "score", "load_policies", "read_document",
                             "chunk_document"]
    for name in align.__all__[1:]:
        assert callable(getattr(align, name))
    assert list(inspect.signature(align.score).parameters) == [
        "paths", "policy_files", "set_ids", "model", "cache", "encoding"]
    for name, fields in PUBLIC_TYPES.items():
        cls = getattr(align.types, name)
        assert [f.name for f in dataclasses.fields(cls)] == fields, name
