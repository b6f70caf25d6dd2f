"""The code's shape (issue 24): no module over 300 lines, and a docstring on every public class and function."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300


def modules():
    """Every module of the daemon: presence/ and the two scripts at the top."""
    return sorted(ROOT.glob("presence/**/*.py")) + [ROOT / "graphite_helper.py", ROOT / "presence_to_graphite.py"]


def undocumented(tree):
    """(line, name) of each public class, function and method without a docstring.

    Dunder methods, nested functions, methods of private classes and `@overload` stubs are left out (a
    dataclass's fields are not methods: its class docstring is all it needs).
    """
    missing = []
    for node in tree.body:
        if _is_public_def(node) and ast.get_docstring(node) is None:
            missing.append((node.lineno, node.name))
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            missing += [(item.lineno, f"{node.name}.{item.name}") for item in node.body
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_public_def(item)
                        and ast.get_docstring(item) is None]
    return missing


def _is_public_def(node):
    if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
        return False
    return not any(_name_of(decorator) == "overload" for decorator in node.decorator_list)


def _name_of(decorator):
    """`overload` of `@overload` and of `@typing.overload`."""
    if isinstance(decorator, ast.Attribute):
        return decorator.attr
    return decorator.id if isinstance(decorator, ast.Name) else None


def test_no_module_is_over_300_lines():
    long = [(len(path.read_text().splitlines()), path.relative_to(ROOT)) for path in modules()]
    offenders = [f"{path}: {count} lines" for count, path in sorted(long, reverse=True) if count > MAX_LINES]
    assert not offenders, f"over {MAX_LINES} lines (split them):\n" + "\n".join(offenders)


def test_every_public_class_and_function_has_a_docstring():
    offenders = [f"{path.relative_to(ROOT)}:{line} {name}" for path in modules()
                 for line, name in undocumented(ast.parse(path.read_text(), str(path)))]
    assert not offenders, f"{len(offenders)} without a docstring:\n" + "\n".join(offenders)


def test_the_checks_find_what_they_look_for():
    source = '''
class Public:
    def method(self): pass
    def _private(self): pass
    def __init__(self): pass
    @property
    def size(self): pass
class _Private:
    def method(self): pass
def function():
    def nested(): pass
@overload
def stub(): pass
def _helper(): pass
'''
    assert undocumented(ast.parse(source)) == [(2, "Public"), (3, "Public.method"), (7, "Public.size"),
                                               (10, "function")]


# Tests of the whole tree rather than of one module.
WHOLE_TREE_TESTS = {"tests/test_code_shape.py", "tests/test_interfaces.py"}


def misplaced_tests():
    """Test files outside tests/lab/ not named tests/<package>/test_<module>[_<aspect>].py after a module of
    presence/<package>/ (or, at the top of tests/, after presence/<module>.py or graphite_helper.py)."""
    misplaced = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        relative = path.relative_to(ROOT / "tests")
        if relative.parts[0] == "lab" or str(path.relative_to(ROOT)) in WHOLE_TREE_TESTS:
            continue
        package = ROOT / "presence" / relative.parent
        names = {module.stem for module in package.glob("*.py")} | {p.name for p in package.iterdir() if p.is_dir()}
        if relative.parent == Path("."):
            names.add("graphite_helper")
        stem = path.stem[len("test_"):]
        if not any(stem == name or stem.startswith(name + "_") for name in names - {"__init__"}):
            misplaced.append(str(path.relative_to(ROOT)))
    return misplaced


def test_each_unit_test_file_is_named_after_the_module_it_tests():
    misplaced = misplaced_tests()
    assert not misplaced, ("not named tests/<package>/test_<module>[_<aspect>].py after a module, nor in "
                           "tests/lab/:\n" + "\n".join(misplaced))


# Modules that only declare (numbers, statuses, dataclasses, protocols): the tests of their users test them.
DECLARATIONS = {"presence/config/defaults.py", "presence/config/report_defaults.py", "presence/exits.py",
                "presence/observations.py", "presence/history/model.py", "presence/outputs/base.py"}


def untested_modules():
    """Modules of presence/ with no tests/<package>/test_<module>[_<aspect>].py, declarations aside."""
    untested = []
    for module in sorted((ROOT / "presence").rglob("*.py")):
        relative = module.relative_to(ROOT / "presence")
        if module.name == "__init__.py" or str(module.relative_to(ROOT)) in DECLARATIONS:
            continue
        folder = ROOT / "tests" / relative.parent
        if not any(folder.glob(f"test_{module.stem}.py")) and not any(folder.glob(f"test_{module.stem}_*.py")):
            untested.append(str(module.relative_to(ROOT)))
    return untested


def test_each_module_has_a_test_file_of_its_name():
    untested = untested_modules()
    assert not untested, "no tests/<package>/test_<module>.py for:\n" + "\n".join(untested)
