"""Loading an extracted module's source as a module, as the sandboxed child does (and the tests and
the instructor's in-kernel hidden tests do, on trusted code). Kept apart from `autograder.analysis.extract` so
that the zygote, and every child forked from it, never imports nbformat or IPython."""
import linecache
import sys
import types


def load_module(source: str, name: str = "submission") -> types.ModuleType:
    """Compile and run `source` as module `name`, registered in `sys.modules` while it runs (so
    dataclasses and pickling find it). Exceptions from the module propagate; it is then unregistered."""
    filename = f"<{name}>"
    code = compile(source, filename, "exec")
    # Tracebacks and inspect.getsource read lines through linecache.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
