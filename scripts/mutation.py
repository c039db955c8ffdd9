"""Mutation testing for the rule modules: do the fast tests notice when a rule changes?

Not part of the test command (`bash scripts/dev.sh test`): it runs the mapped tests once per
mutant, which takes minutes. Dependency-free (stdlib `ast` + subprocess):

    .venv/bin/python scripts/mutation.py                  # every module in MODULES
    .venv/bin/python scripts/mutation.py --module inputs  # one module (repeatable)
    .venv/bin/python scripts/mutation.py --list           # only list the mutants

One mutant at a time: the mutated source (via `ast.unparse`, so comments are dropped) is
written over the module file, the module's tests run in a subprocess (`pytest -x`), and the
original bytes are written back in a `finally` (also on Ctrl-C and SIGTERM). A mutant is
killed when the tests fail, survives when they pass, and times out when the run exceeds the
per-mutant wall-clock limit (its process group is killed; counted as killed in the score).
Survivors judged equivalent go in scripts/mutation_equivalent.txt with a reason.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = ROOT / "scripts" / "mutation_equivalent.txt"
PACKAGE = "airflow_provider_offers"

# Module name -> (source file, the fast tests that cover it: no dag.test(); the emulator over
# loopback at most). Fastest first: pytest -x stops at the first failure, so a mutant caught
# early costs the least. A path that no longer exists is skipped with a warning.
MODULES: dict[str, tuple[str, list[str]]] = {
    "inputs": (f"{PACKAGE}/api/inputs.py", ["tests/unit"]),
    "diff": (f"{PACKAGE}/api/diff.py", ["tests/unit"]),
    "change": (f"{PACKAGE}/api/change.py", ["tests/unit"]),
    "paging": (
        f"{PACKAGE}/api/paging.py",
        ["tests/unit/api/test_paging.py"],
    ),
    "reconcile": (
        f"{PACKAGE}/api/reconcile/rules.py",
        ["tests/unit", "tests/operators/test_reconcile.py"],
    ),
    "retry": (
        f"{PACKAGE}/api/retry.py",
        ["tests/unit/api/test_retry.py", "tests/api/test_client.py"],
    ),
    "auth": (
        f"{PACKAGE}/api/auth.py",
        ["tests/unit/api/test_auth.py", "tests/api/test_auth.py"],
    ),
    "token_source": (
        f"{PACKAGE}/api/token_source.py",
        ["tests/unit/api/test_auth.py", "tests/api/test_auth.py"],
    ),
    "content": (f"{PACKAGE}/api/content.py", ["tests/unit/api/test_content.py"]),
    "catalog.source": (f"{PACKAGE}/api/catalog/source.py", ["tests/unit/api/catalog"]),
    "catalog.yaml_data": (f"{PACKAGE}/api/catalog/yaml_data.py", ["tests/unit/api/catalog"]),
    "catalog.plan": (f"{PACKAGE}/api/catalog/plan.py", ["tests/unit/api/catalog"]),
    "catalog.render": (f"{PACKAGE}/api/catalog/render.py", ["tests/unit/api/catalog"]),
    "catalog.apply": (f"{PACKAGE}/api/catalog/apply.py", ["tests/unit/api/catalog"]),
    "token_cache": (
        f"{PACKAGE}/api/token_cache.py",
        [
            "tests/unit/api/test_token_cache.py",
            "tests/unit/api/test_token_cache_local_users.py",
            "tests/api/test_token_cache_event_loop.py",
        ],
    ),
    "private_dir": (
        f"{PACKAGE}/api/private_dir.py",
        ["tests/unit/api/test_token_cache_local_users.py", "tests/unit/api/test_token_cache.py"],
    ),
    "store": (f"{PACKAGE}/operators/_store.py", ["tests/unit/operators/test_offers.py"]),
    "compat": (
        f"{PACKAGE}/_compat.py",
        ["tests/sensors/test_offer_change_event_trigger.py", "-kstored_cursor and strict"],
    ),
    "triggers.offers": (
        f"{PACKAGE}/triggers/offers.py",
        # One answer style of the two: each test runs under both, and either catches a rule.
        [
            "tests/sensors/test_offer_change_event_trigger.py",
            "tests/sensors/test_offer_change_trigger.py",
            "-kstrict",
        ],
    ),
    "sensors.offers": (
        f"{PACKAGE}/sensors/offers.py",
        # Not tests/sensors/test_offer_change_sensor.py: dag.test(), two minutes a run.
        ["tests/unit/sensors/test_offers.py"],
    ),
    "emulator.listing": (
        f"{PACKAGE}/emulator/models/listing.py",
        ["tests/emulator/test_listing.py"],
    ),
}

FLIPS: dict[type, type] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.And: ast.Or, ast.Or: ast.And,
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
}  # fmt: skip
LOGGERS = {"log", "logger", "logging", "_log", "_logger"}
ANNOTATION_FIELDS = {"annotation", "returns", "type_comment"}


@dataclass
class Mutant:
    module: str
    path: str
    line: int
    original: str
    mutated: str
    source: str = ""

    @property
    def key(self) -> str:
        return f"{self.path}:{self.line}: {self.original} -> {self.mutated}"


def _is_logging_call(node: ast.AST) -> bool:
    """`log.x(...)`, `logger.x(...)`, `self.log.x(...)`, `logging.x(...)`."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return False
    owner = node.func.value
    if isinstance(owner, ast.Attribute):  # self.log.info
        return owner.attr in LOGGERS
    return isinstance(owner, ast.Name) and owner.id in LOGGERS


