"""Checks that the runtime's SDK module implements `riposte.pyi` exactly.

    python3 sdk_matches_stub.py STUB.pyi SDK_DIR

Compares, with `ast`, every class of the stub with the SDK's: bases, docstring, public attributes
(annotated names, or properties) with their annotations, and methods with their parameters
(names, kinds, annotations, defaults), return annotations and docstrings. Public members the stub
does not have are drift too. Then imports the SDK and checks the module-level names resolve.
Prints each difference and exits 1 when there is one.
"""

import ast
import importlib
import sys


def unparse(node):
    return None if node is None else ast.unparse(node)


def signature(function):
    args = function.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parts = []
    for index, arg in enumerate(positional):
        kind = "positional-only" if index < len(args.posonlyargs) else "positional"
        parts.append((kind, arg.arg, unparse(arg.annotation), unparse(defaults[index])))
    if args.vararg:
        parts.append(("*", args.vararg.arg, unparse(args.vararg.annotation), None))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        parts.append(("keyword-only", arg.arg, unparse(arg.annotation), unparse(default)))
    if args.kwarg:
        parts.append(("**", args.kwarg.arg, unparse(args.kwarg.annotation), None))
    return {"parameters": parts, "returns": unparse(function.returns), "doc": ast.get_docstring(function)}


def is_property(function):
    return any(unparse(decorator) == "property" for decorator in function.decorator_list)


def members(class_def):
    """name -> ("attribute", annotation) or ("method", signature)."""
    found = {}
    for node in class_def.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = ("attribute", unparse(node.annotation))
        elif isinstance(node, ast.FunctionDef):
            if is_property(node):
                found[node.name] = ("attribute", unparse(node.returns))
            else:
                found[node.name] = ("method", signature(node))
    return found


def classes(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def public(name):
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def compare(stub_tree, sdk_tree):
    problems = []
    stub_classes, sdk_classes = classes(stub_tree), classes(sdk_tree)
    for name in stub_classes.keys() - sdk_classes.keys():
        problems.append(f"class {name} is in the stub but not in the SDK")
    for name in sorted(sdk_classes.keys() - stub_classes.keys()):
        if not name.startswith("_"):
            problems.append(f"class {name} is in the SDK but not in the stub")
    for name, stub_class in stub_classes.items():
        sdk_class = sdk_classes.get(name)
        if sdk_class is None:
            continue
        stub_bases = [unparse(b) for b in stub_class.bases]
        sdk_bases = [unparse(b) for b in sdk_class.bases]
        if stub_bases != sdk_bases:
            problems.append(f"{name}: bases {sdk_bases} in the SDK, {stub_bases} in the stub")
        if ast.get_docstring(stub_class) != ast.get_docstring(sdk_class):
            problems.append(f"{name}: the docstring differs from the stub's")
        stub_members, sdk_members = members(stub_class), members(sdk_class)
        for member, (kind, detail) in stub_members.items():
            if member not in sdk_members:
                problems.append(f"{name}.{member} ({kind}) is in the stub but not in the SDK")
                continue
            sdk_kind, sdk_detail = sdk_members[member]
            if kind != sdk_kind:
                problems.append(f"{name}.{member} is a {kind} in the stub but a {sdk_kind} in the SDK")
            elif kind == "attribute" and detail != sdk_detail:
                problems.append(f"{name}.{member}: annotation {sdk_detail!r} in the SDK, {detail!r} in the stub")
            elif kind == "method":
                for part in ("parameters", "returns", "doc"):
                    if detail[part] != sdk_detail[part]:
                        problems.append(
                            f"{name}.{member}: {part} differ\n    stub: {detail[part]!r}\n    sdk:  {sdk_detail[part]!r}"
                        )
        allowed_extra = {"__init__", "__repr__"}
        for member in sdk_members.keys() - stub_members.keys():
            if public(member) and member not in allowed_extra:
                problems.append(f"{name}.{member} is public in the SDK but not in the stub")
    return problems


def module_names(stub_tree):
    names = set(classes(stub_tree))
    for node in stub_tree.body:
        if isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def main():
    stub_path, sdk_dir = sys.argv[1], sys.argv[2]
    with open(stub_path, encoding="utf-8") as handle:
        stub_tree = ast.parse(handle.read())
    with open(f"{sdk_dir}/riposte/__init__.py", encoding="utf-8") as handle:
        sdk_tree = ast.parse(handle.read())
    problems = compare(stub_tree, sdk_tree)

    sys.path.insert(0, sdk_dir)
    riposte = importlib.import_module("riposte")
    for name in sorted(module_names(stub_tree)):
        try:
            getattr(riposte, name)
        except AttributeError:
            problems.append(f"`riposte.{name}` does not resolve at run time")
    if sorted(riposte.__all__) != sorted(module_names(stub_tree)):
        problems.append(f"__all__ is {sorted(riposte.__all__)}, the stub defines {sorted(module_names(stub_tree))}")

    for problem in problems:
        print(problem)
    print(f"{len(classes(stub_tree))} classes compared, {len(problems)} difference(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
