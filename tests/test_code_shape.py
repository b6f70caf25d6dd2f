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