def _is_sequence(node: ast.AST) -> bool:
    """A literal string or list: `+` there concatenates, and `-` would only raise TypeError."""
    return _is_str(node) or isinstance(node, (ast.List, ast.ListComp, ast.Tuple))


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    )


class Mutator:
    """Walks a module; each mutation site gets a number. With `target`, changes only that site.

    Sites are visited in a fixed order, so numbering a tree and its deep copy agree.
    """

    def __init__(self, target: int = -1) -> None:
        self.target = target
        self.count = 0
        self.sites: list[tuple[int, str, str]] = []  # (line, original, mutated) per site
        self.stack: list[ast.AST] = []

    def _site(self, node: ast.AST, shown: ast.AST, apply) -> None:
        """Record a site; `apply()` mutates the tree in place and returns an undo function.

        While listing, the site is applied and undone to print `shown` before and after.
        """
        number, self.count = self.count, self.count + 1
        if self.target == -1:
            before = _text(shown)
            undo = apply()
            after = _text(shown)
            undo()
            self.sites.append((node.lineno, before, after))
        elif number == self.target:
            apply()

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "__repr__":
            return
        if _is_logging_call(node) or (isinstance(node, ast.AnnAssign) and node.value is None):
            return
        self.stack.append(node)
        self._mutate(node)
        for field, value in ast.iter_fields(node):
            if field in ANNOTATION_FIELDS:
                continue
            if field == "body" and isinstance(value, list):
                value = _without_docstring(node, value)
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    self.visit(child)
        self.stack.pop()

    def _shown(self) -> ast.AST:
        """The node to print for a constant: its enclosing expression or statement."""
        for parent in reversed(self.stack[:-1]):
            if isinstance(parent, (ast.expr, ast.stmt)) and not isinstance(
                parent, (ast.UnaryOp, ast.Slice)
            ):
                return parent
        return self.stack[-1]

    def _swap(self, holder: ast.AST, field: str, new):
        old = getattr(holder, field)
        setattr(holder, field, new)
        return lambda: setattr(holder, field, old)

    def _mutate(self, node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in FLIPS:
                    ops = list(node.ops)
                    ops[i] = FLIPS[type(op)]()
                    self._site(node, node, lambda ops=ops: self._swap(node, "ops", ops))
        elif isinstance(node, ast.BoolOp):
            self._site(node, node, lambda: self._swap(node, "op", FLIPS[type(node.op)]()))
        elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in FLIPS:
            operands = [node.left, node.right] if isinstance(node, ast.BinOp) else [node.value]
            if not any(_is_sequence(o) for o in operands):  # "a" - "b": only a TypeError
                self._site(node, node, lambda: self._swap(node, "op", FLIPS[type(node.op)]()))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._replace(node, node.operand)
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            self._site(node, self._shown(), lambda: self._swap(node, "value", not node.value))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            self._site(node, self._shown(), lambda: self._swap(node, "value", node.value + 1))
        elif isinstance(node, (ast.Raise, ast.Return, ast.Continue, ast.Break)):
            self._statement(node)

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Raise):
            new: ast.stmt = ast.Pass()
        elif isinstance(node, ast.Continue):
            new = ast.Break()
        elif isinstance(node, ast.Break):
            new = ast.Continue()
        elif node.value is None or (
            isinstance(node.value, ast.Constant) and node.value.value is None
        ):
            return  # already returns None
        else:
            new = ast.Return(value=ast.Constant(value=None))
        self._replace(node, ast.copy_location(new, node))

    def _replace(self, node: ast.AST, new: ast.AST) -> None:
        """A site replacing `node` by `new` where its parent holds it (a field or a list)."""
        parent = self.stack[-2]
        for field, value in ast.iter_fields(parent):
            if value is node:
                slot = _Slot(parent, field)
            elif isinstance(value, list) and any(v is node for v in value):
                slot = _Slot(value, next(i for i, v in enumerate(value) if v is node))
            else:
                continue
            self._site(node, slot, lambda slot=slot: slot.put(new))
            return


