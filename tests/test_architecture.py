"""The layout docs/ARCHITECTURE.md draws is the layout on disk, and its rules hold in the code."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dubkit", "model", "eval", "langs")
MAX_FUNCTION_LINES = 60
MAX_TOP_LEVEL_ENTRIES = 11


def _modules() -> dict[str, Path]:
    """Every project module by dotted name (a package by its name, from its __init__.py)."""
    found = {"cli": REPO / "cli.py"}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file (top level or inside functions)."""
    tree = ast.parse(path.read_text("utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:  # `from dubkit.adapters import ffmpeg` imports the module dubkit.adapters.ffmpeg
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {t for t in targets if t in known}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) - {name} for name, path in modules.items()}


def _documented_tree() -> set[str]:
    text = (REPO / "docs" / "ARCHITECTURE.md").read_text("utf-8")
    block = re.search(r"<!-- tree -->\s*```\n(.*?)```", text, re.S)
    assert block, "docs/ARCHITECTURE.md has no <!-- tree --> block"
    return {m.group(1).rstrip("/") for m in re.finditer(r"^\s+(\S+/)\s", block.group(1), re.M)}


def test_every_folder_the_architecture_names_exists_and_every_folder_is_named():
    on_disk = {
        str(p.relative_to(REPO / "dubkit")) for p in (REPO / "dubkit").rglob("*")
        if p.is_dir() and p.name != "__pycache__"
    }
    assert _documented_tree() == on_disk


def test_dubkit_top_level_stays_small():
    entries = [p for p in (REPO / "dubkit").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= MAX_TOP_LEVEL_ENTRIES, sorted(p.name for p in entries)


def test_there_is_no_import_circle(graph):
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def _campaign(name: str) -> bool:
    """dubkit/campaign/ sits above the recipe: it runs pipeline.py per spot; only the CLI imports it."""
    return name == "dubkit.campaign" or name.startswith("dubkit.campaign.")


def test_dependencies_point_one_way(graph):
    def project(targets):
        return {t.split(".")[0] for t in targets} - {"cli"}

    for name, targets in graph.items():
        top = name.split(".")[0]
        allowed = {"langs": {"langs"}, "model": {"model"}, "eval": {"eval", "langs"}}.get(top)
        if allowed is not None:
            assert project(targets) <= allowed, (name, targets)
        if name.startswith("dubkit."):
            assert "cli" not in targets, name
            if name not in ("dubkit.pipeline",) and not _campaign(name):
                assert "dubkit.options" not in targets or name == "dubkit", name
            if not name.startswith("dubkit.jobs"):
                assert not any(t.startswith("dubkit.jobs") for t in targets), name
            if name != "dubkit":
                assert "dubkit.pipeline" not in targets or name.startswith("dubkit.jobs") or _campaign(name), name
            if not _campaign(name) and name != "dubkit":
                assert not any(_campaign(t) for t in targets), name


def test_no_module_imports_from_a_folder_above_its_own(graph):
    """A module in a dubkit/ room imports rooms beside or below it, never a module that sits in dubkit/
    itself (pipeline, options) or the CLI; only those and the package's lazy API may reach down."""
    above = {"cli", "dubkit", "dubkit.pipeline", "dubkit.options"}
    for name, targets in graph.items():
        if name.startswith("dubkit.") and name not in above and not _campaign(name):
            assert not targets & above, (name, sorted(targets & above))


def test_lower_layers_do_not_import_higher_ones(graph):
    order = ["dubkit.errors", "dubkit.store.files", "dubkit.adapters", "dubkit.store", "dubkit.translate",
             "dubkit.engines", "dubkit.stages", "dubkit.jobs"]

    def layer(module: str) -> int | None:
        best = None
        for i, prefix in enumerate(order):
            if module == prefix or module.startswith(prefix + "."):
                best = i if best is None or len(prefix) > len(order[best]) else best
        return best

    for name, targets in graph.items():
        mine = layer(name)
        if mine is None:
            continue
        for target in targets:
            theirs = layer(target)
            if theirs is not None and name != "dubkit.store.cache":  # the cache stores clips via adapters
                assert theirs <= mine, f"{name} imports {target}, a higher layer"


def test_no_function_is_longer_than_sixty_lines():
    too_long = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({length} lines)")
    assert too_long == []


def test_project_sources_cite_only_the_projects_own_docs():
    """Code, tests, benchmarks and docs cite the project's own docs/, never notes or paths outside it."""
    pattern = re.compile("|".join([r"MAGIHUMAN\.md", r"OFFLINE\.md", r"USERS\.md", r"PRODUCT\.md", r"COST\.md",
                                   r"shared/design", r"\.\./shared", "/" + "work/"]))
    files = [REPO / "README.md", REPO / "cli.py"] + [
        p for folder in (*PACKAGES, "tests", "bench", "docs", "examples")
        for p in (REPO / folder).rglob("*") if p.suffix in (".py", ".md") and p != Path(__file__)
    ]
    offenders = [f"{path.relative_to(REPO)}:{i}" for path in files
                 for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []


# Rule 3: the third-party tool -> the one module that imports it (docs/ARCHITECTURE.md).
ADAPTERS = {"av": "dubkit/adapters/av.py", "pysubs2": "dubkit/adapters/subtitles.py",
            "cv2": "dubkit/adapters/faces.py", "soundfile": "dubkit/adapters/audio.py",
            "pyloudnorm": "dubkit/adapters/loudness.py", "faster_whisper": "eval/asr.py",
            "sklearn": "dubkit/stages/diarize.py", "jinja2": "eval/report_page.py"}


def test_each_third_party_tool_is_imported_by_its_one_adapter():
    owners: dict[str, set[str]] = {tool: set() for tool in ADAPTERS}
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                if name.split(".")[0] in owners:
                    owners[name.split(".")[0]].add(str(path.relative_to(REPO)))
    assert owners == {tool: {owner} for tool, owner in ADAPTERS.items()}