class _Slot(ast.AST):
    """A place holding a node (`owner.field` or `owner[index]`); prints as what is there now."""

    def __init__(self, owner, key) -> None:
        super().__init__()
        self.owner, self.key = owner, key

    def get(self) -> ast.AST:
        if isinstance(self.owner, list):
            return self.owner[self.key]
        return getattr(self.owner, self.key)

    def put(self, new: ast.AST):
        """Put `new` there; returns the undo function."""
        old = self.get()
        if isinstance(self.owner, list):
            self.owner[self.key] = new
            return lambda: self.owner.__setitem__(self.key, old)
        setattr(self.owner, self.key, new)
        return lambda: setattr(self.owner, self.key, old)


def _text(node: ast.AST, limit: int = 100) -> str:
    if isinstance(node, _Slot):
        node = node.get()
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _without_docstring(node: ast.AST, body: list) -> list:
    if (
        isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and body
        and isinstance(body[0], ast.Expr)
        and _is_str(body[0].value)
    ):
        return body[1:]
    return body


def mutants_of(name: str, path: str) -> list[Mutant]:
    source = (ROOT / path).read_text()
    tree = ast.parse(source)
    if ast.unparse(ast.parse(ast.unparse(tree))) != ast.unparse(tree):
        raise SystemExit(f"{path}: ast.unparse does not round-trip")
    finder = Mutator()
    finder.visit(tree)
    mutants, seen = [], {}
    for number, (line, before, after) in enumerate(finder.sites):
        mutant = Mutant(name, path, line, before, after)
        repeat = seen[mutant.key] = seen.get(mutant.key, 0) + 1
        if repeat > 1:
            mutant.mutated += f" (#{repeat})"
        changed = copy.deepcopy(tree)
        Mutator(target=number).visit(changed)
        mutant.source = ast.unparse(changed) + "\n"
        mutants.append(mutant)
    return mutants


def load_equivalents() -> dict[str, str]:
    """`path:line: original -> mutated  # reason` lines; blank lines and `#` lines ignored."""
    equivalents: dict[str, str] = {}
    if not EQUIVALENTS.exists():
        return equivalents
    for number, line in enumerate(EQUIVALENTS.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, reason = line.partition("  # ")
        if not sep or not reason.strip():
            raise SystemExit(f"{EQUIVALENTS.name}:{number}: no '  # reason' after the mutant")
        equivalents[key.strip()] = reason.strip()
    return equivalents


def _drop_bytecode(path: Path) -> None:
    """Remove cached bytecode of `path`, so no run imports a stale (mutated or original) one."""
    for pyc in path.parent.glob(f"__pycache__/{path.stem}.*.pyc"):
        pyc.unlink(missing_ok=True)


def run_tests(tests: list[str], limit: float) -> str:
    """'killed', 'survived' or 'timeout' for the source currently on disk."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    command += ["--timeout=60", "-o", "addopts=", *tests]
    # Its own TMPDIR, removed afterwards: a killed run leaves no Airflow home behind.
    scratch = tempfile.mkdtemp(prefix="mutation-")
    # Enterable by other local users, as /tmp is: the token cache's tests act as a second user
    # in directories under it (tests/unit/api/test_token_cache_local_users.py).
    os.chmod(scratch, 0o755)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", TMPDIR=scratch)
    try:
        return _outcome(command, env, limit)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _outcome(command: list[str], env: dict[str, str], limit: float) -> str:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: a timeout kills emulators too
    )
    try:
        code = process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return "timeout"
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise
    if code == 0:
        return "survived"
    if code in (1, 2, 3):  # tests failed / collection failed (an import broke) / internal error
        return "killed"
    raise RuntimeError(f"pytest exited with {code} (usage error or no tests?): {command}")


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES), metavar="NAME")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--jobs", type=int, default=1, help="only 1 (sequential) is supported")
    parser.add_argument("--max", type=int, default=0, help="at most N mutants per module")
    parser.add_argument(
        "--limit", type=float, default=0, help="per-mutant seconds (default: 3x baseline + 30)"
    )
    args = parser.parse_args(argv)
    if args.jobs != 1:
        parser.error("--jobs: only 1 is supported (mutants share the source tree)")
    signal.signal(signal.SIGTERM, _on_sigterm)
    equivalents = load_equivalents()
    matched: set[str] = set()
    totals = dict.fromkeys(("mutants", "killed", "survived", "timeout", "equivalent"), 0)
    survivors: list[Mutant] = []
    equivalent: list[tuple[Mutant, str]] = []
    started = time.monotonic()

    for name in args.module or list(MODULES):
        path, all_tests = MODULES[name]
        if not (ROOT / path).exists():
            print(f"warning: {name}: {path} does not exist, skipped", file=sys.stderr)
            continue
        # An entry starting with "-" is a pytest option (e.g. `-k`, to narrow a slow selection).
        tests = [t for t in all_tests if t.startswith("-") or (ROOT / t.split("::")[0]).exists()]
        for missing in sorted(set(all_tests) - set(tests)):
            print(f"warning: {name}: test path {missing} does not exist, skipped", file=sys.stderr)
        mutants = mutants_of(name, path)
        if args.max:
            mutants = mutants[: args.max]
        if args.list:
            for mutant in mutants:
                mark = "  [equivalent]" if mutant.key in equivalents else ""
                print(f"{mutant.key}{mark}")
            continue
        if not tests:
            print(f"warning: {name}: no test path exists, skipped", file=sys.stderr)
            continue
        counts = dict.fromkeys(totals, 0)
        counts["mutants"] = len(mutants)
        target = ROOT / path
        original = target.read_bytes()
        try:  # The baseline: the unmutated module as ast.unparse writes it must pass.
            target.write_text(ast.unparse(ast.parse(original)) + "\n")
            _drop_bytecode(target)
            began = time.monotonic()
            outcome = run_tests(tests, 600)
            baseline = time.monotonic() - began
        finally:
            target.write_bytes(original)
            _drop_bytecode(target)
        if outcome != "survived":
            print(f"error: {name}: the tests fail or hang on the unmutated code", file=sys.stderr)
            return 2
        limit = args.limit or 3 * baseline + 30
        print(f"{name}: {len(mutants)} mutants, baseline {baseline:.1f}s, limit {limit:.0f}s")
        try:
            for number, mutant in enumerate(mutants, 1):
                target.write_text(mutant.source)
                _drop_bytecode(target)
                try:
                    outcome = run_tests(tests, limit)
                finally:
                    target.write_bytes(original)
                    _drop_bytecode(target)
                if outcome == "survived" and mutant.key in equivalents:
                    outcome = "equivalent"
                    equivalent.append((mutant, equivalents[mutant.key]))
                elif outcome == "survived":
                    survivors.append(mutant)
                counts[outcome] += 1
                matched.add(mutant.key)
                print(f"  [{number}/{len(mutants)}] {outcome:10} {mutant.key}", flush=True)
        finally:
            target.write_bytes(original)
            _drop_bytecode(target)
        _report(name, counts)
        for key in totals:
            totals[key] += counts[key]

    if args.list:
        return 0
    print()
    _report("total", totals)
    print(f"wall time {time.monotonic() - started:.0f}s")
    if survivors:
        print(f"\nsurvivors ({len(survivors)}): add a test, or list in {EQUIVALENTS.name}")
        for mutant in survivors:
            print(f"  {mutant.key}")
    if equivalent:
        print(f"\nequivalent ({len(equivalent)}), not counted:")
        for mutant, reason in equivalent:
            print(f"  {mutant.key}  # {reason}")
    ran = {m for m in args.module or MODULES if (ROOT / MODULES[m][0]).exists()}
    ran_paths = {MODULES[m][0] for m in ran}
    stale = [k for k in equivalents if k.split(":", 1)[0] in ran_paths and k not in matched]
    if stale and not args.max:
        print(f"\nwarning: {EQUIVALENTS.name} entries matching no mutant (code moved?):")
        for key in stale:
            print(f"  {key}")
    clean = subprocess.run(["git", "diff", "--quiet", "--", PACKAGE], cwd=ROOT).returncode == 0
    print(f"\nsource tree {'unchanged' if clean else 'CHANGED (git diff ' + PACKAGE + ')'}")
    return 0 if clean else 1


def _report(name: str, counts: dict[str, int]) -> None:
    scored = counts["mutants"] - counts["equivalent"]
    detected = counts["killed"] + counts["timeout"]
    score = 100.0 * detected / scored if scored else 100.0
    print(
        f"{name}: {counts['mutants']} mutants, {counts['killed']} killed, "
        f"{counts['survived']} survived, {counts['timeout']} timeouts, "
        f"{counts['equivalent']} equivalent; score {score:.1f}%"
    )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; the source files were restored", file=sys.stderr)
        sys.exit(130)
