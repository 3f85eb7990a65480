"""The idioms of everyday Python a step can depend on, each with its edits.

Conventions: the project's ``pipe.py`` defines ``pipe``; unless said otherwise the
checked step is ``f`` with output ``y`` and the oracle is ``f()`` (calling a step
calls the plain function). ``PARAMS`` in ``pipe.py``, when present, are the run
values. Every idiom is a separate project folder with its own ``flowyml.toml``.
"""

from __future__ import annotations

from .spec import ABSENT, E, Edit, Idiom, Phase, change, idiom, same, src, unchanged

IDIOMS: list[Idiom] = []
add = IDIOMS.append

# --------------------------------------------------------------------------- helpers

add(idiom("helper_same_module", {"pipe.py": src('''
    import flowyml as fm


    def _scale(x):
        return x * 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [_scale(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _scale(x):\n", 'def _scale(x):\n    """Scale one value."""\n    # doubled\n\n'),
         note="docstring, comment and blank line in the helper"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 1"), note="helper body"),
))

add(idiom("helper_from_import", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from helpers import scale


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def scale(x):\n", "# scaling\n\n\ndef scale(x):  # one value\n"),
         note="comments and blank lines in helpers.py"),
    change(E("helpers.py", "return x * 2", "return x * 5"), note="helpers.scale body"),
))

add(idiom("helper_module_attr", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import helpers


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [helpers.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "    return x * 2", "    return (\n        x * 2\n    )"),
         note="reformatted return"),
    change(E("helpers.py", "x * 2", "x * 2 - 1"), note="helpers.scale body"),
))

add(idiom("helper_import_as", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import helpers as h


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [h.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def scale(x):\n", 'def scale(x):\n    """Double."""\n'), note="docstring"),
    change(E("helpers.py", "return x * 2", "return x * 3"), note="helpers.scale body"),
))

add(idiom("nested_helpers_two_files", {
    "outer.py": src('''
        from inner import core


        def wrap(x):
            return core(x) + 1
    '''),
    "inner.py": src('''
        def core(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from outer import wrap


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [wrap(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("outer.py", "return core(x) + 1", "return (core(x)\n            + 1)"),
         E("inner.py", "def core(x):\n", "def core(x):\n    # two levels down\n"),
         note="formatting in outer.py, comment in inner.py"),
    change(E("inner.py", "return x * 2", "return x * 3"), note="inner.core, two files away"),
))

add(idiom("helper_default_argument", {"pipe.py": src('''
    import flowyml as fm


    def _scale(x, k=2):
        return x * k


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [_scale(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _scale(x, k=2):", "def _scale(x,\n           k=2):"), note="signature reformatted"),
    change(E("pipe.py", "k=2", "k=3"), note="the helper's default value"),
))

add(idiom("step_default_argument", {"pipe.py": src('''
    import flowyml as fm


    @fm.step(outputs="y")
    def f(n: int = 4, factor=2):
        return [i * factor for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def f(n: int = 4, factor=2):", "def f(n: int = 4, factor=2):  # tunable"),
         note="comment"),
    change(E("pipe.py", "factor=2", "factor=3"), note="the step's default value"),
))

add(idiom("lambda_helper", {"pipe.py": src('''
    import flowyml as fm

    double = lambda x: x * 2  # noqa: E731


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [double(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "double = lambda x: x * 2  # noqa: E731",
           "# the doubling\ndouble = lambda x: (x * 2)  # noqa: E731"),
         note="comment, redundant parentheses"),
    change(E("pipe.py", "(x * 2)", "(x * 2 + 1)"), note="lambda body"),
))

add(idiom("lambdas_on_one_line", {"pipe.py": src('''
    import flowyml as fm

    OPS = [lambda x: x * 2, lambda x: x * 3]
    op = OPS[1]


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [op(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "OPS = [lambda x: x * 2, lambda x: x * 3]",
           "OPS = [lambda x: x * 2, lambda x: (x * 3)]  # double, triple"),
         note="comment, redundant parentheses"),
    change(E("pipe.py", "op = OPS[1]", "op = OPS[0]"),
           note="the other lambda of the same line (one statement's text, two codes)"),
))

add(idiom("recursive_helper", {"pipe.py": src('''
    import flowyml as fm


    def _fact(k):
        return 1 if k <= 1 else k * _fact(k - 1)


    @fm.step(outputs="y")
    def f(n: int = 5):
        return [_fact(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _fact(k):\n", 'def _fact(k):\n    """k!"""\n'), note="docstring"),
    change(E("pipe.py", "return 1 if k <= 1", "return 2 if k <= 1"), note="the base case"),
))

add(idiom("mutual_recursion", {"pipe.py": src('''
    import flowyml as fm


    def _even(k):
        return True if k == 0 else _odd(k - 1)


    def _odd(k):
        return False if k == 0 else _even(k - 1)


    @fm.step(outputs="y")
    def f(n: int = 6):
        return [_even(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _odd(k):\n", "def _odd(k):\n    # mirrors _even\n"), note="comment"),
    change(E("pipe.py", "return False if k == 0", "return True if k == 0"),
           note="_odd, reached only through _even"),
))

add(idiom("generator_helper", {"pipe.py": src('''
    import flowyml as fm


    def _evens(n):
        for i in range(n):
            yield i * 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return list(_evens(n))


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "        yield i * 2", "\n        yield i * 2  # lazily"), note="comment"),
    change(E("pipe.py", "yield i * 2", "yield i * 2 + 1"), note="generator body"),
))

add(idiom("helper_defined_after_step", {"pipe.py": src('''
    import flowyml as fm


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [_late(i) for i in range(n)]


    def _late(x):
        return x + 10


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _late(x):\n", "def _late(x):\n    # defined below its user\n"),
         note="comment"),
    change(E("pipe.py", "x + 10", "x + 20"), note="helper defined after the step"),
))

add(idiom("helper_alias", {"pipe.py": src('''
    import flowyml as fm


    def _scale_v1(x):
        return x * 2


    scale = _scale_v1


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [scale(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "scale = _scale_v1", "scale = _scale_v1  # current version"), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 4"), note="the aliased function's body"),
))

add(idiom("nested_function_in_helper", {"pipe.py": src('''
    import flowyml as fm


    def _process(xs):
        def one(x):
            return x * 2
        return [one(x) for x in xs]


    @fm.step(outputs="y")
    def f(n: int = 4):
        return _process(range(n))


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    def one(x):\n", "    def one(x):\n        \"\"\"Inner.\"\"\"\n"),
         note="docstring of the inner function"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 3"), note="inner function body"),
))

# --------------------------------------------------------------------------- constants

add(idiom("const_int", {"pipe.py": src('''
    import flowyml as fm

    FACTOR = 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i * FACTOR for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "FACTOR = 2\n", "\n# tuned by hand\nFACTOR = 2  # see notes\n"), note="comments"),
    change(E("pipe.py", "FACTOR = 2", "FACTOR = 3"), note="int constant"),
))

add(idiom("const_str", {"pipe.py": src('''
    import flowyml as fm

    SEP = "-"


    @fm.step(outputs="y")
    def f(n: int = 4):
        return SEP.join(str(i) for i in range(n))


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", 'SEP = "-"', "SEP = '-'"), note="quote style"),
    change(E("pipe.py", "SEP = '-'", "SEP = '+'"), note="str constant"),
))

add(idiom("const_dict", {"pipe.py": src('''
    import flowyml as fm

    WEIGHTS = {"a": 1, "b": 2}


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [WEIGHTS["a"] * i + WEIGHTS["b"] for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", 'WEIGHTS = {"a": 1, "b": 2}', 'WEIGHTS = {\n    "a": 1,\n    "b": 2,\n}'),
         note="dict literal reformatted"),
    change(E("pipe.py", '"b": 2', '"b": 5'), note="a dict value"),
))

add(idiom("const_list", {"pipe.py": src('''
    import flowyml as fm

    OFFSETS = [1, 2, 3]


    @fm.step(outputs="y")
    def f(n: int = 3):
        return [i + o for i in range(n) for o in OFFSETS]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "OFFSETS = [1, 2, 3]", "OFFSETS = [\n    1,\n    2,\n    3,\n]"),
         note="list literal reformatted"),
    change(E("pipe.py", "    3,\n", "    4,\n"), note="a list element"),
))

add(idiom("const_tuple", {"pipe.py": src('''
    import flowyml as fm

    SHAPE = (2, 3)


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [SHAPE[0] * i + SHAPE[1] for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "SHAPE = (2, 3)", "SHAPE = 2, 3"), note="tuple without parentheses"),
    change(E("pipe.py", "SHAPE = 2, 3", "SHAPE = 2, 4"), note="a tuple element"),
))

add(idiom("const_other_module", {
    "settings.py": src('''
        FACTOR = 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from settings import FACTOR


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [i * FACTOR for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("settings.py", "FACTOR = 2\n", '"""Settings."""\n\nFACTOR = 2  # default\n'),
         note="module docstring and comment in settings.py"),
    change(E("settings.py", "FACTOR = 2", "FACTOR = 7"), note="constant in another module"),
))

add(idiom("const_other_module_attr", {
    "settings.py": src('''
        FACTOR = 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import settings


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [i * settings.FACTOR for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("settings.py", "FACTOR = 2\n", "\n\nFACTOR = 2\n\n"), note="blank lines"),
    change(E("settings.py", "FACTOR = 2", "FACTOR = 6"), note="settings.FACTOR"),
))

add(idiom("const_computed_by_function", {"pipe.py": src('''
    import flowyml as fm


    def _compute():
        return 2


    K = _compute()


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i * K for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _compute():\n", "def _compute():  # at import\n"), note="comment"),
    change(E("pipe.py", "return 2", "return 3"), note="the function computing the constant"),
))

add(idiom("const_derived_from_const", {"pipe.py": src('''
    import flowyml as fm

    BASE = 2
    FACTOR = BASE * 3


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i * FACTOR for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "FACTOR = BASE * 3", "FACTOR = (BASE\n          * 3)"), note="formatting"),
    change(E("pipe.py", "BASE = 2", "BASE = 5"), note="the constant the read constant is built from"),
))

add(idiom("namedtuple_constant", {"pipe.py": src('''
    from typing import NamedTuple

    import flowyml as fm


    class Point(NamedTuple):
        x: int
        y: int


    ORIGIN = Point(1, 2)


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [ORIGIN.x * i + ORIGIN.y for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "ORIGIN = Point(1, 2)", "ORIGIN = Point(1,\n               2)"), note="formatting"),
    change(E("pipe.py", "               2)", "               9)"), note="a field of the constant"),
))

add(idiom("nested_class_attr", {"pipe.py": src('''
    import flowyml as fm


    class Config:
        class Inner:
            K = 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i * Config.Inner.K for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "        K = 2", '        """Inner settings."""\n\n        K = 2'),
         note="docstring of the nested class"),
    change(E("pipe.py", "K = 2", "K = 3"), note="nested class attribute"),
))

# A line of spaces inside a multi-line string is part of the string's value (a
# template's layout): written without ``src`` so that its spaces stay as they are.
add(idiom("string_with_a_line_of_spaces", {"pipe.py": (
    "import flowyml as fm\n"
    "\n"
    "\n"
    "class Report:\n"
    "    def render(self):\n"
    "        return \"\"\"title\n"
    "        \n"
    "        body\"\"\"\n"
    "\n"
    "\n"
    "@fm.step(outputs=\"y\")\n"
    "def f():\n"
    "    head = \"\"\"top\n"
    "  \n"
    "end\"\"\"\n"
    "    return [head, Report().render()]\n"
    "\n"
    "\n"
    "pipe = fm.Pipeline(\"ns\", [f])\n")},
    same(E("pipe.py", "    return [head", "    # both texts\n    return [head"),
         note="comment in the step"),
    change(E("pipe.py", "top\n  \n", "top\n    \n"),
           note="spaces of the step's own string's empty-looking line"),
    change(E("pipe.py", "title\n        \n", "title\n          \n"),
           note="spaces of a method's string's empty-looking line"),
))

# A docstring is not code, unless the code reads it (a prompt or a template kept in
# one): then it counts as a value, and an edit elsewhere in it still does not.
add(idiom("docstring_read_as_data", {"pipe.py": src('''
    import flowyml as fm


    def summarize():
        """Summarize the text in one sentence."""


    class Report:
        """Quarterly report"""

        def title(self):
            return type(self).__doc__.upper()


    class Annual(Report):
        """Annual report"""


    @fm.step(outputs="y")
    def f():
        return [summarize.__doc__, Report().title(), Annual().title()]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    return [summarize", "    # prompt and titles\n    return [summarize"),
         note="comment in the step"),
    change(E("pipe.py", "in one sentence", "in two sentences"),
           note="the docstring the step reads as a prompt"),
    change(E("pipe.py", "Quarterly report", "Monthly report"),
           note="the docstring a method reads through type(self)"),
    change(E("pipe.py", "Annual report", "Yearly report"),
           note="a subclass's docstring, read by the inherited method"),
    reads_docstrings=True,
))

add(idiom("docstring_read_by_library", {
    "models.py": src('''
        from dataclasses import dataclass

        from pydantic import BaseModel


        class Answer(BaseModel):
            """The answer, in one word."""

            text: str


        class Reply(BaseModel):
            """A reply to the question."""

            answer: Answer  # nested: its schema is in the reply's


        @dataclass
        class Movie:
            """A film, by its title."""

            title: str
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from pydantic import TypeAdapter

        from models import Movie, Reply


        @fm.step(outputs="y")
        def f():
            # what an LLM is asked to fill: a docstring is a schema's description
            return [Reply.model_json_schema(), TypeAdapter(Movie).json_schema()]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("models.py", "    text: str\n", "    text: str  # one word\n"), note="comment"),
    change(E("models.py", "in one word", "in two words"),
           note="a nested model's docstring (pydantic: its schema's description)"),
    change(E("models.py", "A reply to the question.", "A reply, short."),
           note="the model's docstring"),
    change(E("models.py", "A film, by its title.", "A film."),
           note="a dataclass's docstring, described by pydantic's TypeAdapter"),
    requires=("pydantic",), reads_docstrings=True,
))

add(idiom("docstring_read_by_inspect", {"pipe.py": src('''
    import inspect

    import flowyml as fm


    def summarize(text):
        """Summarize the text in one sentence."""
        return text[:40]


    def classify(text):
        """Say whether the text is positive."""
        return "positive" in text


    @fm.step(outputs="y")
    def f(task=classify):
        # two prompts: one by inspect, one from the function passed in
        return [inspect.getdoc(summarize), task.__doc__]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    return text[:40]", "    return text[:40]  # a stub"), note="comment"),
    change(E("pipe.py", "in one sentence", "in two sentences"),
           note="the docstring inspect.getdoc reads"),
    change(E("pipe.py", "is positive", "is negative"),
           note="the docstring of a function passed in as a value"),
    reads_docstrings=True,
))

add(idiom("source_read_by_inspect", {
    "rules.py": src('''
        # the rule the report quotes
        def keep(x):
            # positives only
            return x > 0
    '''),
    "pipe.py": src('''
        import inspect

        import flowyml as fm

        from rules import keep


        @fm.step(outputs="y")
        def f():
            return inspect.getcomments(keep) + inspect.getsource(keep)


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "pipe = fm.Pipeline", "# the pipeline\npipe = fm.Pipeline"),
         note="a comment outside the code the step reads"),
    change(E("rules.py", "# positives only", "# strictly positive"),
           note="a comment in the text inspect.getsource returns"),
    change(E("rules.py", "# the rule the report quotes", "# the rule"),
           note="the comment above it, which inspect.getcomments returns"),
    reads_source=("rules.py",),
))

add(idiom("traceback_text_kept_in_a_result", {
    "model.py": src('''
        import traceback


        def risky(n):
            raise ValueError(n)


        def attempt(n):
            try:
                risky(n)
            except ValueError:  # kept for the report
                return traceback.format_exc().splitlines()[-3:]
    '''),
    "pipe.py": src('''
        import flowyml as fm

        from model import attempt


        @fm.step(outputs="y")
        def f(n: int = 4):
            return attempt(n)


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "pipe = fm.Pipeline", "# the pipeline\npipe = fm.Pipeline"),
         note="a comment below every function the step reaches"),
    change(E("model.py", "def risky(n):", "# may raise\ndef risky(n):"),
           note="a comment above the function that raises: the line the traceback names "
                "moves (it was reused: stale)"),
    change(E("model.py", "raise ValueError(n)", "raise ValueError(n)  # always"),
           note="a comment on the line the traceback quotes"),
    reads_source=("model.py",),
))

add(idiom("library_object_bound_to_a_name", {
    "settings.py": src('''
        REDUCE = max
    '''),
    "pipe.py": src('''
        from statistics import mean as center

        import numpy as np

        import flowyml as fm
        import settings

        AGG = np.mean


        @fm.step(outputs="y")
        def f():
            x = [1.0, 3.0, 10.0]
            return [float(AGG(x)), center(x), settings.REDUCE(x)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "AGG = np.mean", "AGG = np.mean  # the aggregate"), note="comment"),
    change(E("pipe.py", "AGG = np.mean", "AGG = np.median"),
           note="a global bound to another function of the same library"),
    change(E("pipe.py", "from statistics import mean as center",
             "from statistics import median as center"),
           note="an import alias bound to another function"),
    change(E("settings.py", "REDUCE = max", "REDUCE = min"),
           note="a builtin bound to a name of another module"),
))

# --------------------------------------------------------------------------- closures

add(idiom("closure_step_factory", {"pipe.py": src('''
    import flowyml as fm


    def make_step(k):
        @fm.step(outputs="y")
        def f(n: int = 4):
            return [i * k for i in range(n)]
        return f


    f = make_step(2)
    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def make_step(k):\n", "def make_step(k):\n    # a factory of steps\n"),
         note="comment"),
    change(E("pipe.py", "make_step(2)", "make_step(3)"), note="the closure value k"),
))

add(idiom("closure_helper", {"pipe.py": src('''
    import flowyml as fm


    def make_scaler(k):
        def scale(x):
            return x * k
        return scale


    _scale = make_scaler(2)


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [_scale(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "_scale = make_scaler(2)", "_scale = make_scaler(\n    2,\n)"), note="formatting"),
    change(E("pipe.py", "    2,\n", "    3,\n"), note="the value captured by the closure"),
    change(E("pipe.py", "return x * k", "return x * k + 1"), note="the closure's body"),
))

# --------------------------------------------------------------------------- classes

add(idiom("method_calls_module_helper", {
    "model.py": src('''
        def _k():
            return 2


        class Scaler:
            def apply(self, x):
                return x * _k()
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [Scaler().apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "    def apply(self, x):\n", '    def apply(self, x):\n        """Scale x."""\n'),
         E("model.py", "def _k():\n", "def _k():  # the factor\n"),
         note="docstring in the method, comment in the helper"),
    change(E("model.py", "return 2", "return 3"), note="module helper _k called by the method"),
))

add(idiom("method_reads_module_constant", {
    "model.py": src('''
        RATE = 2


        class Scaler:
            def apply(self, x):
                return x * RATE
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [Scaler().apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "RATE = 2\n", "RATE = 2  # per unit\n"), note="comment"),
    change(E("model.py", "RATE = 2", "RATE = 4"), note="module constant read by the method"),
))

add(idiom("class_constant_via_self", {
    "model.py": src('''
        class Scaler:
            RATE = 2

            def apply(self, x):
                return x * self.RATE
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [Scaler().apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "    RATE = 2\n", "    RATE = 2  # per unit\n\n"), note="comment, blank line"),
    change(E("model.py", "RATE = 2", "RATE = 5"), note="class attribute read through self"),
))

add(idiom("base_class_method", {
    "base.py": src('''
        class Base:
            def transform(self, x):
                return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from base import Base


        class Child(Base):
            def run(self, xs):
                return [self.transform(x) for x in xs]


        @fm.step(outputs="y")
        def f(n: int = 4):
            return Child().run(range(n))


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("base.py", "class Base:\n", 'class Base:\n    """The base."""\n\n'), note="class docstring"),
    change(E("base.py", "return x * 2", "return x * 2 + 1"), note="method of the base class"),
))

add(idiom("super_call_other_module", {
    "base.py": src('''
        class Base:
            def transform(self, x):
                return x * 2
    '''),
    "model.py": src('''
        from base import Base


        class Child(Base):
            def transform(self, x):
                return super().transform(x) + 1
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Child


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [Child().transform(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "return super().transform(x) + 1", "return super().transform(x) + 1  # plus one"),
         note="comment"),
    change(E("base.py", "return x * 2", "return x * 10"), note="the method super() reaches"),
))

add(idiom("classmethod", {"pipe.py": src('''
    import flowyml as fm


    class Conv:
        FACTOR = 2

        @classmethod
        def make(cls, x):
            return x * cls.FACTOR


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [Conv.make(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    @classmethod\n", "    # alternative constructor\n    @classmethod\n"), note="comment"),
    change(E("pipe.py", "return x * cls.FACTOR", "return x * cls.FACTOR + 1"), note="classmethod body"),
    change(E("pipe.py", "FACTOR = 2", "FACTOR = 3"), note="class attribute read by the classmethod"),
))

add(idiom("staticmethod", {"pipe.py": src('''
    import flowyml as fm


    class Conv:
        @staticmethod
        def double(x):
            return x * 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [Conv.double(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    def double(x):\n", '    def double(x):\n        """Twice x."""\n'),
         note="docstring"),
    change(E("pipe.py", "return x * 2", "return x * 2 - 1"), note="staticmethod body"),
))

add(idiom("property", {
    "model.py": src('''
        class Box:
            @property
            def factor(self):
                return 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Box


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [Box().factor * i for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "        return 2", "        # constant for now\n        return 2"), note="comment"),
    change(E("model.py", "return 2", "return 3"), note="property body"),
))

add(idiom("user_init", {
    "model.py": src('''
        class Scaler:
            def __init__(self, k):
                self.k = k

            def apply(self, x):
                return x * self.k
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler


        @fm.step(outputs="y")
        def f(n: int = 4):
            s = Scaler(2)
            return [s.apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "        self.k = k", "        self.k = k  # kept"), note="comment"),
    change(E("model.py", "self.k = k", "self.k = k + 1"), note="__init__ body"),
))

add(idiom("instance_constant_state", {
    "model.py": src('''
        class Scaler:
            def __init__(self, k):
                self.k = k

            def apply(self, x):
                return x * self.k
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler

        SCALER = Scaler(2)


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [SCALER.apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "SCALER = Scaler(2)", "SCALER = Scaler(2)  # shared"), note="comment"),
    change(E("pipe.py", "Scaler(2)", "Scaler(3)"), note="the module-level instance's state"),
    change(E("model.py", "return x * self.k", "return x * self.k + 1"), note="its method"),
))

add(idiom("dunder_operator", {
    "vec.py": src('''
        class Vec:
            def __init__(self, v):
                self.v = v

            def __add__(self, other):
                return Vec(self.v + other.v)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from vec import Vec


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [(Vec(i) + Vec(1)).v for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("vec.py", "    def __add__(self, other):\n", "    def __add__(self, other):  # v + w\n"),
         note="comment"),
    change(E("vec.py", "Vec(self.v + other.v)", "Vec(self.v + other.v * 10)"),
           note="__add__, used only through the + operator"),
))

add(idiom("dataclass_field_default", {
    "conf.py": src('''
        from dataclasses import dataclass


        @dataclass
        class Cfg:
            k: int = 2

            def scale(self, x):
                return x * self.k


        CFG = Cfg()
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from conf import CFG


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [CFG.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("conf.py", "    k: int = 2\n", "    k: int = 2  # the factor\n"), note="comment"),
    change(E("conf.py", "k: int = 2", "k: int = 3"), note="a field default of the config dataclass"),
))

add(idiom("dataclass_method", {
    "conf.py": src('''
        from dataclasses import dataclass


        @dataclass
        class Cfg:
            k: int = 2

            def scale(self, x):
                return x * self.k


        CFG = Cfg()
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from conf import CFG


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [CFG.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("conf.py", "    def scale(self, x):\n", '    def scale(self, x):\n        """Scale."""\n'),
         note="docstring of the method"),
    change(E("conf.py", "return x * self.k", "return x * self.k + 1"), note="a method of the config"),
))

add(idiom("dataclass_post_init", {
    "conf.py": src('''
        from dataclasses import dataclass, field


        @dataclass
        class Cfg:
            k: int = 2
            k2: int = field(init=False)

            def __post_init__(self):
                self.k2 = self.k * self.k


        CFG = Cfg()
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from conf import CFG


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [CFG.k2 * i for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("conf.py", "    def __post_init__(self):\n", "    def __post_init__(self):  # derived\n"),
         note="comment"),
    change(E("conf.py", "self.k * self.k", "self.k * self.k + 1"), note="__post_init__ body"),
))

add(idiom("dataclass_default_factory", {
    "conf.py": src('''
        from dataclasses import dataclass, field


        @dataclass
        class Cfg:
            offsets: list = field(default_factory=lambda: [1, 2])


        CFG = Cfg()
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from conf import CFG


        @fm.step(outputs="y")
        def f(n: int = 3):
            return [i + o for i in range(n) for o in CFG.offsets]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("conf.py", "lambda: [1, 2]", "lambda: [1, 2,]"), note="trailing comma"),
    change(E("conf.py", "[1, 2,]", "[1, 5]"), note="the default factory"),
))

add(idiom("enum_member_constant", {
    "modes.py": src('''
        import enum


        class Mode(enum.Enum):
            FAST = 2
            SLOW = 5
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from modes import Mode


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [i * Mode.FAST.value for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("modes.py", "    FAST = 2\n", "    FAST = 2  # quick\n"), note="comment"),
    change(E("modes.py", "FAST = 2", "FAST = 3"), note="the enum member's value"),
))

add(idiom("class_attr_reassigned", {
    "model.py": src('''
        class Scaler:
            def apply(self, n):
                return [Scaler.fn(i) for i in range(n)]


        def g(x):
            return x * 2


        Scaler.fn = g
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler


        @fm.step(outputs="y")
        def f(n: int = 4):
            return Scaler().apply(n)


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "Scaler.fn = g", "# plugged in after the class body\nScaler.fn = g"),
         note="comment"),
    change(E("model.py", "return x * 2", "return x * 2 + 1"),
           note="g, assigned to the class after its body"),
))

add(idiom("plugin_registry", {
    "plugins.py": src('''
        REGISTRY = {}


        def register(cls):
            REGISTRY[cls.__name__] = cls
            return cls


        @register
        class Doubler:
            def apply(self, x):
                return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from plugins import REGISTRY


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [REGISTRY["Doubler"]().apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("plugins.py", "@register\n", "# plugins\n@register\n"), note="comment"),
    change(E("plugins.py", "return x * 2", "return x * 2 + 5"),
           note="method of a class reached through a registry dict"),
))

add(idiom("attrs_class", {"pipe.py": src('''
    import attrs

    import flowyml as fm


    def _clip(v):
        return min(v, 1.0)


    @attrs.define
    class Cfg:
        lr: float = attrs.field(default=0.5, converter=_clip)
        epochs: int = 3

        def steps(self):
            return self.epochs * 10


    @fm.step(outputs="y")
    def f():
        cfg = Cfg(lr=2.0)
        return [cfg.lr, cfg.steps(), repr(cfg)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "    epochs: int = 3", "    epochs: int = 3  # passes"), note="comment"),
    change(E("pipe.py", "epochs: int = 3", "epochs: int = 4"), note="a field's default"),
    change(E("pipe.py", "return min(v, 1.0)", "return min(v, 0.9)"), note="the field's converter"),
    change(E("pipe.py", "return self.epochs * 10", "return self.epochs * 20"), note="a method"),
    requires=("attrs",), no_fingerprint_warning=True,
))

# --------------------------------------------------------------------------- decorators

add(idiom("lru_cache_helper", {"pipe.py": src('''
    import functools

    import flowyml as fm


    @functools.lru_cache(maxsize=None)
    def _sq(x):
        return x * x


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [_sq(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _sq(x):\n", 'def _sq(x):\n    """Memoized square."""\n'), note="docstring"),
    change(E("pipe.py", "return x * x", "return x * x + 1"), note="body of the lru_cache'd helper"),
))

add(idiom("wraps_decorated_helper", {
    "decos.py": src('''
        import functools


        def logged(fn):
            @functools.wraps(fn)
            def inner(*args):
                return fn(*args)
            return inner
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from decos import logged


        @logged
        def _sq(x):
            return x * x


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [_sq(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "def _sq(x):\n", "def _sq(x):\n    # squared\n"),
         E("decos.py", "def logged(fn):\n", 'def logged(fn):\n    """Log calls."""\n'),
         note="comment in the helper, docstring in the decorator"),
    change(E("pipe.py", "return x * x", "return x * x - 1"), note="the decorated helper's body"),
    change(E("decos.py", "return fn(*args)", "return fn(*args) + 100"), note="the decorator's wrapper"),
))

add(idiom("np_vectorize_helper", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    def _sq(x):
        return x * x


    vsq = np.vectorize(_sq)


    @fm.step(outputs="y")
    def f(n: int = 4):
        return vsq(np.arange(n)).tolist()


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _sq(x):\n", "def _sq(x):  # elementwise\n"), note="comment"),
    change(E("pipe.py", "return x * x", "return x * x + 2"), note="function wrapped by np.vectorize"),
))

add(idiom("partial_helper_constant", {"pipe.py": src('''
    import functools

    import flowyml as fm


    def _mul(k, x):
        return k * x


    triple = functools.partial(_mul, 3)


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [triple(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _mul(k, x):\n", "def _mul(k, x):\n    # k times x\n"), note="comment"),
    change(E("pipe.py", "return k * x", "return k * x + 1"), note="the function behind the partial"),
    change(E("pipe.py", "functools.partial(_mul, 3)", "functools.partial(_mul, 4)"),
           note="the partial's bound argument"),
))

add(idiom("singledispatch_helper", {"pipe.py": src('''
    import functools

    import flowyml as fm


    @functools.singledispatch
    def fmt(x):
        return str(x)


    @fmt.register
    def _(x: int):
        return x * 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [fmt(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _(x: int):\n", "def _(x: int):  # ints\n"), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 1"), note="the registered int implementation"),
))

add(idiom("contextmanager_helper", {"pipe.py": src('''
    import contextlib

    import flowyml as fm


    @contextlib.contextmanager
    def scaled(k):
        yield k * 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        with scaled(3) as k:
            return [i * k for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def scaled(k):\n", 'def scaled(k):\n    """Scale inside."""\n'), note="docstring"),
    change(E("pipe.py", "yield k * 2", "yield k * 3"), note="the context manager's generator"),
))

add(idiom("step_over_user_decorator", {
    "decos.py": src('''
        import functools


        def times(k):
            def deco(fn):
                @functools.wraps(fn)
                def inner(*args, **kwargs):
                    return fn(*args, **kwargs) * k
                return inner
            return deco
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from decos import times


        @fm.step(outputs="y")
        @times(2)
        def f(n: int = 4):
            return sum(range(n))


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "@times(2)\n", "@times(2)  # doubled\n"),
         E("decos.py", "def times(k):\n", 'def times(k):\n    """Multiply the result by k."""\n'),
         note="comment on the decorator line, docstring of the decorator"),
    change(E("pipe.py", "@times(2)", "@times(3)"), note="the decorator's argument",
           reason={"f": "times"}),
    change(E("decos.py", "return fn(*args, **kwargs) * k", "return fn(*args, **kwargs) * k + 1"),
           note="the decorator's body"),
))

add(idiom("decorator_class_with_update_wrapper", {"pipe.py": src('''
    import functools

    import flowyml as fm


    class scaled:
        def __init__(self, fn, k=2):
            functools.update_wrapper(self, fn)
            self.fn = fn
            self.k = k

        def __call__(self, x):
            return self.fn(x) * self.k


    @scaled
    def helper(x):
        return x + 1


    @fm.step(outputs="y")
    def f():
        return helper(3)


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    return x + 1", "    return x + 1  # the wrapped helper"),
         note="comment"),
    change(E("pipe.py", "return self.fn(x) * self.k", "return self.fn(x) + self.k"),
           note="the decorator class's __call__"),
    change(E("pipe.py", "def __init__(self, fn, k=2):", "def __init__(self, fn, k=5):"),
           note="the decorator instance's state"),
    change(E("pipe.py", "    return x + 1", "    return x + 2"), note="the wrapped function"),
))

# --------------------------------------------------------------------------- imports in the body

add(idiom("local_from_import", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            from helpers import scale
            return [scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def scale(x):\n", "def scale(x):\n\n    # doubled\n"), note="comment"),
    change(E("helpers.py", "return x * 2", "return x * 3"),
           note="helper imported inside the step body"),
))

add(idiom("local_import_module", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            import helpers
            return [helpers.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    import helpers\n", "    import helpers  # lazily\n\n"), note="comment in the step"),
    change(E("helpers.py", "return x * 2", "return x * 4"),
           note="module imported inside the step body"),
))

add(idiom("local_import_as", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            import helpers as h
            return [h.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "    return x * 2", "    return (x\n            * 2)"), note="formatting"),
    change(E("helpers.py", "* 2)", "* 2 + 7)"), note="module imported with `as` inside the step"),
))

add(idiom("one_name_two_modules", {
    "cfg_a.py": "X = 1\n",
    "cfg_b.py": "X = 10\n",
    "pipe.py": src('''
        import flowyml as fm
        import cfg_b as cfg


        def from_a():
            import cfg_a as cfg
            return cfg.X


        def from_b():
            return cfg.X


        @fm.step(outputs="y")
        def f():
            return from_a() + from_b()


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("cfg_b.py", "X = 10\n", "# the second\nX = 10\n"), note="comment in cfg_b.py"),
    change(E("cfg_b.py", "X = 10", "X = 20"),
           note="`cfg.X` of another module than the `cfg.X` a helper read before it"),
    change(E("cfg_a.py", "X = 1", "X = 2"), note="the first module's `cfg.X`"),
))

add(idiom("package_helper", {
    "pkg/__init__.py": "",
    "pkg/ops.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from pkg.ops import scale


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pkg/ops.py", "def scale(x):\n", "def scale(x):  # in a package\n"), note="comment"),
    change(E("pkg/ops.py", "return x * 2", "return x * 3"), note="helper in a package module"),
))

add(idiom("package_relative_import", {
    "pkg/__init__.py": "",
    "pkg/_impl.py": src('''
        def factor():
            return 2
    '''),
    "pkg/ops.py": src('''
        from ._impl import factor


        def scale(x):
            return x * factor()
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from pkg.ops import scale


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pkg/_impl.py", "def factor():\n", 'def factor():\n    """The factor."""\n'), note="docstring"),
    change(E("pkg/_impl.py", "return 2", "return 6"), note="helper reached through a relative import"),
))

add(idiom("package_reexport", {
    "pkg/__init__.py": src('''
        from .impl import scale

        __all__ = ["scale"]
    '''),
    "pkg/impl.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import pkg


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [pkg.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pkg/impl.py", "def scale(x):\n", "def scale(x):\n    # re-exported by the package\n"),
         note="comment"),
    change(E("pkg/impl.py", "return x * 2", "return x * 2 + 9"),
           note="function re-exported by a package __init__"),
))

add(idiom("star_import", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from helpers import *  # noqa: F403


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [scale(i) for i in range(n)]  # noqa: F405


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def scale(x):\n", 'def scale(x):\n    """Star-imported."""\n'), note="docstring"),
    change(E("helpers.py", "return x * 2", "return x * 8"), note="star-imported helper"),
))

add(idiom("try_except_import", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm

        try:
            from fast_helpers import scale
        except ImportError:
            from helpers import scale


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def scale(x):\n", "def scale(x):  # the slow fallback\n"), note="comment"),
    change(E("helpers.py", "return x * 2", "return x * 3"), note="helper chosen by try/except ImportError"),
))

add(idiom("one_name_imported_two_ways_in_the_step_body", {
    "impl_fast.py": src('''
        def score(x):
            return x * 2
    '''),
    "impl_slow.py": src('''
        def score(x):
            return x + 100
    '''),
    "impl_a.py": src('''
        def weight():
            return 3
    '''),
    "impl_b.py": src('''
        def weight():
            return 5
    '''),
    "pipe.py": src('''
        import flowyml as fm


        def backend(fast):
            if fast:
                import impl_a as impl
            else:
                import impl_b as impl
            return impl


        @fm.step(outputs="y")
        def f(n: int = 3):
            try:
                from impl_fast import score  # the one that runs
            except ImportError:
                from impl_slow import score
            return [score(i) * backend(True).weight() for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("impl_fast.py", "def score(x):\n", "def score(x):  # fast\n"), note="comment"),
    change(E("impl_fast.py", "return x * 2", "return x * 3"),
           note="the function the first of two imports of one name binds in the step (only "
                "the last import counted: stale)"),
    change(E("impl_a.py", "return 3", "return 4"),
           note="the module the first of two imports in a helper binds (stale)"),
    change(E("impl_slow.py", "return x + 100", "return x + 200"),
           note="the fallback, not taken: which import runs is not known at build, so both "
                "count", expect={"f": "executed"}),
))

add(idiom("conditional_function_choice", {"pipe.py": src('''
    import flowyml as fm

    USE_FAST = True


    def _fast(x):
        return x * 2


    def _slow(x):
        return x + x + 1


    scale = _fast if USE_FAST else _slow


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [scale(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "USE_FAST = True", "USE_FAST = True  # toggle"), note="comment"),
    change(E("pipe.py", "USE_FAST = True", "USE_FAST = False"), note="another function is chosen"),
    change(E("pipe.py", "return x + x + 1", "return x + x + 2"), note="the chosen function's body"),
))

# --------------------------------------------------------------------------- containers

add(idiom("dispatch_dict", {"pipe.py": src('''
    import flowyml as fm


    def _scale(x):
        return x * 2


    def _shift(x):
        return x + 1


    OPS = {"scale": _scale, "shift": _shift}


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [OPS["scale"](i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", 'OPS = {"scale": _scale, "shift": _shift}',
           'OPS = {\n    "scale": _scale,\n    "shift": _shift,\n}'), note="dict reformatted"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 1"), note="function held in a dispatch dict"),
))

add(idiom("static_and_class_methods_in_a_table_of_the_class_body", {"model.py": src('''
    class Ops:
        base = 3

        @staticmethod
        def scale(x):
            return x * 2

        @classmethod
        def shift(cls, x):
            return x + cls.base

        # the raw staticmethod and classmethod objects, as the body holds them
        TABLE = {"scale": scale, "shift": shift}

        @classmethod
        def run(cls, name, x):
            return cls.TABLE[name].__get__(None, cls)(x)
'''), "pipe.py": src('''
    import flowyml as fm
    from model import Ops


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [Ops.run("scale", i) + Ops.run("shift", i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged("the table's methods count by their code: reused (before, a staticmethod "
              "object had no token, and the step re-executed every run with a warning)"),
    same(E("model.py", "return x * 2", "return x * 2  # twice"), note="comment"),
    change(E("model.py", "return x * 2", "return x * 3"), note="a static method in the table"),
    change(E("model.py", "return x + cls.base", "return x - cls.base"),
           note="a class method in the table"),
    no_fingerprint_warning=True,
))

add(idiom("step_in_a_list", {"pipe.py": src('''
    import flowyml as fm


    @fm.step(outputs="a")
    def double(n: int = 3):
        return n * 2


    STAGES = [double]


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [stage(n) for stage in STAGES]


    pipe = fm.Pipeline("ns", [f, double])
''')},
    same(E("pipe.py", "def double(n: int = 3):\n", 'def double(n: int = 3):\n    """Double it."""\n'),
         note="docstring of the step held in the list"),
    change(E("pipe.py", "return n * 2", "return n * 2 + 1"),
           note="body of a step held in a list another step calls"),
))

add(idiom("attribute_on_the_step_function", {"pipe.py": src('''
    import flowyml as fm


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i + STAGES[0].bonus for i in range(n)]


    STAGES = [f.func]
    f.func.bonus = 1

    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "f.func.bonus = 1", "f.func.bonus = 1  # set once"), note="comment"),
    change(E("pipe.py", "f.func.bonus = 1", "f.func.bonus = 5"),
           note="an attribute set on the step's own function, read through a list"),
))

add(idiom("attribute_on_a_step", {"pipe.py": src('''
    import flowyml as fm


    @fm.step(outputs="z")
    def other(n: int = 2):
        return n


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i + other.extra for i in range(n)]


    other.extra = 1

    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    return n\n", '    """The n."""\n    return n\n'),
         note="docstring of the other step"),
    change(E("pipe.py", "other.extra = 1", "other.extra = 7"),
           note="an attribute set on another step, read by name"),
))

add(idiom("declaration_of_a_step_in_a_list", {"pipe.py": src('''
    import flowyml as fm


    def _double(n: int = 3):
        return n * 2


    double = fm.step(outputs="a", name="double")(_double)
    STAGES = [double]


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [[st.name, list(st.outputs)] for st in STAGES]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "    return n * 2\n", "    return n * 2  # twice\n"), note="comment"),
    change(E("pipe.py", 'fm.step(outputs="a", name="double")', 'fm.step(outputs="b", name="twice")'),
           note="the declaration of a step held in a list another step reads"),
))

add(idiom("dispatch_dict_of_lambdas", {"pipe.py": src('''
    import flowyml as fm

    OPS = {
        "sq": lambda x: x * x,
        "neg": lambda x: -x,
    }


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [OPS["sq"](i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", '    "neg": lambda x: -x,\n', '    "neg": lambda x: -x,  # unused\n'), note="comment"),
    change(E("pipe.py", "lambda x: x * x", "lambda x: x * x * x"), note="lambda in a dict"),
))

add(idiom("function_list", {"pipe.py": src('''
    import flowyml as fm


    def _a(x):
        return x + 1


    def _b(x):
        return x * 2


    STAGES = [_a, _b]


    @fm.step(outputs="y")
    def f(n: int = 4):
        out = []
        for i in range(n):
            for fn in STAGES:
                i = fn(i)
            out.append(i)
        return out


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "STAGES = [_a, _b]", "STAGES = [_a, _b]  # in order"), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 3"), note="function held in a list"),
))

add(idiom("function_on_config_attr", {"pipe.py": src('''
    from dataclasses import dataclass
    from typing import Callable

    import flowyml as fm


    def _scale(x):
        return x * 2


    @dataclass
    class Cfg:
        fn: Callable


    CFG = Cfg(fn=_scale)


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [CFG.fn(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _scale(x):\n", "def _scale(x):\n    # stored on CFG\n"), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 3"), note="function stored on a config attribute"),
))

add(idiom("getattr_constant_name", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import helpers


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [getattr(helpers, "scale")(i) for i in range(n)]  # noqa: B009


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def scale(x):\n", "def scale(x):  # by name\n"), note="comment"),
    change(E("helpers.py", "return x * 2", "return x * 2 + 4"), note="helper fetched by getattr(mod, 'name')"),
))

add(idiom("function_as_step_default", {"pipe.py": src('''
    import flowyml as fm


    def _double(x):
        return x * 2


    @fm.step(outputs="y")
    def f(n: int = 4, fn=_double):
        return [fn(i) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _double(x):\n", "def _double(x):\n    # the default op\n"), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 1"), note="function used as a step's default"),
))

add(idiom("nested_container_of_functions", {"pipe.py": src('''
    import flowyml as fm


    def _a(x):
        return x + 1


    def _b(x):
        return x * 2


    PLAN = {"stages": [("inc", _a), ("dbl", _b)], "name": "plan"}


    @fm.step(outputs="y")
    def f(n: int = 4):
        out = []
        for i in range(n):
            for _, fn in PLAN["stages"]:
                i = fn(i)
            out.append(i)
        return out


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", 'PLAN = {"stages"', '# the plan\nPLAN = {"stages"'), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 1"),
           note="function in a tuple in a list in a dict"),
))

add(idiom("bound_method_constant", {
    "model.py": src('''
        class Scaler:
            def __init__(self, k):
                self.k = k

            def apply(self, x):
                return x * self.k
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Scaler

        scale = Scaler(2).apply


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "    def apply(self, x):\n", '    def apply(self, x):\n        """Scale."""\n'),
         note="docstring"),
    change(E("model.py", "return x * self.k", "return x * self.k + 1"),
           note="method behind a module-level bound method"),
    change(E("pipe.py", "Scaler(2)", "Scaler(5)"), note="the bound instance's state"),
))

add(idiom("closure_captures_function", {"pipe.py": src('''
    import flowyml as fm


    def _double(x):
        return x * 2


    def make_step(fn):
        @fm.step(outputs="y")
        def f(n: int = 4):
            return [fn(i) for i in range(n)]
        return f


    f = make_step(_double)
    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _double(x):\n", "def _double(x):  # captured\n"), note="comment"),
    change(E("pipe.py", "return x * 2", "return x * 2 + 1"), note="function captured by the step's closure"),
))

add(idiom("sorted_key_helper", {"pipe.py": src('''
    import flowyml as fm


    def _key(x):
        return x % 3


    @fm.step(outputs="y")
    def f(n: int = 6):
        return sorted(range(n), key=_key)


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "def _key(x):\n", 'def _key(x):\n    """Sort key."""\n'), note="docstring"),
    change(E("pipe.py", "return x % 3", "return -x"), note="the key function passed to sorted"),
))

add(idiom("cached_property", {
    "model.py": src('''
        import functools


        class Box:
            @functools.cached_property
            def factor(self):
                return 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Box


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [Box().factor * i for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("model.py", "    def factor(self):\n", "    def factor(self):  # computed once\n"), note="comment"),
    change(E("model.py", "return 2", "return 4"), note="functools.cached_property body"),
))

add(idiom("const_mutated_at_import", {"pipe.py": src('''
    import flowyml as fm

    CONFIG = {}
    CONFIG["k"] = 2


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [i * CONFIG["k"] for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", 'CONFIG["k"] = 2', 'CONFIG["k"] = 2  # filled at import'), note="comment"),
    change(E("pipe.py", 'CONFIG["k"] = 2', 'CONFIG["k"] = 3'), note="a module-level statement filling the dict"),
))

# --------------------------------------------------------------------------- steps of other kinds

add(idiom("bound_method_step", {
    "pipe.py": src('''
        import flowyml as fm


        class Model:
            def __init__(self, k):
                self.k = k

            def _base(self, x):
                return x + 1

            def predict(self, n: int = 4):
                return [self._base(i) * self.k for i in range(n)]


        predict = fm.step(outputs="y")(Model(k=2).predict)
        pipe = fm.Pipeline("ns", [predict])
    ''')},
    same(E("pipe.py", "    def predict(self, n: int = 4):\n",
           '    def predict(self, n: int = 4):\n        """Predict n values."""\n'),
         E("pipe.py", "    def _base(self, x):\n", "    def _base(self, x):  # shared\n"),
         note="docstring in the method, comment in its sibling"),
    change(E("pipe.py", "* self.k for i", "* self.k + 1 for i"), note="the method itself"),
    change(E("pipe.py", "return x + 1", "return x + 2"), note="a sibling method it calls"),
    change(E("pipe.py", "Model(k=2)", "Model(k=3)"), note="the instance's state"),
    steps=("predict",), check={"y": "predict()"},
))

add(idiom("partial_step", {
    "ops.py": src('''
        import functools


        def scale(k, n=4):
            return [i * k for i in range(n)]


        SCALED = functools.partial(scale, 2)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from ops import SCALED

        scaled = fm.step(outputs="y", name="scaled")(SCALED)
        pipe = fm.Pipeline("ns", [scaled])
    ''')},
    same(E("ops.py", "def scale(k, n=4):\n", "def scale(k, n=4):\n    # k times each\n"), note="comment"),
    change(E("ops.py", "return [i * k for i in range(n)]", "return [i * k + 1 for i in range(n)]"),
           note="the function behind the partial step"),
    change(E("ops.py", "functools.partial(scale, 2)", "functools.partial(scale, 3)"),
           note="the partial's bound argument"),
    steps=("scaled",), check={"y": "SCALED()"}, oracle_module="ops", build_error_ok=True,
))

add(idiom("callable_instance_step", {
    "ops.py": src('''
        class Scale:
            def __init__(self, k):
                self.k = k

            def __call__(self, n: int = 4):
                return [i * self.k for i in range(n)]


        SCALE = Scale(2)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from ops import SCALE

        scaled = fm.step(outputs="y", name="scaled")(SCALE)
        pipe = fm.Pipeline("ns", [scaled])
    ''')},
    same(E("ops.py", "    def __call__(self, n: int = 4):\n",
           '    def __call__(self, n: int = 4):\n        """Scale range(n)."""\n'), note="docstring"),
    change(E("ops.py", "[i * self.k for", "[i * self.k - 1 for"), note="__call__ body"),
    change(E("ops.py", "Scale(2)", "Scale(3)"), note="the instance's state"),
    steps=("scaled",), check={"y": "SCALE()"}, oracle_module="ops", build_error_ok=True,
))

# --------------------------------------------------------------------------- behaviour in objects

add(idiom("pickled_model_predict", {
    "models.py": src('''
        class ThresholdClassifier:
            def __init__(self, t):
                self.t = t

            def predict(self, xs):
                return [int(x > self.t) for x in xs]
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from models import ThresholdClassifier


        @fm.step(outputs="X")
        def load(n: int = 6):
            return list(range(n))


        @fm.step(outputs="model")
        def train(X):
            return ThresholdClassifier(sum(X) / len(X))


        @fm.step(outputs="preds")
        def evaluate(model, X):
            return model.predict(X)


        pipe = fm.Pipeline("ns", [load, train, evaluate])
    ''')},
    same(E("models.py", "    def predict(self, xs):\n", '    def predict(self, xs):\n        """0/1 labels."""\n'),
         note="docstring of predict"),
    change(E("models.py", "[int(x > self.t) for x in xs]", "[int(x > self.t) * 2 for x in xs]"),
           note="predict of the class whose pickled instance evaluate receives "
                "(train's bytes are unchanged)"),
    steps=("evaluate",), check={"preds": "evaluate(train(load()), load())"},
))

add(idiom("config_instance_run_value", {
    "cfgs.py": src('''
        class Cfg:
            def __init__(self):
                self.k = 2

            def scale(self, x):
                return x * self.k
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from cfgs import Cfg


        @fm.step(outputs="y")
        def f(cfg, n: int = 4):
            return [cfg.scale(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
        PARAMS = {"cfg": Cfg()}
    ''')},
    same(E("cfgs.py", "    def scale(self, x):\n", "    def scale(self, x):  # the method\n"), note="comment"),
    change(E("cfgs.py", "return x * self.k", "return x * self.k + 1"),
           note="a method of the run value's class"),
    change(E("cfgs.py", "self.k = 2", "self.k = 3"), note="the run value's state"),
    check={"y": "f(**PARAMS)"},
))

add(idiom("enum_run_value", {
    "modes.py": src('''
        import enum


        class Mode(enum.Enum):
            FAST = 2
            SLOW = 5

            def factor(self):
                return self.value
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from modes import Mode


        @fm.step(outputs="y")
        def f(mode, n: int = 4):
            return [i * mode.factor() for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
        PARAMS = {"mode": Mode.FAST}
    ''')},
    same(E("modes.py", "    FAST = 2\n", "    FAST = 2  # the default\n"), note="comment"),
    change(E("modes.py", "FAST = 2", "FAST = 3"), note="the value of the enum member passed as a run value"),
    change(E("modes.py", "return self.value", "return self.value + 1"), note="a method of the enum"),
    check={"y": "f(**PARAMS)"},
))

add(idiom("function_run_value", {
    "ops.py": src('''
        def double(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from ops import double


        @fm.step(outputs="y")
        def f(fn, n: int = 4):
            return [fn(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
        PARAMS = {"fn": double}
    ''')},
    same(E("ops.py", "def double(x):\n", 'def double(x):\n    """Twice."""\n'), note="docstring"),
    change(E("ops.py", "return x * 2", "return x * 2 + 1"), note="the function passed as a run value"),
    check={"y": "f(**PARAMS)"},
))

add(idiom("class_attr_from_json", {
    "params.json": '{"scale": 2}\n',
    "pipe.py": src('''
        import json
        from pathlib import Path

        import flowyml as fm


        class Config:
            SCALE = json.loads(Path("params.json").read_text())["scale"]


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [i * Config.SCALE for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("params.json", '{"scale": 2}', '{\n  "scale":   2\n}'),
         E("pipe.py", "class Config:\n", "class Config:\n    # read at import\n"),
         note="JSON reformatted, comment in the class"),
    change(E("params.json", '"scale":   2', '"scale": 3'),
           note="params.json, read into a class attribute at import"),
))

add(idiom("pickled_model_loaded_in_the_step", {
    "features.py": src('''
        class Model:
            def __init__(self, scale):
                self.scale = scale

            def predict(self, xs):
                return [x * self.scale for x in xs]
    '''),
    "pipe.py": src('''
        import os
        import pickle

        import flowyml as fm
        import features

        MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.pkl")
        if not os.path.exists(MODEL):  # made once, as a training script would
            with open(MODEL, "wb") as out:
                pickle.dump(features.Model(scale=2), out)


        @fm.step(outputs="y")
        def f():
            with open(MODEL, "rb") as fh:  # the file counts by its bytes
                model = pickle.load(fh)
            return model.predict([1, 2, 3])  # ...and the code it names by its source


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("features.py", "    def predict(self, xs):\n",
           "    def predict(self, xs):  # the model's rule\n"), note="comment"),
    change(E("features.py", "return [x * self.scale for x in xs]",
             "return [x * self.scale + 1 for x in xs]"),
           note="a method of the class the pickle names"),
))

# --------------------------------------------------------------------------- numpy

add(idiom("numpy_object_array_const", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm

    LABELS = np.array(["a", "bb", "ccc"], dtype=object)


    @fm.step(outputs="y")
    def f():
        return [len(s) for s in LABELS]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", 'LABELS = np.array(["a", "bb", "ccc"], dtype=object)',
           'LABELS = np.array(\n    ["a", "bb", "ccc"],\n    dtype=object,\n)'), note="formatting"),
    change(E("pipe.py", '"bb"', '"bbbb"'), note="an element of the object array"),
))

add(idiom("numpy_numeric_array_const", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm

    W = np.array([1.0, 2.0, 3.0])


    @fm.step(outputs="y")
    def f(n: int = 3):
        return [float((W * i).sum()) for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "W = np.array([1.0, 2.0, 3.0])", "W = np.array([1.0, 2.0, 3.0])  # weights"),
         note="comment"),
    change(E("pipe.py", "2.0, 3.0", "2.0, 3.5"), note="an element of the numeric array"),
))

add(idiom("numpy_computed_const", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm

    GRID = np.linspace(0.0, 1.0, 5)


    @fm.step(outputs="y")
    def f():
        return GRID.round(3).tolist()


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "GRID = np.linspace(0.0, 1.0, 5)", "GRID = np.linspace(0.0, 1.0,\n                   5)"),
         note="formatting"),
    change(E("pipe.py", "                   5)", "                   6)"), note="the array's length"),
))

add(idiom("numpy_masked_array_const", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm

    DATA = np.ma.array([1.0, 2.0, 30.0], mask=[0, 0, 1])


    @fm.step(outputs="y")
    def f():
        return float(DATA.mean())


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "mask=[0, 0, 1])", "mask=[0, 0, 1])  # the outlier masked"),
         note="comment"),
    change(E("pipe.py", "mask=[0, 0, 1]", "mask=[0, 0, 0]"), note="the mask, same data"),
))

add(idiom("ufunc_from_a_python_function", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    def helper(x):
        return x * 5


    VEC = np.frompyfunc(helper, 1, 1)


    @fm.step(outputs="y")
    def f():
        return VEC(np.arange(3)).tolist()


    pipe = fm.Pipeline("ns", [f])
''')},
    # np.frompyfunc hides its function: the step cannot be fingerprinted, so it warns
    # and executes every time (never a reuse of what helper computed before)
    Phase("nonsemantic", (E("pipe.py", "    return x * 5", "    return x * 5  # five"),),
          "comment: executes all the same", {"f": "executed"}),
    change(E("pipe.py", "return x * 5", "return x * 7"), note="the function behind the ufunc"),
    warns_at_build=("VEC",),
))

add(idiom("pydantic_field_type_alias_and_validator", {
    "mytypes.py": src('''
        from typing import Annotated

        from pydantic import AfterValidator


        def _check(v):
            return v * 2


        Num = int
        Doubled = Annotated[int, AfterValidator(_check)]
    '''),
    "pipe.py": src('''
        from pydantic import BaseModel

        import flowyml as fm
        from mytypes import Doubled, Num


        class Row(BaseModel):
            x: Num
            y: Doubled


        @fm.step(outputs="y")
        def f():
            row = Row(x="2", y=2)
            return [row.x, row.y]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("mytypes.py", "    return v * 2", "    return v * 2  # double"), note="comment"),
    change(E("mytypes.py", "Num = int", "Num = float"), note="the type an alias is bound to"),
    change(E("mytypes.py", "return v * 2", "return v * 3"),
           note="the validator in an Annotated alias"),
    requires=("pydantic",),
))

add(idiom("library_settings_of_a_constant_the_step_never_names", {
    "tables.py": src('''
        import decimal

        import numpy as np

        WEIGHTS = np.array([1 / 3, 2.5])
        LIMITS = {"low": np.array([0.123456])}
        RATE = decimal.Decimal(1)
    '''),
    "pipe.py": src('''
        import decimal

        import numpy as np

        import flowyml as fm
        from tables import LIMITS, RATE, WEIGHTS

        np.set_printoptions(precision=4)
        decimal.getcontext().prec = 6


        def describe():
            return f"{WEIGHTS} {LIMITS['low']}"


        @fm.step(outputs="y")
        def f():
            return [describe(), str(RATE / 7)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("pipe.py", "np.set_printoptions(precision=4)",
           "np.set_printoptions(precision=4)  # short floats"), note="comment"),
    change(E("pipe.py", "precision=4", "precision=2"),
           note="numpy's print options, which the arrays the step reaches print by, though "
                "its code never names numpy (it was reused: stale)"),
    change(E("pipe.py", "prec = 6", "prec = 3"),
           note="the decimal context, which the Decimal constant divides by (stale)"),
))

add(idiom("library_settings_set_at_import", {"pipe.py": src('''
    import decimal

    import numpy as np
    import sklearn
    from sklearn.preprocessing import StandardScaler

    import flowyml as fm

    np.set_printoptions(precision=3)
    decimal.getcontext().prec = 6
    sklearn.set_config(transform_output="default")


    @fm.step(outputs="y")
    def f():
        scaled = StandardScaler().fit_transform([[1.0], [3.0]])
        third = str(np.array([1 / 3]))
        return [third, str(decimal.Decimal(1) / decimal.Decimal(7)), type(scaled).__name__]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "np.set_printoptions(precision=3)",
           "np.set_printoptions(precision=3)  # short floats"), note="comment"),
    change(E("pipe.py", "precision=3", "precision=5"), note="numpy's print options"),
    change(E("pipe.py", "prec = 6", "prec = 3"), note="the decimal context's precision"),
    change(E("pipe.py", 'transform_output="default"', 'transform_output="pandas"'),
           note="scikit-learn's configuration"),
    requires=("sklearn", "pandas"),
))

add(idiom("library_settings_set_at_import_more", {"pipe.py": src('''
    import logging

    import narwhals as nw
    import numpy as np

    import flowyml as fm


    def on_error(kind, flag):
        return None


    np.seterr(divide="call")
    np.seterrcall(on_error)
    np.set_printoptions(precision=3)
    logging.disable(logging.NOTSET)


    @fm.step(outputs="y")
    def f(b: float = 0.0):
        try:
            ratio = float(np.float64(1.0) / np.float64(b))
        except ValueError as exc:
            ratio = f"raised {exc}"
        return [ratio, logging.getLogger("app").isEnabledFor(logging.ERROR)]


    @fm.step(outputs="z")
    def g():
        # only narwhals is named: numpy prints the array it hands out
        return str(nw.new_series("a", [1 / 3, 2 / 3], nw.Float64, backend="pandas").to_numpy())


    pipe = fm.Pipeline("ns", [f, g])
''')},
    unchanged(),
    same(E("pipe.py", "def on_error(kind, flag):", "def on_error(kind, flag):  # quiet"),
         note="comment"),
    change(E("pipe.py", "    return None", "    raise ValueError(kind)"),
           note="the body of numpy's error callback (np.seterrcall): of both steps, g's "
                "numpy being beneath narwhals"),
    change(E("pipe.py", "logging.disable(logging.NOTSET)", "logging.disable(logging.CRITICAL)"),
           expect={"f": "executed", "g": "cached"}, note="logging.disable"),
    change(E("pipe.py", "precision=3", "precision=5"), expect={"f": "executed", "g": "executed"},
           note="numpy's print options, beneath narwhals"),
    steps=("f", "g"),
    check={"y": "f()", "z": "g()"},
    requires=("narwhals", "pandas"),
))

add(idiom("library_settings_a_step_sets", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    @fm.step(outputs="ready")
    def setup(precision: int = 3):
        np.set_printoptions(precision=precision)
        return True


    @fm.step(outputs="y")
    def show(ready):
        return str(np.array([1 / 3, 2 / 3]))


    @fm.step(outputs="z")
    def plain():
        return 2 + 3


    pipe = fm.Pipeline("ns", [setup, show, plain])
''')},
    Phase("unchanged", (), "a step sets numpy's print options, which a later step's key "
          "counted at build: both re-execute every run", {"setup": "executed",
                                                          "show": "executed",
                                                          "plain": "cached"}),
    Phase("nonsemantic", (E("pipe.py", "def show(ready):", "def show(ready):  # after setup"),),
          "comment", {"setup": "executed", "show": "executed", "plain": "cached"}),
    change(E("pipe.py", "precision: int = 3", "precision: int = 5"),
           note="the precision the first step sets", expect={"setup": "executed",
                                                            "show": "executed",
                                                            "plain": "cached"}),
    steps=("setup", "show", "plain"),
    check={"y": "[setup(), show(True)][1]", "z": "plain()"},
    warns_at_build=("numpy's process-wide settings",),
))

add(idiom("library_settings_a_step_sets_for_the_steps_given_its_output", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    @fm.step(outputs="arr")
    def setup(precision: int = 3):
        np.set_printoptions(precision=precision)
        return np.array([1 / 3, 2 / 3])


    @fm.step(outputs="y")
    def show(arr):
        # numpy is not named: the array formats itself by the options setup set
        return str(arr)


    @fm.step(outputs="z")
    def other():
        np.seterr(all="ignore")  # a setter too: it still reads the options setup sets
        return str(np.array([1 / 7]))


    pipe = fm.Pipeline("ns", [setup, show, other])
''')},
    Phase("unchanged", (), "the step setting numpy's options re-executes every run (so do "
          "the steps using numpy by name); a step given its array is keyed by the options "
          "at its turn", {"setup": "executed", "show": "cached", "other": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "def show(arr):", "def show(arr):  # as text"),),
          "comment", {"setup": "executed", "show": "cached", "other": "executed"}),
    change(E("pipe.py", "precision: int = 3", "precision: int = 5"),
           note="the precision the first step sets", expect={"setup": "executed",
                                                            "show": "executed",
                                                            "other": "executed"}),
    steps=("setup", "show", "other"),
    check={"y": "show(setup())", "z": "[setup(), other()][1]"},
    warns_at_build=("numpy's process-wide settings",),
))

add(idiom("settings_a_step_uses_for_itself_or_logs", {"pipe.py": src('''
    import logging

    import numpy as np
    import pandas as pd

    import flowyml as fm

    log = logging.getLogger("pipe")


    @fm.step(outputs="frame")
    def load(n: int = 3):
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        log.info("loading %d rows", n)
        return pd.DataFrame({"x": np.arange(n) / 3})


    @fm.step(outputs="y")
    def summary(frame):
        with np.errstate(divide="ignore"), pd.option_context("display.precision", 2):
            log.info("summarising")
            return [frame.to_string(), float(np.float64(1.0) / np.float64(0.0))]


    pipe = fm.Pipeline("ns", [load, summary])
''')},
    unchanged(),
    same(E("pipe.py", "def summary(frame):", "def summary(frame):  # as text"), note="comment"),
    change(E("pipe.py", '"display.precision", 2', '"display.precision", 4'),
           expect={"load": "cached", "summary": "executed"},
           note="the option a context manager sets for the step alone"),
    steps=("load", "summary"),
    check={"y": "summary(load())"},
    no_fingerprint_warning=True,
    requires=("pandas",),
))

add(idiom("accessor_of_yours_used_on_frames_the_step_does_not_make", {
    "accessors.py": src('''
        import pandas as pd


        @pd.api.extensions.register_dataframe_accessor("stats")
        class Stats:
            def __init__(self, frame):
                self._frame = frame

            def spread(self):
                return float((self._frame.max() - self._frame.min()).sum())
    '''),
    "data.csv": "x,y\n1,10\n4,30\n",
    "pipe.py": src('''
        import accessors  # noqa: F401 (registers df.stats)
        import pandas as pd

        import flowyml as fm


        @fm.step(outputs="frame")
        def load():
            return pd.DataFrame({"x": [1.0, 3.0], "y": [2.0, 8.0]})


        @fm.step(outputs="s")
        def spread(frame):
            return frame.stats.spread()  # pandas is not named: the frame is an input


        @fm.step(outputs="t")
        def spread_of_file():
            return pd.read_csv("data.csv").stats.spread()  # DataFrame is not named


        pipe = fm.Pipeline("ns", [load, spread, spread_of_file])
    ''')},
    unchanged(),
    same(E("accessors.py", "    def spread(self):", "    def spread(self):  # max - min"),
         note="comment"),
    change(E("accessors.py", "self._frame.max() - self._frame.min()",
             "self._frame.max() + self._frame.min()"),
           note="the body of an accessor registered on pd.DataFrame: for a step given a "
                "frame and one reading a file (and, as it reaches pandas, the step making "
                "a frame)"),
    steps=("load", "spread", "spread_of_file"),
    check={"s": "spread(load())", "t": "spread_of_file()"},
    requires=("pandas",),
))

add(idiom("library_settings_of_an_input_type", {"pipe.py": src('''
    import numpy as np
    import pandas as pd

    import flowyml as fm

    np.set_printoptions(precision=3)
    pd.set_option("display.precision", 2)


    @fm.step(outputs="arr")
    def make():
        return np.linspace(0, 1, 4)


    @fm.step(outputs="y")
    def f(arr):
        # the code never names numpy or pandas: their objects format themselves
        return f"{arr}"


    @fm.step(outputs="z")
    def g(frame, arrays):
        return f"{frame['x'].to_numpy()}|{arrays[0]}|{frame}"


    pipe = fm.Pipeline("ns", [make, f, g])
    PARAMS = {"frame": pd.DataFrame({"x": [1 / 3, 2 / 3]}), "arrays": [np.array([1 / 3])]}
''')},
    unchanged(),
    same(E("pipe.py", "np.set_printoptions(precision=3)",
           "np.set_printoptions(precision=3)  # short floats"), note="comment"),
    change(E("pipe.py", "precision=3", "precision=5"),
           note="numpy's print options: for an input that is an array, the array a "
                "DataFrame run value hands out, a list of arrays"),
    change(E("pipe.py", '"display.precision", 2', '"display.precision", 4'),
           expect={"f": "cached", "g": "executed"},
           note="a pandas option, for a run value that is a DataFrame"),
    steps=("f", "g"),
    check={"y": "f(make())", "z": "g(**PARAMS)"},
    requires=("pandas",),
))

add(idiom("pandas_constant_of_own_objects", {
    "rules.py": src('''
        class Rule:
            def __init__(self, t):
                self.t = t

            def apply(self, x):
                return x > self.t
    '''),
    "pipe.py": src('''
        import pandas as pd

        import flowyml as fm
        from rules import Rule

        RULES = pd.Series([Rule(1), Rule(5)])


        @fm.step(outputs="y")
        def f():
            return [bool(rule.apply(3)) for rule in RULES]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("rules.py", "    def apply(self, x):\n", "    def apply(self, x):  # the test\n"),
         note="comment"),
    change(E("rules.py", "return x > self.t", "return x < self.t"),
           note="a method of the class of the objects a pandas constant holds"),
    change(E("pipe.py", "Rule(5)", "Rule(2)"), note="an object's state"),
    requires=("pandas",),
))

add(idiom("library_class_patched_with_own_code", {
    "accessors.py": src('''
        import pandas as pd


        @pd.api.extensions.register_dataframe_accessor("stats")
        class Stats:
            def __init__(self, df):
                self._df = df

            def spread(self):
                return float(self._df["a"].max() - self._df["a"].min())


        def total(self):
            return float(self.to_numpy().sum() * 2)


        pd.DataFrame.total = total
    '''),
    "pipe.py": src('''
        import pandas as pd

        import accessors  # noqa: F401  (registers .stats and .total)
        import flowyml as fm


        @fm.step(outputs="y")
        def f():
            df = pd.DataFrame({"a": [1, 5, 9]})
            return [df.stats.spread(), df.total()]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("accessors.py", "    def spread(self):\n", "    def spread(self):  # range\n"),
         note="comment"),
    change(E("accessors.py", "max() - self", "max() + self"),
           note="a pandas accessor registered by your code"),
    change(E("accessors.py", "sum() * 2", "sum() * 3"),
           note="a method your code assigned to a library class"),
    requires=("pandas",),
))

add(idiom("enum_and_class_special_methods", {
    "kinds.py": src('''
        import enum


        class Color(str, enum.Enum):
            RED = "red"
            BLUE = "blue"

            def __str__(self):
                return self.value.upper()

            @classmethod
            def _missing_(cls, value):
                return cls.RED


        class Planet(enum.Enum):
            EARTH = (5.97, 6.37)

            def __init__(self, mass, radius):
                self.mass = mass
                self.radius = radius


        class Record:
            def __init__(self, user, ts):
                self.user, self.ts = user, ts

            def __eq__(self, other):
                return self.user == other.user

            def __hash__(self):
                return hash(self.user)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from kinds import Color, Planet, Record


        @fm.step(outputs="y")
        def f():
            rows = {Record("a", 1), Record("a", 2), Record("b", 3)}
            return [str(Color.RED), Color("green").value, Planet.EARTH.mass, len(rows)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("kinds.py", "    def __str__(self):\n", "    def __str__(self):  # shouted\n"),
         note="comment"),
    change(E("kinds.py", "return self.value.upper()", "return self.value.title()"),
           note="an Enum's __str__"),
    change(E("kinds.py", "return cls.RED", "return cls.BLUE"), note="an Enum's _missing_"),
    change(E("kinds.py", "self.mass = mass", "self.mass = mass * 2"), note="an Enum's __init__"),
    change(E("kinds.py", "return hash(self.user)", "return hash((self.user, self.ts))"),
           note="a class's __hash__"),
))

add(idiom("library_function_as_a_class_attribute", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    class Cfg:
        agg = staticmethod(np.mean)


    @fm.step(outputs="y")
    def f():
        return float(Cfg.agg([1.0, 2.0, 10.0]))


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "    agg = staticmethod(np.mean)", "    agg = staticmethod(np.mean)  # center"),
         note="comment"),
    change(E("pipe.py", "staticmethod(np.mean)", "staticmethod(np.median)"),
           note="the library function a staticmethod wraps"),
))

add(idiom("numpy_generator_constant", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm

    RNG = np.random.default_rng(0)


    @fm.step(outputs="y")
    def f():
        return float(RNG.random())


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "RNG = np.random.default_rng(0)", "RNG = np.random.default_rng(0)  # seeded"),
         note="comment"),
    change(E("pipe.py", "default_rng(0)", "default_rng(1)"), note="the generator's seed"),
    no_fingerprint_warning=True,
))

add(idiom("logging_level_set_at_import", {
    "logsetup.py": src('''
        import logging

        logging.basicConfig(level=logging.INFO)
    '''),
    "pipe.py": src('''
        import logging

        import flowyml as fm
        import logsetup  # noqa: F401

        log = logging.getLogger("train")


        @fm.step(outputs="y")
        def f():
            out = {"loss": 1.0}
            if log.isEnabledFor(logging.DEBUG):  # diagnostics in debug mode only
                out["debug"] = True
            return out


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("logsetup.py", "logging.basicConfig(level=logging.INFO)",
           "logging.basicConfig(level=logging.INFO)  # quiet"), note="comment"),
    change(E("logsetup.py", "level=logging.INFO", "level=logging.DEBUG"),
           note="the root logger's level"),
))

# --------------------------------------------------------------------------- stable value tokens

add(idiom("pydantic_run_value", {
    "cfgs.py": src('''
        from pydantic import BaseModel


        class Cfg(BaseModel):
            k: int = 2
            tags: set[str] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from cfgs import Cfg


        @fm.step(outputs="y")
        def f(cfg, n: int = 4):
            return [i * cfg.k for i in range(n)] + sorted(cfg.tags)


        pipe = fm.Pipeline("ns", [f])
        PARAMS = {"cfg": Cfg()}
    ''')},
    unchanged(),
    unchanged(),
    same(E("cfgs.py", "    k: int = 2\n", "    k: int = 2  # factor\n"), note="comment"),
    change(E("cfgs.py", "k: int = 2", "k: int = 3"), note="a field of the pydantic run value"),
    check={"y": "f(**PARAMS)"}, requires=("pydantic",),
))

add(idiom("dataclass_set_run_value", {
    "specs.py": src('''
        from dataclasses import dataclass


        @dataclass(frozen=True)
        class Spec:
            tags: frozenset
            names: set
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from specs import Spec


        @fm.step(outputs="y")
        def f(spec):
            return sorted(spec.tags) + sorted(spec.names)


        pipe = fm.Pipeline("ns", [f])
        PARAMS = {"spec": Spec(frozenset({"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}),
                               {"u", "v", "w", "x", "y", "z"})}
    ''')},
    unchanged(),
    unchanged(),
    same(E("specs.py", "class Spec:\n", 'class Spec:\n    """Tags and names."""\n\n'), note="docstring"),
    change(E("pipe.py", '"zeta"}', '"zeta", "eta"}'), note="a member of the run value's frozenset"),
    check={"y": "f(**PARAMS)"},
))

add(idiom("dataclass_frozenset_const", {"pipe.py": src('''
    from dataclasses import dataclass

    import flowyml as fm


    @dataclass(frozen=True)
    class Spec:
        tags: frozenset


    SPEC = Spec(frozenset({"alpha", "beta", "gamma", "delta", "epsilon", "zeta"}))


    @fm.step(outputs="y")
    def f():
        return sorted(SPEC.tags)


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    unchanged(),
    same(E("pipe.py", "class Spec:\n", "class Spec:\n    # a bag of tags\n"), note="comment"),
    change(E("pipe.py", '"zeta"}', '"zeta", "eta"}'), note="a member of the constant's frozenset"),
))

add(idiom("dict_insertion_order_const", {"pipe.py": src('''
    import flowyml as fm

    WEIGHTS = {k: len(k) for k in sorted({"alpha", "beta", "gamma", "delta", "epsilon", "zeta"})}


    @fm.step(outputs="y")
    def f():
        return list(WEIGHTS.items())


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged("a dict of strings built from a set, in sorted order: its token does not "
              "follow the hash seed"),
    unchanged(),
    same(E("pipe.py", "WEIGHTS = {", "# built from a set, sorted\nWEIGHTS = {"), note="comment"),
    change(E("pipe.py", '"zeta"}', '"zeta", "eta"}'), note="a new key"),
))

# The order of a dict is part of its value: a loop over ``.items()`` builds columns,
# rows or a report in that order.
add(idiom("dict_reordered", {"pipe.py": src('''
    import flowyml as fm

    FEATURES = {"age": 2, "income": 3, "tenure": 5}
    PARAMS = {"weights": {"a": 1.0, "b": 0.5}}


    @fm.step(outputs="y")
    def f(weights: dict):
        return [list(FEATURES.items()), list(weights)]


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("pipe.py", "FEATURES = {", "FEATURES = {  # model inputs\n    "),
         note="comment and formatting inside the dict"),
    change(E("pipe.py", '"age": 2, "income": 3', '"income": 3, "age": 2'),
           note="two entries of the constant swapped"),
    change(E("pipe.py", '"a": 1.0, "b": 0.5', '"b": 0.5, "a": 1.0'),
           note="two entries of a run value swapped"),
    check={"y": "f(**PARAMS)"},
))

add(idiom("set_of_strings_const", {"pipe.py": src('''
    import flowyml as fm

    TAGS = {"red", "green", "blue", "cyan", "magenta", "yellow"}


    @fm.step(outputs="y")
    def f():
        return sorted(TAGS)


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    unchanged(),
    same(E("pipe.py", "TAGS = {", "TAGS = {  # colours\n    "), note="formatting and comment"),
    change(E("pipe.py", '"yellow"}', '"yellow", "black"}'), note="a new member"),
))

# --------------------------------------------------------------------------- graph idioms

add(idiom("param_named_like_step", {"pipe.py": src('''
    import flowyml as fm


    @fm.step(outputs="clean")
    def clean(n: int = 5):
        return [i * 2 for i in range(n)]


    @fm.step(outputs="total")
    def total(clean):
        return sum(clean)


    pipe = fm.Pipeline("ns", [clean, total])
''')},
    same(E("pipe.py", "def total(clean):\n", 'def total(clean):\n    """Sum."""\n'),
         E("pipe.py", "def clean(n: int = 5):\n", "def clean(n: int = 5):  # producer\n"),
         note="docstring and comment"),
    change(E("pipe.py", "[i * 2 for i in range(n)]", "[2 * i for i in range(n)]"),
           note="clean's code changes, its output does not: total is an early cutoff",
           expect={"clean": "executed", "total": "cached"}),
    change(E("pipe.py", "[2 * i for i in range(n)]", "[3 * i for i in range(n)]"),
           note="clean's output changes", expect={"clean": "executed", "total": "executed"}),
    steps=("clean", "total"), check={"total": "total(clean())"},
))

add(idiom("two_steps_share_helper", {
    "helpers.py": src('''
        def scale(x):
            return x * 2


        def shift(x):
            return x + 1
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from helpers import scale, shift


        @fm.step(outputs="a")
        def first(n: int = 4):
            return [scale(i) for i in range(n)]


        @fm.step(outputs="b")
        def second(a):
            return [shift(x) for x in a]


        pipe = fm.Pipeline("ns", [first, second])
    ''')},
    same(E("helpers.py", "def shift(x):\n", "def shift(x):  # by one\n"), note="comment"),
    change(E("helpers.py", "return x + 1", "return x + 2"),
           note="only second's helper", expect={"first": "cached", "second": "executed"}),
    change(E("helpers.py", "return x * 2", "return x * 3"),
           note="first's helper", expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"b": "second(first())"},
))

# --------------------------------------------------------------------------- outside the project

add(idiom("sibling_folder_on_sys_path", {
    "../shared/extlib.py": src('''
        def bump(x):
            return x + 1
    '''),
    "pipe.py": src('''
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))

        import flowyml as fm  # noqa: E402
        from extlib import bump  # noqa: E402


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [bump(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("../shared/extlib.py", "def bump(x):\n", "def bump(x):\n    # shared by projects\n"),
         note="comment in the helper outside the project root"),
    change(E("../shared/extlib.py", "return x + 1", "return x + 3"),
           note="helper in a sibling folder put on sys.path"),
))

add(idiom("stdlib_os_path_join", {"pipe.py": src('''
    import os

    import flowyml as fm


    @fm.step(outputs="y")
    def f(name: str = "data"):
        return os.path.join("root", name, "file.txt")


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", 'return os.path.join("root", name, "file.txt")',
           'return os.path.join(\n        "root", name, "file.txt"\n    )'), note="formatting"),
    change(E("pipe.py", '"file.txt"', '"other.txt"'), note="the step's own code"),
    no_fingerprint_warning=True,
))

add(idiom("mutable_global_events", {"pipe.py": src('''
    import flowyml as fm

    EVENTS = []


    @fm.step(outputs="a")
    def a(x: int = 1):
        EVENTS.append("a")
        return x


    @fm.step(outputs="b")
    def b(a):
        EVENTS.append("b")
        return a + 1


    pipe = fm.Pipeline("ns", [a, b])
''')},
    unchanged("keys are taken before any step runs: a's append must not change b's key"),
    same(E("pipe.py", "EVENTS = []", "EVENTS = []  # a log"), note="comment"),
    change(E("pipe.py", "return a + 1", "return a + 2"), note="b's code",
           expect={"a": "cached", "b": "executed"}),
    steps=("a", "b"), check={"b": "b(a())"}, warns_anywhere=("EVENTS",),
))

add(idiom("nonsemantic_everywhere", {
    "helpers.py": src('''
        def prep(xs):
            return [x + 1 for x in xs]
    '''),
    "model.py": src('''
        from helpers import prep


        class Model:
            def __init__(self, k):
                self.k = k

            def fit(self, xs):
                return [self._one(x) for x in prep(xs)]

            def _one(self, x):
                return x * self.k
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from model import Model


        @fm.step(outputs="y")
        def f(n: int = 4):
            m = Model(2)
            return m.fit(range(n))


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "def f(n: int = 4):\n", 'def f(n: int = 4):\n    """Fit."""\n    # a model\n\n'),
         E("pipe.py", "    m = Model(2)\n", "    m = Model(\n        2,\n    )\n"),
         E("helpers.py", "def prep(xs):\n", '"""Helpers."""\n\n\ndef prep(xs):  # add one\n'),
         E("helpers.py", "return [x + 1 for x in xs]", "return [x + 1\n            for x in xs]"),
         E("model.py", "    def _one(self, x):\n", '    def _one(self, x):\n        """One value."""\n\n'),
         E("model.py", "class Model:\n", "class Model:  # the model\n"),
         note="comments, docstrings, blank lines and formatting in the step, a helper and methods"),
    change(E("model.py", "return x * self.k", "return x * self.k - 1"), note="a private method, two files away"),
))

# --------------------------------------------------------------------------- unseeable constructs

add(idiom("unseeable_eval", {
    "helpers.py": src('''
        def _double(x):
            return x * 2


        def _triple(x):
            return x * 3


        def apply(kind, x):
            return eval("_" + kind)(x)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from helpers import apply


        @fm.step(outputs="y")
        def f(kind: str = "double", n: int = 4):
            return [apply(kind, i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def _double(x):\n", "def _double(x):  # via eval\n"), note="comment"),
    change(E("helpers.py", "return x * 2", "return x * 2 + 1"), note="the function eval reaches"),
    change(E("helpers.py", "return x * 3", "return x * 3 + 1"),
           note="another function of the same module (an edit anywhere re-executes)"),
    warns_at_build=("eval",),
))

add(idiom("unseeable_globals_lookup", {
    "helpers.py": src('''
        def _double(x):
            return x * 2


        def _triple(x):
            return x * 3


        def apply(kind, x):
            return globals()["_" + kind](x)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from helpers import apply


        @fm.step(outputs="y")
        def f(kind: str = "double", n: int = 4):
            return [apply(kind, i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def _double(x):\n", 'def _double(x):\n    """By name."""\n'), note="docstring"),
    change(E("helpers.py", "return x * 2", "return x * 2 + 1"), note="the function globals() reaches"),
    change(E("helpers.py", "return x * 3", "return x * 3 + 1"),
           note="another function of the same module (an edit anywhere re-executes)"),
    warns_at_build=("globals",),
))

add(idiom("unseeable_computed_getattr", {
    "ops.py": src('''
        def op_double(x):
            return x * 2


        def op_triple(x):
            return x * 3
    '''),
    "helpers.py": src('''
        import ops


        def apply(kind, x):
            name = "op_" + kind
            return getattr(ops, name)(x)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from helpers import apply


        @fm.step(outputs="y")
        def f(kind: str = "double", n: int = 4):
            return [apply(kind, i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("ops.py", "def op_double(x):\n", "def op_double(x):  # found by getattr\n"), note="comment"),
    change(E("ops.py", "return x * 2", "return x * 2 + 1"), note="the function getattr reaches"),
    change(E("ops.py", "return x * 3", "return x * 3 + 1"),
           note="another function of the module getattr searches (an edit anywhere re-executes)"),
    warns_at_build=("getattr",),
))

add(idiom("unseeable_eval_reaches_a_module", {
    "helpers.py": src('''
        SCALE = 2


        def double(x):
            return x * SCALE
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import helpers

        OFFSET = 1


        @fm.step(outputs="y")
        def f(n: int = 4):
            return eval("[helpers.double(i) + OFFSET for i in range(n)]", globals(), {"n": n})


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("helpers.py", "def double(x):\n", "def double(x):  # reached through eval\n"),
         note="comment in the module eval reaches"),
    change(E("helpers.py", "return x * SCALE", "return x * SCALE + 1"),
           note="a function of a user module the step's module imports, reached by eval"),
    change(E("helpers.py", "SCALE = 2", "SCALE = 3"), note="a constant of that module"),
    change(E("pipe.py", "OFFSET = 1", "OFFSET = 5"), note="a constant of the step's module"),
    warns_at_build=("eval",),
))

add(idiom("declared_data_file", {
    "data/raw.csv": "a,b\n1,2\n3,4\n",
    "pipe.py": src('''
        from pathlib import Path

        import flowyml as fm

        HERE = Path(__file__).parent


        @fm.step(outputs="y")
        def f(src: fm.DataFile = fm.DataFile(HERE / "data" / "raw.csv")):
            with open(src) as fh:
                rows = fh.read().splitlines()[1:]
            return [sum(int(x) for x in row.split(",")) for row in rows]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    with open(src) as fh:\n", "    # the declared file\n    with open(src) as fh:\n"),
         note="comment in the step"),
    change(E("data/raw.csv", "3,4", "3,5"), note="the file the step declares with fm.DataFile"),
))

add(idiom("undeclared_file_read", {
    "data/raw.csv": "a,b\n1,2\n3,4\n",
    "settings.json": '{"k": 2}\n',
    "pipe.py": src('''
        import json
        from pathlib import Path

        import flowyml as fm

        HERE = Path(__file__).parent


        def factor():
            with open(HERE / "settings.json") as fh:  # read by a helper
                return json.load(fh)["k"]


        @fm.step(outputs="y")
        def f():
            with open(HERE / "data" / "raw.csv") as fh:  # a plain path, not declared
                rows = fh.read().splitlines()[1:]
            return [factor() * sum(int(x) for x in row.split(",")) for row in rows]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", '    with open(HERE / "data"', '    # the raw data\n    with open(HERE / "data"'),
         note="comment in the step"),
    change(E("data/raw.csv", "3,4", "3,5"), note="a file the step opens by a plain path",
           reason={"f": "file data/raw.csv it read changed"}),
    change(E("settings.json", '"k": 2', '"k": 3'), note="a file a helper opens",
           reason={"f": "file settings.json it read changed"}),
))

add(idiom("optional_file_not_found", {
    "override.json": ABSENT,
    "pipe.py": src('''
        import json
        from pathlib import Path

        import flowyml as fm

        HERE = Path(__file__).parent


        @fm.step(outputs="y")
        def f():
            try:  # an optional file: its absence decides the result too
                with open(HERE / "override.json") as fh:
                    k = json.load(fh)["k"]
            except FileNotFoundError:
                k = 2
            return [k * i for i in range(3)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "        k = 2", "        k = 2  # the default"), note="comment in the step"),
    change(E("override.json", ABSENT, '{"k": 3}\n'), note="the file it did not find appears",
           reason={"f": "file override.json, missing when the step ran, now exists"}),
    change(E("override.json", '{"k": 3}\n', ABSENT), note="and is deleted again",
           reason={"f": "file override.json it read is gone"}),
))

add(idiom("optional_file_checked_with_exists", {
    "override.json": ABSENT,
    "pipe.py": src('''
        import json
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))


        @fm.step(outputs="y")
        def f():
            path = os.path.join(HERE, "override.json")
            k = 2
            if os.path.exists(path):  # a stat, which Python does not audit
                with open(path) as fh:
                    k = json.load(fh)["k"]
            return [k * i for i in range(3)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    k = 2", "    k = 2  # the default"), note="comment in the step"),
    change(E("override.json", ABSENT, '{"k": 3}\n'), note="the file it checked for appears",
           reason={"f": "file override.json, missing when the step ran, now exists"}),
    change(E("override.json", '{"k": 3}\n', ABSENT), note="and is deleted again",
           reason={"f": "file override.json it read is gone"}),
))

add(idiom("file_size_checked_not_read", {
    "weights.bin": "abcd\n",
    "pipe.py": src('''
        from pathlib import Path

        import flowyml as fm

        HERE = Path(__file__).parent


        @fm.step(outputs="y")
        def f():
            size = (HERE / "weights.bin").stat().st_size  # its size only, never opened
            return [size * i for i in range(3)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    return [size", "    # scaled\n    return [size"),
         note="comment in the step"),
    change(E("weights.bin", "abcd\n", "abcdef\n"), note="the file it measured grows",
           reason={"f": "file weights.bin it checked changed (its size or times)"}),
))

add(idiom("path_glob_of_a_folder_not_there_yet", {
    "inbox/a.txt": ABSENT,
    "pipe.py": src('''
        from pathlib import Path

        import flowyml as fm

        HERE = Path(__file__).parent


        @fm.step(outputs="y")
        def f():
            return sorted(p.name for p in (HERE / "inbox").glob("*.txt"))  # no inbox: []


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    return sorted(", "    # the names only\n    return sorted("),
         note="comment in the step"),
    change(E("inbox/a.txt", ABSENT, "x\n"), note="the folder it did not find appears",
           reason={"f": "folder inbox, missing when the step ran, now exists"}),
))

add(idiom("glob_of_a_folder_not_there_yet", {
    "inbox/a.txt": ABSENT,
    "pipe.py": src('''
        import glob
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))


        @fm.step(outputs="y")
        def f():
            paths = glob.glob(os.path.join(HERE, "inbox", "*.txt"))  # no inbox: []
            return sorted(os.path.basename(p) for p in paths)


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    return sorted(", "    # the names only\n    return sorted("),
         note="comment in the step"),
    change(E("inbox/a.txt", ABSENT, "x\n"), note="the folder it did not find appears",
           reason={"f": "missing when the step ran, now exists"}),
))

add(idiom("script_run_as_a_command", {
    "prep.py": "import sys\nprint(2 * sum(int(x) for x in open(sys.argv[1]).read().split()))\n",
    "data.txt": "1 2 3\n",
    "pipe.py": src('''
        import os
        import subprocess
        import sys

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))


        @fm.step(outputs="y")
        def f():
            done = subprocess.run(
                [sys.executable, os.path.join(HERE, "prep.py"), os.path.join(HERE, "data.txt")],
                capture_output=True, text=True, check=True)
            return int(done.stdout)


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("pipe.py", "    return int(", "    # what the script printed\n    return int("),
         note="comment in the step"),
    change(E("prep.py", "print(2 *", "print(3 *"), note="the script the step runs as a command",
           reason={"f": "file prep.py it read changed"}),
    change(E("data.txt", "1 2 3", "1 2 4"), note="a file named on the command line",
           reason={"f": "file data.txt it read changed"}),
    warns_anywhere=("ran `",),
))

add(idiom("environment_variables", {
    "settings.json": '{"SCALE": "2", "OFFSET": "1", "UNUSED": "x"}\n',
    "pipe.py": src('''
        import json
        import os
        from pathlib import Path

        import flowyml as fm

        # as python-dotenv does: settings put into the environment at import
        os.environ.update(json.loads((Path(__file__).parent / "settings.json").read_text()))


        def offset():
            return int(os.environ.get("OFFSET", "0"))


        @fm.step(outputs="y")
        def f(n: int = 4):
            scale = int(os.getenv("SCALE", "1"))
            return [i * scale + offset() for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("settings.json", '{"SCALE": "2", "OFFSET": "1", "UNUSED": "x"}',
           '{\n  "UNUSED": "x",\n  "OFFSET": "1",\n  "SCALE": "2"\n}'),
         note="the settings file reformatted: the same variables"),
    change(E("settings.json", '"SCALE": "2"', '"SCALE": "3"'),
           note="a variable the step reads with os.getenv"),
    change(E("settings.json", '"OFFSET": "1"', '"OFFSET": "5"'),
           note="a variable a helper reads with os.environ.get"),
    change(E("settings.json", '"UNUSED": "x"', '"UNUSED": "y"'), expect={"f": "cached"},
           note="a variable nothing reads: reused"),
))

add(idiom("environment_variable_in_an_expandvars_template", {
    "settings.json": '{"DATA_DIR": "a", "UNUSED": "x"}\n',
    "pipe.py": src('''
        import json
        import os
        from pathlib import Path

        import flowyml as fm

        os.environ.update(json.loads((Path(__file__).parent / "settings.json").read_text()))


        @fm.step(outputs="y")
        def f():
            return os.path.expandvars("${DATA_DIR}/raw/$USER_PART")


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("settings.json", '{"DATA_DIR": "a", "UNUSED": "x"}',
           '{\n  "UNUSED": "x",\n  "DATA_DIR": "a"\n}'),
         note="the settings file reformatted: the same variables"),
    change(E("settings.json", '"DATA_DIR": "a"', '"DATA_DIR": "b"'),
           note="the variable the template names (read by os.path.expandvars)"),
    change(E("settings.json", '"UNUSED": "x"', '"UNUSED": "y"'), expect={"f": "cached"},
           note="a variable the template does not name: reused"),
))

add(idiom("environment_variable_named_by_a_constant", {
    "settings.json": '{"DEPTH": "3", "UNUSED": "x"}\n',
    "pipe.py": src('''
        import json
        import os
        from pathlib import Path

        import flowyml as fm

        os.environ.update(json.loads((Path(__file__).parent / "settings.json").read_text()))
        KEY = "DEPTH"


        @fm.step(outputs="y")
        def f():
            return int(os.environ.get(KEY, "1")) * 10 + (KEY in os.environ)


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("settings.json", '{"DEPTH": "3", "UNUSED": "x"}', '{\n  "UNUSED": "x",\n  "DEPTH": "3"\n}'),
         note="the settings file reformatted: the same variables"),
    change(E("settings.json", '"DEPTH": "3"', '"DEPTH": "4"'),
           note="the variable a constant names"),
    change(E("settings.json", '"UNUSED": "x"', '"UNUSED": "y"'), expect={"f": "cached"},
           note="a variable nothing reads: reused (the whole environment does not count)"),
))

add(idiom("environment_variable_read_in_a_class_body", {
    "settings.json": '{"DB_URL": "sqlite://a", "UNUSED": "x"}\n',
    "config.py": src('''
        import json
        import os
        from pathlib import Path

        os.environ.update(json.loads((Path(__file__).parent / "settings.json").read_text()))


        class Settings:
            db_url = os.environ.get("DB_URL", "sqlite://")
            level = os.getenv("LEVEL", "info")
            debug = "FM_DEBUG" in os.environ
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from config import Settings


        @fm.step(outputs="y")
        def f():
            return [Settings.db_url, Settings.level, Settings.debug]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("config.py", "class Settings:\n", "class Settings:  # read once, at import\n"),
         note="comment"),
    change(E("settings.json", '"sqlite://a"', '"sqlite://b"'),
           note="the variable the class body reads (its value when the class was made)"),
    change(E("settings.json", '"UNUSED": "x"', '"UNUSED": "x", "FM_DEBUG": "1"'),
           note="a variable the class body tests with `in`, now set"),
    change(E("settings.json", '"UNUSED": "x"', '"UNUSED": "y"'), expect={"f": "cached"},
           note="a variable nothing reads: reused (the whole environment does not count)"),
))

add(idiom("global_random_seed", {
    "pipe.py": src('''
        import random

        import flowyml as fm

        random.seed(7)  # the hidden generator behind random.random and friends


        @fm.step(outputs="y")
        def f(n: int = 4):
            return [round(random.random(), 6) for _ in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("pipe.py", "random.seed(7)  # the hidden generator", "random.seed(7)  # hidden generator"),
         note="comment on the seed line"),
    change(E("pipe.py", "random.seed(7)", "random.seed(8)"),
           note="the global seed the step's draws come from"),
))

add(idiom("seeded_first_in_the_step", {
    "pipe.py": src('''
        import random

        import numpy as np

        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            np.random.seed(3)  # first thing: the state the process had does not matter
            random.seed("five")
            return [round(float(np.random.rand()) + random.random(), 6) for _ in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(note="a fresh process: both generators seeded from the OS, reused"),
    same(E("pipe.py", "# first thing: the state", "# first: the state"), note="comment"),
    change(E("pipe.py", "np.random.seed(3)", "np.random.seed(4)"), note="the seed"),
    change(E("pipe.py", "np.random.seed(4)  # first", "np.random.rand()\n    np.random.seed(4)  # first"),
           note="a draw before the seed: the state it started with counts (the value does not "
                "change; the key must, as the step reads that state)"),
))

add(idiom("seed_after_a_draw_beside_another_drawer", {
    "pipe.py": src('''
        import random

        import flowyml as fm

        random.seed(7)


        @fm.step(outputs="b")
        def b(n: int = 1):
            random.seed(3)
            return [round(random.random(), 6) for _ in range(n)]


        @fm.step(outputs="a")
        def a():
            x = random.random()  # drawn before its seed: from where b left the generator
            random.seed(1)
            return round(x, 6)


        pipe = fm.Pipeline("ns", [b, a])
    ''')},
    unchanged(note="a starts from the state b's reuse puts back, which its key counts (a "
                   "seed in a's text is not a seed first)"),
    same(E("pipe.py", "# drawn before its seed", "# drawn first"), note="comment"),
    change(E("pipe.py", "range(n)]", "range(n + 1)]"), note="how far b moves the generator",
           expect={"b": "executed", "a": "executed"}),
    steps=("b", "a"),
    check={"b": "b()", "a": "[b(), a()][1]"},
))

add(idiom("global_generator_given_as_a_default", {
    "pipe.py": src('''
        import numpy as np

        import flowyml as fm

        np.random.seed(7)


        @fm.step(outputs="y")
        def f(gen=np.random, n: int = 2):
            return [round(float(gen.rand()), 6) for _ in range(n)]  # the module's generator


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(note="the script's seed: the same state in every process, reused"),
    same(E("pipe.py", "# the module's generator", "# numpy's global generator"), note="comment"),
    change(E("pipe.py", "np.random.seed(7)", "np.random.seed(8)"),
           note="the state the default draws from (it counted none: stale)"),
))

add(idiom("module_used_whole_draws_before_another_drawer", {
    "pipe.py": src('''
        import numpy as np

        import flowyml as fm

        np.random.seed(7)


        @fm.step(outputs="noise")
        def make_noise(n: int = 1):
            r = np.random  # the module used whole: a fallback in most code
            return [round(float(r.rand()), 6) for _ in range(n)]


        @fm.step(outputs="w")
        def init_weights():
            return round(float(np.random.rand()), 6)


        pipe = fm.Pipeline("ns", [make_noise, init_weights])
    ''')},
    unchanged(note="the script's seed: the same states in every process, both reused"),
    same(E("pipe.py", "# the module used whole", "# np.random itself"), note="comment"),
    change(E("pipe.py", "range(n)]", "range(n + 1)]"),
           note="how far make_noise moves the generator: init_weights starts from another "
                "state (its key counted the state at build: stale)",
           expect={"make_noise": "executed", "init_weights": "executed"}),
    steps=("make_noise", "init_weights"),
    check={"noise": "[np.random.seed(7), make_noise()][1]",
           "w": "[np.random.seed(7), make_noise(), init_weights()][2]"},
))

add(idiom("progress_to_stderr", {
    "pipe.py": src('''
        import sys

        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            out = []
            for i in range(n):
                sys.stderr.write(f"step {i}\\n")
                sys.stderr.flush()
                out.append(i * 2)
            return out
    ''') + "\n\npipe = fm.Pipeline(\"ns\", [f])\n"},
    unchanged(note="writing to sys.stderr is output, not an input: reused"),
    same(E("pipe.py", "sys.stderr.flush()", "sys.stderr.flush()  # show it now"), note="comment"),
    change(E("pipe.py", "i * 2", "i * 3"), note="the step's own code"),
    no_fingerprint_warning=True,
))

add(idiom("subclass_registry", {
    "base.py": src('''
        class Model:
            def predict(self, x):
                raise NotImplementedError
    '''),
    "impls.py": src('''
        from base import Model


        class Double(Model):
            def predict(self, x):
                return x * 2


        class Triple(Model):
            def predict(self, x):
                return x * 3
    '''),
    "pipe.py": src('''
        import flowyml as fm
        import impls  # noqa: F401  (defines the subclasses)
        from base import Model


        @fm.step(outputs="y")
        def f(kind: str = "Double", n: int = 4):
            cls = next(c for c in Model.__subclasses__() if c.__name__ == kind)
            return [cls().predict(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("impls.py", "class Double(Model):\n", "class Double(Model):  # found by name\n"),
         note="comment in a subclass"),
    change(E("impls.py", "return x * 2", "return x * 2 + 1"),
           note="the subclass found through Model.__subclasses__(), in a module the step "
                "never names"),
    change(E("impls.py", "return x * 3", "return x * 3 + 1"),
           note="another subclass (any of them may be the one found)"),
))

add(idiom("unseeable_computed_import", {
    "plugins/__init__.py": "",
    "plugins/double.py": src('''
        def apply(x):
            return x * 2
    '''),
    "plugins/triple.py": src('''
        def apply(x):
            return x * 3
    '''),
    "pipe.py": src('''
        import importlib

        import flowyml as fm


        @fm.step(outputs="y")
        def f(kind: str = "double", n: int = 4):
            plugin = importlib.import_module("plugins." + kind)
            return [plugin.apply(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("plugins/double.py", "def apply(x):\n", "def apply(x):  # found by name\n"),
         note="comment in the module imported by a computed name"),
    change(E("plugins/double.py", "return x * 2", "return x * 2 + 1"),
           note="the module imported by a computed name (not imported at build)"),
    change(E("plugins/triple.py", "return x * 3", "return x * 3 + 1"),
           note="another module of the project (an edit anywhere re-executes)"),
    warns_at_build=("import_module",),
))

# ------------------------------------------------------- found by session 19's hunt

add(idiom("attrdict_config", {"pipe.py": src('''
    import flowyml as fm


    class AttrDict(dict):
        __getattr__ = dict.__getitem__  # KeyError, not AttributeError, for a missing name
        __setattr__ = dict.__setitem__


    class Doubled:
        def __init__(self):
            self._d = {"lr": 0.5}

        def __getattr__(self, name):
            return self._d[name] * 2


    CFG = AttrDict(lr=0.1, depth=3)
    SCALED = Doubled()


    @fm.step(outputs="y")
    def f():
        return CFG.lr * CFG.depth + SCALED.lr


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "CFG = AttrDict(lr=0.1, depth=3)", "CFG = AttrDict(\n    lr=0.1,\n    depth=3,\n)"),
         note="the config reformatted"),
    change(E("pipe.py", "lr=0.1", "lr=0.2"), note="a value of the AttrDict"),
    change(E("pipe.py", "return self._d[name] * 2", "return self._d[name] * 3"),
           note="the __getattr__ of an object read as a global"),
))

add(idiom("bound_builtin_method", {"pipe.py": src('''
    import re

    import flowyml as fm

    FMT = "{:.2f}".format
    WEIGHT = {"a": 2.0, "b": 1.0}.get
    DIGITS = re.compile(r"[0-9]+").sub
    FORMATTERS = {"price": "{:.1f}".format}


    @fm.step(outputs="y")
    def f():
        return [FMT(1.23456), WEIGHT("b"), DIGITS("#", "a12b3"), FORMATTERS["price"](2.25)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", 'FMT = "{:.2f}".format', 'FMT = "{:.2f}".format  # two decimals'),
         note="comment"),
    change(E("pipe.py", '"{:.2f}"', '"{:.3f}"'), note="the str a global's method is bound to"),
    change(E("pipe.py", '"b": 1.0', '"b": 5.0'), note="the dict whose get a global is"),
    change(E("pipe.py", 'r"[0-9]+"', 'r"[0-9]"'), note="the pattern whose sub a global is"),
    change(E("pipe.py", '"{:.1f}"', '"{:.4f}"'), note="a bound method inside a dict constant"),
))

add(idiom("settings_hold_user_function", {
    "fmt.py": src('''
        def money(v):
            return f"${v:.2f}"
    '''),
    "pipe.py": src('''
        import numpy as np
        import pandas as pd

        import flowyml as fm
        from fmt import money

        pd.set_option("display.float_format", money)
        np.set_printoptions(formatter={"float": "{:0.2f}".format})


        @fm.step(outputs="y")
        def f():
            return pd.DataFrame({"x": [1.23456, 2.5]}).to_string() + str(np.array([1 / 3]))


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("fmt.py", "def money(v):\n", "def money(v):  # the display format\n"),
         note="comment in the function set as a pandas option"),
    change(E("fmt.py", ":.2f", ":.4f"), note="the user function set as a pandas option"),
    change(E("pipe.py", "{:0.2f}", "{:0.3f}"), note="a str's format set as a numpy formatter"),
    requires=("pandas",),
))

add(idiom("import_module_literal", {
    "helpers.py": src('''
        def scale(x):
            return x * 2
    '''),
    "params.py": "K = 3\n",
    "pipe.py": src('''
        import runpy
        from importlib import import_module

        import flowyml as fm


        @fm.step(outputs="y")
        def f():
            return import_module("helpers").scale(5)


        @fm.step(outputs="z")
        def g():
            return runpy.run_path("params.py")["K"]


        pipe = fm.Pipeline("ns", [f, g])
    ''')},
    unchanged(),
    same(E("helpers.py", "def scale(x):\n", "def scale(x):  # by literal name\n"),
         note="comment in the module imported by a literal name"),
    change(E("helpers.py", "return x * 2", "return x * 3"),
           note="the module imported by import_module with a literal name"),
    change(E("params.py", "K = 3", "K = 4"), expect={"f": "cached", "g": "executed"},
           note="the file runpy.run_path runs (every project file counts for g)"),
    steps=("f", "g"),
    check={"y": "f()", "z": "g()"},
    warns_at_build=("runpy",),
))

add(idiom("pandas_query_reads_a_name", {
    "params.py": "K = 2\n",
    "pipe.py": src('''
        import pandas as pd

        import flowyml as fm
        from params import K

        THRESH = 2


        @fm.step(outputs="y")
        def f():
            df = pd.DataFrame({"x": [1, 2, 3, 4]})
            return df.query("x > @THRESH")["x"].tolist() + df.eval(expr="x * @K").tolist()


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("pipe.py", "THRESH = 2", "THRESH = 2  # rows kept above it"), note="comment"),
    change(E("pipe.py", "THRESH = 2", "THRESH = 3"), note="a global named by @ in query()"),
    change(E("params.py", "K = 2", "K = 5"), note="an imported constant named by @ in eval()"),
    requires=("pandas",),
))

add(idiom("string_annotation_forward_ref", {"pipe.py": src('''
    from pydantic import BaseModel, field_validator

    import flowyml as fm

    Num = int


    class Outer(BaseModel):
        inner: "Inner"
        x: "Num"


    class Inner(BaseModel):
        v: int

        @field_validator("v")
        @classmethod
        def dbl(cls, v):
            return v * 2


    Outer.model_rebuild()


    @fm.step(outputs="y")
    def f():
        o = Outer(inner={"v": 3}, x="4")
        return [o.inner.v, repr(o.x)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "    v: int\n", "    v: int  # validated below\n"), note="comment"),
    change(E("pipe.py", "return v * 2", "return v * 5"),
           note="a validator of a model named only in a string annotation"),
    change(E("pipe.py", "Num = int", "Num = float"),
           note="an alias named only in a string annotation"),
    requires=("pydantic",),
))

add(idiom("state_passed_through_a_global", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    class State:
        k = 0


    STATE = State()
    STATS = np.zeros(2)
    LEVEL = 0


    @fm.step(outputs="n")
    def fit(k: int = 3):
        global LEVEL
        STATE.k = k
        STATS[:] = k
        LEVEL = k
        return "fitted"


    @fm.step(outputs="y")
    def f(n):
        return [STATE.k, float(STATS[0]), LEVEL]


    @fm.step(outputs="z")
    def other(k: int = 3):
        return k * 2


    pipe = fm.Pipeline("ns", [fit, f, other])
''')},
    Phase("unchanged", (), "a fresh process: the two steps coupled by globals re-execute",
          {"fit": "executed", "f": "executed", "other": "cached"}),
    Phase("nonsemantic", (E("pipe.py", "    k = 0\n", "    k = 0  # set by fit\n"),),
          "comment: the coupled steps re-execute anyway, the other is reused",
          {"fit": "executed", "f": "executed", "other": "cached"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           expect={"fit": "executed", "f": "executed", "other": "cached"},
           note="what fit writes into the globals f reads (f's inputs are unchanged)"),
    steps=("fit", "f", "other"),
    check={"y": "[fit(), f('fitted')][1]", "z": "other()"},
    warns_at_build=("STATE",),
))

add(idiom("scipy_ufunc_without_a_module", {"pipe.py": src('''
    from scipy.special import expit, logit

    import flowyml as fm

    SIG = expit
    FUNCS = {"squash": expit}


    @fm.step(outputs="y")
    def f():
        return [round(float(SIG(0.25)), 6), round(float(FUNCS["squash"](0.5)), 6)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged("scipy's ufuncs have no __module__: still known by name, no warning, reused"),
    same(E("pipe.py", "SIG = expit", "SIG = expit  # the logistic"), note="comment"),
    change(E("pipe.py", "SIG = expit", "SIG = logit"), note="the ufunc a global is bound to"),
    change(E("pipe.py", '{"squash": expit}', '{"squash": logit}'),
           note="the ufunc a dict constant holds"),
    no_fingerprint_warning=True,
    requires=("scipy",),
))

add(idiom("class_made_by_a_call", {"pipe.py": src('''
    import types
    from dataclasses import make_dataclass

    import pydantic

    import flowyml as fm

    Cfg = make_dataclass("Cfg", [("a", int, 1), ("b", int, 2)])
    NS = types.new_class("NS", (), {}, lambda ns: ns.update(a=1, b=2))
    M = pydantic.create_model("M", a=(int, 1), b=(int, 2))


    @fm.step(outputs="y")
    def f():
        c = Cfg()
        return [c.a + c.b, NS.a + NS.b, M().a + M().b]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", 'Cfg = make_dataclass("Cfg", [("a", int, 1), ("b", int, 2)])',
           'Cfg = make_dataclass(\n    "Cfg",\n    [("a", int, 1), ("b", int, 2)],  # two fields\n)'),
         note="the factory call reformatted, with a comment"),
    change(E("pipe.py", '("b", int, 2)', '("b", int, 9)'),
           note="a field default of make_dataclass (its __module__ says 'types' on 3.11)"),
    change(E("pipe.py", "ns.update(a=1, b=2)", "ns.update(a=1, b=7)"),
           note="an attribute types.new_class puts in the namespace"),
    change(E("pipe.py", "b=(int, 2)", "b=(int, 5)"), note="a field default of create_model"),
    requires=("pydantic",),
))

add(idiom("library_registry_holds_own_function", {"pipe.py": src('''
    import yaml

    import flowyml as fm


    def env_tag(loader, node):
        return "ENV:" + loader.construct_scalar(node)


    yaml.SafeLoader.add_constructor("!env", env_tag)


    @fm.step(outputs="y")
    def f():
        return yaml.load("a: !env HOME", Loader=yaml.SafeLoader)["a"]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "def env_tag(loader, node):\n",
           'def env_tag(loader, node):\n    """The !env tag."""\n'), note="docstring"),
    change(E("pipe.py", '"ENV:"', '"E:"'),
           note="a function of yours a library class keeps in a registry dict "
                "(yaml.SafeLoader.add_constructor), the class named by the step"),
    requires=("yaml",),
))

add(idiom("state_through_a_global_of_another_module", {
    "w.py": src('''
        import flowyml as fm

        X = 0


        def get_x():
            return X


        @fm.step(outputs="a")
        def writer(n: int = 1):
            global X
            X = 5
            return n
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from w import get_x, writer

        LIMIT = 5
        LOG = []
        _CACHE = {}


        def log(msg):
            LOG.append(msg)


        def lookup(k):
            if k not in _CACHE:
                _CACHE[k] = k * 2
            return _CACHE[k]


        @fm.step(outputs="y")
        def f(a):
            return get_x() * 10 + a


        @fm.step(outputs="b")
        def fa(n: int = 3):
            global LIMIT  # read only: rebinds nothing
            LOG.append("fa")
            _CACHE[n] = n * 2
            return min(n, LIMIT)


        @fm.step(outputs="c")
        def g(b):
            log("g")
            return b + LIMIT + lookup(b)


        pipe = fm.Pipeline("ns", [writer, f, fa, g])
    ''')},
    Phase("unchanged", (), "writer and f are coupled through w.X; fa and g only log and memoize",
          {"writer": "executed", "f": "executed", "fa": "cached", "g": "cached"}),
    Phase("nonsemantic", (E("pipe.py", "LIMIT = 5", "LIMIT = 5  # the cap"),),
          "comment", {"writer": "executed", "f": "executed", "fa": "cached", "g": "cached"}),
    change(E("w.py", "X = 5", "X = 6"), note="what writer rebinds in w, read by f through a helper",
           expect={"writer": "executed", "f": "executed", "fa": "cached", "g": "cached"}),
    steps=("writer", "f", "fa", "g"),
    check={"y": "[writer(), f(1)][1]", "c": "g(fa())"},
    warns_at_build=("changes the global X",),
))

add(idiom("state_through_a_module_attribute", {
    "settings.py": "FACTOR = 1\n",
    "pipe.py": src('''
        import flowyml as fm
        import settings as cfg


        @fm.step(outputs="a")
        def writer(n: int = 1):
            cfg.FACTOR = 5
            return n


        @fm.step(outputs="y")
        def reader(a):
            import settings

            return settings.FACTOR * 10 + a


        @fm.step(outputs="z")
        def other(k: int = 2):
            return k


        pipe = fm.Pipeline("ns", [writer, reader, other])
    ''')},
    Phase("unchanged", (), "writer sets an attribute of a module reader reads: both re-execute",
          {"writer": "executed", "reader": "executed", "other": "cached"}),
    Phase("nonsemantic", (E("settings.py", "FACTOR = 1\n", "FACTOR = 1  # set by writer\n"),),
          "comment", {"writer": "executed", "reader": "executed", "other": "cached"}),
    change(E("pipe.py", "cfg.FACTOR = 5", "cfg.FACTOR = 6"),
           note="what writer sets in the settings module (imported under another name)",
           expect={"writer": "executed", "reader": "executed", "other": "cached"}),
    steps=("writer", "reader", "other"),
    check={"y": "[writer(), reader(1)][1]", "z": "other()"},
    warns_at_build=("cfg.FACTOR",),
))

add(idiom("state_through_a_class_attribute", {"pipe.py": src('''
    import flowyml as fm


    class Cfg:
        k = 0


    @fm.step(outputs="a")
    def writer(n: int = 1):
        Cfg.k = 5
        return n


    @fm.step(outputs="y")
    def reader(a):
        return Cfg.k * 10 + a


    pipe = fm.Pipeline("ns", [writer, reader])
''')},
    Phase("unchanged", (), "writer sets a class attribute reader reads: both re-execute",
          {"writer": "executed", "reader": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "    k = 0\n", "    k = 0  # set by writer\n"),),
          "comment", {"writer": "executed", "reader": "executed"}),
    change(E("pipe.py", "Cfg.k = 5", "Cfg.k = 6"), note="the class attribute writer sets"),
    steps=("writer", "reader"),
    check={"y": "[writer(), reader(1)][1]"},
    warns_at_build=("Cfg.k",),
))

add(idiom("state_through_nested_writes", {"pipe.py": src('''
    import numpy as np

    import flowyml as fm


    class S:
        pass


    STATE = S()
    STATE.sub = S()
    STATE.sub.k = 0
    CFG = {"m": {"k": 0}}
    BUF = np.zeros(2)
    OBJ = S()
    OBJ.k = 0


    @fm.step(outputs="a")
    def writer(n: int = 5):
        STATE.sub.k = n
        CFG["m"]["k"] = n
        np.add(np.zeros(2), n, out=BUF)
        setattr(OBJ, "k", n)
        return 1


    @fm.step(outputs="y")
    def reader(a):
        return [STATE.sub.k, CFG["m"]["k"], float(BUF[0]), OBJ.k]


    pipe = fm.Pipeline("ns", [writer, reader])
''')},
    Phase("unchanged", (), "writer changes globals reader reads, deep or by setattr/out=",
          {"writer": "executed", "reader": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "BUF = np.zeros(2)", "BUF = np.zeros(2)  # filled by writer"),),
          "comment", {"writer": "executed", "reader": "executed"}),
    change(E("pipe.py", "def writer(n: int = 5)", "def writer(n: int = 6)"),
           note="what writer puts in a nested attribute, a nested item, an out= array, by setattr"),
    steps=("writer", "reader"),
    check={"y": "[writer(), reader(1)][1]"},
    warns_at_build=("STATE",),
))

add(idiom("state_through_a_method_changing_its_object", {"pipe.py": src('''
    import flowyml as fm


    class Model:
        def __init__(self):
            self.w = 0

        def train(self, x):
            self.w = x * 2
            return self

        def predict(self, x):
            return self.w * x


    MODEL = Model()


    @fm.step(outputs="a")
    def fit(k: int = 3):
        MODEL.train(k)
        return "ok"


    @fm.step(outputs="y")
    def predict(a):
        return MODEL.predict(10)


    pipe = fm.Pipeline("ns", [fit, predict])
''')},
    Phase("unchanged", (), "fit trains a global model predict uses: both re-execute",
          {"fit": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "MODEL = Model()", "MODEL = Model()  # trained by fit"),),
          "comment", {"fit": "executed", "predict": "executed"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           note="what a method of yours (assigning to self) puts into a global object"),
    steps=("fit", "predict"),
    check={"y": "[fit(), predict('ok')][1]"},
    warns_at_build=("MODEL",),
))

add(idiom("state_through_a_singleton_a_classmethod_hands_out", {"pipe.py": src('''
    import flowyml as fm


    class Tracker:
        _instance = None

        def __init__(self):
            self.metrics = {}

        @classmethod
        def instance(cls):
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

        def log_metric(self, name, value):
            self.metrics[name] = value


    @fm.step(outputs="a")
    def fit(k: int = 3):
        Tracker.instance().log_metric("acc", k * 2)
        return "ok"


    @fm.step(outputs="y")
    def report(a):
        return Tracker.instance().metrics["acc"] * 10


    pipe = fm.Pipeline("ns", [fit, report])
''')},
    Phase("unchanged", (), "fit logs into the singleton report reads: both re-execute",
          {"fit": "executed", "report": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "_instance = None", "_instance = None  # made on first use"),),
          "comment", {"fit": "executed", "report": "executed"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           note="what a method of yours puts into the instance a classmethod makes on first use"),
    steps=("fit", "report"),
    check={"y": "[fit(), report('ok')][1]"},
    warns_at_build=("Tracker",),
))

add(idiom("state_through_an_object_a_global_holds", {"pipe.py": src('''
    import flowyml as fm


    class Model:
        def __init__(self):
            self.w = 0

        def train(self, x):
            self.w = x * 2


    class App:
        def __init__(self):
            self.model = Model()


    APP = App()


    def get_app():
        return APP


    @fm.step(outputs="a")
    def fit(k: int = 3):
        get_app().model.train(k)
        return "ok"


    @fm.step(outputs="y")
    def predict(a):
        return APP.model.w * 10


    pipe = fm.Pipeline("ns", [fit, predict])
''')},
    Phase("unchanged", (), "fit trains the model a global holds, predict reads it: both re-execute",
          {"fit": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "APP = App()", "APP = App()  # one for the process"),),
          "comment", {"fit": "executed", "predict": "executed"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           note="a method of an object held by what a getter returns"),
    steps=("fit", "predict"),
    check={"y": "[fit(), predict('ok')][1]"},
    warns_at_build=("APP",),
))

add(idiom("state_through_an_object_a_factory_makes_on_first_use", {"pipe.py": src('''
    import flowyml as fm


    class Tracker:
        def __init__(self):
            self.metrics = {}

        def log_metric(self, name, value):
            self.metrics[name] = value


    def make_tracker():
        return Tracker()


    _TRACKERS = {}


    def tracker(name):
        if name not in _TRACKERS:
            _TRACKERS[name] = make_tracker()
        return _TRACKERS[name]


    @fm.step(outputs="a")
    def fit(k: int = 3):
        tracker("main").log_metric("acc", k * 2)
        return "ok"


    @fm.step(outputs="y")
    def report(a):
        return tracker("main").metrics["acc"] * 10


    pipe = fm.Pipeline("ns", [fit, report])
''')},
    Phase("unchanged", (), "fit logs into a tracker a factory makes on first use, report reads "
          "it: both re-execute", {"fit": "executed", "report": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "_TRACKERS = {}", "_TRACKERS = {}  # by name"),),
          "comment", {"fit": "executed", "report": "executed"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           note="a method of an object a getter keeps, made by a factory function"),
    steps=("fit", "report"),
    check={"y": "[fit(), report('ok')][1]"},
    warns_at_build=("_TRACKERS",),
))

add(idiom("state_through_a_global_rebound_by_globals", {"pipe.py": src('''
    import flowyml as fm

    SCALE = 1


    def set_option(name, value):
        globals()[name] = value


    @fm.step(outputs="a")
    def configure(k: int = 3):
        set_option("SCALE", k)
        return "ok"


    @fm.step(outputs="y")
    def scaled(a):
        return SCALE * 10


    pipe = fm.Pipeline("ns", [configure, scaled])
''')},
    Phase("unchanged", (), "configure rebinds a global through globals(), scaled reads it: both "
          "re-execute", {"configure": "executed", "scaled": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "SCALE = 1", "SCALE = 1  # set by configure"),),
          "comment", {"configure": "executed", "scaled": "executed"}),
    change(E("pipe.py", "def configure(k: int = 3)", "def configure(k: int = 4)"),
           note="a global rebound by a helper through globals(), named by a string"),
    steps=("configure", "scaled"),
    check={"y": "[configure(), scaled('ok')][1]"},
    warns_at_build=("scaled",),
))

add(idiom("state_through_a_method_under_a_decorator_without_wraps", {"pipe.py": src('''
    import time

    import flowyml as fm


    def timed(f):  # no functools.wraps: the wrapper hands its arguments on
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                wrapper.spent = time.perf_counter() - start
        return wrapper


    class Tracker:
        def __init__(self):
            self.metrics = {}

        @timed
        def log_metric(self, name, value):
            self.metrics[name] = value


    TRACKER = Tracker()


    @fm.step(outputs="a")
    def fit(k: int = 3):
        TRACKER.log_metric("acc", k * 2)
        return "ok"


    @fm.step(outputs="y")
    def report(a):
        return TRACKER.metrics["acc"] * 10


    pipe = fm.Pipeline("ns", [fit, report])
''')},
    Phase("unchanged", (), "fit logs through a method under a decorator without wraps, report "
          "reads it: both re-execute", {"fit": "executed", "report": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "TRACKER = Tracker()", "TRACKER = Tracker()  # shared"),),
          "comment", {"fit": "executed", "report": "executed"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           note="a method under a decorator of the user's without functools.wraps"),
    steps=("fit", "report"),
    check={"y": "[fit(), report('ok')][1]"},
    warns_at_build=("TRACKER",),
))

add(idiom("state_through_an_object_another_global_holds", {"pipe.py": src('''
    import flowyml as fm


    class Model:
        def __init__(self):
            self.w = 0

        def train(self, k):
            self.w = k


    class Trainer:
        def __init__(self, model):
            self.model = model

        def fit(self, k):
            self.model.train(k)


    class App:
        def __init__(self):
            self.model = MODEL

        def get_model(self):
            return self.model


    MODEL = Model()
    TRAINER = Trainer(MODEL)
    APP = App()


    def get_app():
        return APP


    @fm.step(outputs="a")
    def fit(k: int = 3):
        TRAINER.fit(k)
        return "ok"


    @fm.step(outputs="b")
    def tune(a, j: int = 1):
        get_app().get_model().w += j
        return "ok"


    @fm.step(outputs="y")
    def predict(b):
        return MODEL.w * 10


    pipe = fm.Pipeline("ns", [fit, tune, predict])
''')},
    Phase("unchanged", (), "fit trains a model through the trainer holding it, tune through "
          "what a getter's method hands out, predict reads it by its own name: all re-execute",
          {"fit": "executed", "tune": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "MODEL = Model()", "MODEL = Model()  # the one model"),),
          "comment", {"fit": "executed", "tune": "executed", "predict": "executed"}),
    change(E("pipe.py", "def fit(k: int = 3)", "def fit(k: int = 4)"),
           note="a method of an object changing what it holds, another global's value"),
    change(E("pipe.py", "def tune(a, j: int = 1)", "def tune(a, j: int = 2)"),
           note="what a method of a getter's result hands out, changed"),
    steps=("fit", "tune", "predict"),
    check={"y": "[fit(), tune('ok'), predict('ok')][2]"},
    warns_at_build=("TRAINER.model",),
))

add(idiom("state_through_the_items_an_object_holds", {"pipe.py": src('''
    import flowyml as fm


    class Layer:
        def __init__(self):
            self.scale = 1


    class Net:
        def __init__(self, layers):
            self.layers = layers


    class Tuner:
        def __init__(self, net):
            self.net = net

        def tune(self, j):
            first = self.net.layers[0]
            setattr(first, "scale", first.scale + j)


    LAYERS = [Layer(), Layer()]
    NET = Net(LAYERS)
    TUNER = Tuner(NET)
    FIRST, LAST = LAYERS


    @fm.step(outputs="a")
    def scale(k: int = 3):
        for layer in NET.layers:
            layer.scale = k
        return "ok"


    @fm.step(outputs="b")
    def tune(a, j: int = 1):
        TUNER.tune(j)
        return "ok"


    @fm.step(outputs="y")
    def predict(b):
        return FIRST.scale * 10 + LAST.scale


    pipe = fm.Pipeline("ns", [scale, tune, predict])
''')},
    Phase("unchanged", (), "scale sets an attribute of each layer a global holds, tune one "
          "layer's through a method's local, predict reads the layers by other names: all "
          "re-execute", {"scale": "executed", "tune": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "FIRST, LAST = LAYERS", "FIRST, LAST = LAYERS  # both"),),
          "comment", {"scale": "executed", "tune": "executed", "predict": "executed"}),
    change(E("pipe.py", "def scale(k: int = 3)", "def scale(k: int = 4)"),
           note="an attribute of each item of what a global holds, set in a loop"),
    change(E("pipe.py", "def tune(a, j: int = 1)", "def tune(a, j: int = 2)"),
           note="an attribute set by setattr on a local standing for an item, in a method"),
    steps=("scale", "tune", "predict"),
    check={"y": "[scale(), tune('ok'), predict('ok')][2]"},
    warns_at_build=("TUNER.net.layers",),
))

add(idiom("state_through_a_methods_result_and_a_collections_base", {"pipe.py": src('''
    import collections

    import flowyml as fm


    class Model:
        def __init__(self):
            self.bias = 0


    class Registry:
        def __init__(self, models):
            self.models = models

        def get_model(self):
            return self.models[0]

        def all(self):
            return list(self.models)


    class Store(collections.UserDict):
        def put(self, k, v):
            super().__setitem__(k, v)


    MODEL = Model()
    REGISTRY = Registry([MODEL])
    STORE = Store(k=0)


    @fm.step(outputs="a")
    def calibrate(k: int = 3):
        REGISTRY.get_model().bias = k
        return "ok"


    @fm.step(outputs="b")
    def shift(a, j: int = 1):
        for m in REGISTRY.all():
            m.bias += j
        return "ok"


    @fm.step(outputs="c")
    def remember(b, s: int = 5):
        STORE.put("k", s)
        return "ok"


    @fm.step(outputs="y")
    def predict(c):
        return MODEL.bias * 100 + STORE["k"]


    pipe = fm.Pipeline("ns", [calibrate, shift, remember, predict])
''')},
    Phase("unchanged", (), "calibrate sets an attribute of what a method hands out, shift "
          "of each item of a new list a method makes, remember puts into a UserDict through "
          "super(), predict reads them by other names: all re-execute",
          {"calibrate": "executed", "shift": "executed", "remember": "executed",
           "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "STORE = Store(k=0)", "STORE = Store(k=0)  # kept"),),
          "comment", {"calibrate": "executed", "shift": "executed", "remember": "executed",
                      "predict": "executed"}),
    change(E("pipe.py", "def calibrate(k: int = 3)", "def calibrate(k: int = 4)"),
           note="an attribute of the object a method of a global hands out"),
    change(E("pipe.py", "def shift(a, j: int = 1)", "def shift(a, j: int = 2)"),
           note="an attribute of each item of a new list of shared objects"),
    change(E("pipe.py", "def remember(b, s: int = 5)", "def remember(b, s: int = 6)"),
           note="an item put by a collections.UserDict base's method through super()"),
    steps=("calibrate", "shift", "remember", "predict"),
    check={"y": "[calibrate(), shift('ok'), remember('ok'), predict('ok')][3]"},
    warns_at_build=("REGISTRY.get_model()", "STORE"),
))

add(idiom("state_through_unpacked_zipped_and_copied_items", {"pipe.py": src('''
    import flowyml as fm


    class Layer:
        def __init__(self):
            self.scale = 1


    class Net:
        def __init__(self, layers):
            self.layers = layers


    LAYERS = [Layer(), Layer()]
    NET = Net(LAYERS)
    HEAD, TAIL = LAYERS


    @fm.step(outputs="a")
    def warm(k: int = 3):
        first, *rest = NET.layers
        first.scale = k
        return "ok"


    @fm.step(outputs="b")
    def decay(a, j: int = 1):
        for layer, f in zip(NET.layers, [j, j]):
            layer.scale += f
        return "ok"


    @fm.step(outputs="c")
    def stretch(b, s: int = 2):
        ls = list(NET.layers)
        ls[-1].scale *= s
        return "ok"


    @fm.step(outputs="y")
    def predict(c):
        return HEAD.scale * 100 + TAIL.scale


    pipe = fm.Pipeline("ns", [warm, decay, stretch, predict])
''')},
    Phase("unchanged", (), "warm sets an attribute of an item it unpacks, decay of each "
          "item it zips, stretch of an item of a shallow copy, predict reads the items by "
          "other names: all re-execute",
          {"warm": "executed", "decay": "executed", "stretch": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "HEAD, TAIL = LAYERS", "HEAD, TAIL = LAYERS  # both"),),
          "comment", {"warm": "executed", "decay": "executed", "stretch": "executed",
                      "predict": "executed"}),
    change(E("pipe.py", "def warm(k: int = 3)", "def warm(k: int = 4)"),
           note="an attribute of an item bound by star unpacking"),
    change(E("pipe.py", "def decay(a, j: int = 1)", "def decay(a, j: int = 2)"),
           note="an attribute of each item a zip loop binds"),
    change(E("pipe.py", "def stretch(b, s: int = 2)", "def stretch(b, s: int = 3)"),
           note="an attribute of an item of a shallow copy (list(...)), the same object"),
    steps=("warm", "decay", "stretch", "predict"),
    check={"y": "[warm(), decay('ok'), stretch('ok'), predict('ok')][3]"},
    warns_at_build=("NET.layers",),
))

add(idiom("state_through_slices_generators_and_helpers", {"pipe.py": src('''
    import flowyml as fm


    class Layer:
        def __init__(self):
            self.scale = 1


    class Net:
        def __init__(self, layers):
            self.layers = layers
            self.named = dict(zip(["head", "mid", "tail"], layers))

        def each(self):
            for layer in self.layers:
                yield layer


    LAYERS = [Layer(), Layer(), Layer()]
    NET = Net(LAYERS)
    HEAD, MID, TAIL = LAYERS


    def shrink(layer, f):
        layer.scale -= f


    @fm.step(outputs="a")
    def freeze(k: int = 3):
        for layer in NET.layers[:-1]:
            layer.scale = k
        return "ok"


    @fm.step(outputs="b")
    def decay(a, j: int = 1):
        for layer in NET.each():
            layer.scale += j
        return "ok"


    @fm.step(outputs="c")
    def tune(b, s: int = 2):
        for i, (name, layer) in enumerate(NET.named.items()):
            if i == 1:
                layer.scale *= s
        return "ok"


    @fm.step(outputs="d")
    def trim(c, f: int = 1):
        shrink(NET.layers[2], f)
        return "ok"


    @fm.step(outputs="y")
    def predict(d):
        return HEAD.scale * 10000 + MID.scale * 100 + TAIL.scale


    pipe = fm.Pipeline("ns", [freeze, decay, tune, trim, predict])
''')},
    Phase("unchanged", (), "freeze sets an attribute of each item of a slice, decay of each "
          "item a method yields, tune of an item a nested loop target binds, trim has a "
          "helper change an item it is given; predict reads the items by other names: all "
          "re-execute",
          {"freeze": "executed", "decay": "executed", "tune": "executed", "trim": "executed",
           "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "HEAD, MID, TAIL = LAYERS",
                            "HEAD, MID, TAIL = LAYERS  # by name"),),
          "comment", {"freeze": "executed", "decay": "executed", "tune": "executed",
                      "trim": "executed", "predict": "executed"}),
    change(E("pipe.py", "def freeze(k: int = 3)", "def freeze(k: int = 4)"),
           note="an attribute of each item of a slice (the same objects)"),
    change(E("pipe.py", "def decay(a, j: int = 1)", "def decay(a, j: int = 2)"),
           note="an attribute of each item a generator method yields"),
    change(E("pipe.py", "def tune(b, s: int = 2)", "def tune(b, s: int = 3)"),
           note="an attribute of an item a nested loop target binds"),
    change(E("pipe.py", "def trim(c, f: int = 1)", "def trim(c, f: int = 2)"),
           note="an attribute a helper sets on an item it is given"),
    steps=("freeze", "decay", "tune", "trim", "predict"),
    check={"y": "[freeze(), decay('ok'), tune('ok'), trim('ok'), predict('ok')][4]"},
    warns_at_build=("NET.layers",),
))

add(idiom("state_through_a_bound_method_in_a_dispatch_table", {"pipe.py": src('''
    import functools

    import flowyml as fm


    class Metrics:
        def __init__(self):
            self.values = []

        def record(self, v):
            self.values.append(v)


    def record_into(metrics, v):
        metrics.values.append(v)


    METRICS = Metrics()
    ON_EVENT = {"train": METRICS.record}
    RECORD = functools.partial(record_into, METRICS)


    @fm.step(outputs="a")
    def train(k: int = 3):
        ON_EVENT["train"](k)
        return "ok"


    @fm.step(outputs="b")
    def tune(a, j: int = 1):
        RECORD(j * 100)
        return "ok"


    @fm.step(outputs="y")
    def report(b):
        return sum(METRICS.values) * 10


    pipe = fm.Pipeline("ns", [train, tune, report])
''')},
    Phase("unchanged", (), "train records through a bound method held in a dict, tune "
          "through a partial given the object; report reads what the object holds: all "
          "re-execute",
          {"train": "executed", "tune": "executed", "report": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "METRICS = Metrics()", "METRICS = Metrics()  # one"),),
          "comment", {"train": "executed", "tune": "executed", "report": "executed"}),
    change(E("pipe.py", "def train(k: int = 3)", "def train(k: int = 4)"),
           note="what a bound method held in a dispatch table puts into its object"),
    change(E("pipe.py", "def tune(a, j: int = 1)", "def tune(a, j: int = 2)"),
           note="what a helper in a partial puts into the object the partial gives it"),
    steps=("train", "tune", "report"), check={"y": "[train(), tune('ok'), report('ok')][2]"},
    warns_at_build=("METRICS",),
))

add(idiom("state_through_items_picked_by_max_and_filter", {"pipe.py": src('''
    import flowyml as fm


    class Model:
        def __init__(self, score):
            self.score = score
            self.w = 0


    MODELS = [Model(1), Model(2), Model(3)]
    LOW, MID, TOP = MODELS


    @fm.step(outputs="a")
    def tune(k: int = 3):
        best = max(MODELS, key=lambda m: m.score)
        best.w = k
        return "ok"


    @fm.step(outputs="b")
    def boost(a, j: int = 1):
        for m in filter(lambda m: m.score < 3, MODELS):
            m.w += j
        return "ok"


    @fm.step(outputs="y")
    def predict(b):
        return TOP.w * 100 + MID.w * 10 + LOW.w


    pipe = fm.Pipeline("ns", [tune, boost, predict])
''')},
    Phase("unchanged", (), "tune sets an attribute of the item max picks, boost of each item "
          "filter keeps; predict reads them by other names: all re-execute",
          {"tune": "executed", "boost": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "LOW, MID, TOP = MODELS",
                            "LOW, MID, TOP = MODELS  # by score"),),
          "comment", {"tune": "executed", "boost": "executed", "predict": "executed"}),
    change(E("pipe.py", "def tune(k: int = 3)", "def tune(k: int = 4)"),
           note="an attribute of the item max(...) picks"),
    change(E("pipe.py", "def boost(a, j: int = 1)", "def boost(a, j: int = 2)"),
           note="an attribute of each item a filter(...) loop keeps"),
    steps=("tune", "boost", "predict"),
    check={"y": "[tune(), boost('ok'), predict('ok')][2]"},
    warns_at_build=("MODELS",),
))

add(idiom("state_changed_by_an_operator_in_a_helper_and_through_copies_of_a_list", {
    "pipe.py": src('''
    import numpy as np

    import flowyml as fm

    FEATURES = np.arange(1.0, 7.0)
    ROWS = [{"id": "a", "w": 3}, {"id": "b", "w": 1}]
    BY_ID = [(r["id"], r) for r in ROWS]


    def scale(x, k):
        x *= k  # in place


    @fm.step(outputs="a")
    def prepare(k: int = 2):
        scale(FEATURES, k)
        return "ok"


    @fm.step(outputs="b")
    def pick(a, j: int = 5):
        sorted(ROWS, key=lambda r: r["w"])[0]["w"] = j
        return "ok"


    @fm.step(outputs="c")
    def tag(b, t: int = 1):
        for _, row in BY_ID:
            row["t"] = t
        return "ok"


    @fm.step(outputs="y")
    def report(c):
        return float(FEATURES.sum()) + sum(r["w"] * 100 + r.get("t", 0) for r in ROWS)


    pipe = fm.Pipeline("ns", [prepare, pick, tag, report])
''')},
    Phase("unchanged", (), "prepare has a helper scale the array it is given by ``*=``, "
          "pick changes the first item of a sorted copy of the list, tag what the tuples "
          "of another list hold; report reads the array and the list: all re-execute",
          {"prepare": "executed", "pick": "executed", "tag": "executed",
           "report": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# in place", "# in place, no copy"),), "comment",
          {"prepare": "executed", "pick": "executed", "tag": "executed",
           "report": "executed"}),
    change(E("pipe.py", "def prepare(k: int = 2)", "def prepare(k: int = 3)"),
           note="what a helper's ``x *= k`` does to the array it is given (report was "
                "reused: stale)"),
    change(E("pipe.py", "def pick(a, j: int = 5)", "def pick(a, j: int = 7)"),
           note="an item of ``sorted(ROWS)``, one of the list's own (report was reused: "
                "stale)"),
    change(E("pipe.py", "def tag(b, t: int = 1)", "def tag(b, t: int = 2)"),
           note="a dict a tuple of another list holds, one of ROWS' (report was reused: "
                "stale)"),
    steps=("prepare", "pick", "tag", "report"),
    check={"y": "[prepare(), pick('ok'), tag('ok'), report('ok')][3]"},
    warns_at_build=("FEATURES", "ROWS"),
))

add(idiom("counter_and_tracker_objects_read_back_by_a_step", {"pipe.py": src('''
    import flowyml as fm


    class Ids:
        def __init__(self):
            self.last = 0

        def new_id(self):
            self.last += 1
            return f"run-{self.last}"


    class Tracker:
        def __init__(self):
            self.values = []

        def log(self, v):
            self.values.append(v)

        def mean(self):
            return sum(self.values) / len(self.values)


    IDS = Ids()
    METRICS = Tracker()


    @fm.step(outputs="a")
    def train(epochs: int = 2):
        for e in range(epochs):
            IDS.new_id()
            METRICS.log(e * 10)  # one per epoch
        return "ok"


    @fm.step(outputs="y")
    def report(a):
        METRICS.log(0)
        return f"{IDS.new_id()}:{METRICS.mean()}"


    pipe = fm.Pipeline("ns", [train, report])
''')},
    Phase("unchanged", (), "report logs to the tracker and reads its mean, and takes an "
          "id from the counter train bumped first: coupled, both re-execute",
          {"train": "executed", "report": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# one per epoch", "# per epoch"),), "comment",
          {"train": "executed", "report": "executed"}),
    change(E("pipe.py", "def train(epochs: int = 2):", "def train(epochs: int = 3):"),
           note="how many ids train takes and values it logs: report's id and mean move "
                "(it was reused: stale)",
           expect={"train": "executed", "report": "executed"}),
    steps=("train", "report"), check={"y": "[train(), report('ok')][1]"},
    warns_at_build=("IDS", "METRICS"),
))

add(idiom("tracker_held_by_a_trainer_and_a_list_given_to_a_helper", {"pipe.py": src('''
    import flowyml as fm


    class History:
        def __init__(self):
            self.losses = []

        def record(self, loss):
            self.losses.append(loss)

        def best(self):
            return min(self.losses)


    class Trainer:
        def __init__(self):
            self.history = History()

        def epoch(self, loss):
            self.history.record(loss)
            return self.history.best()


    TRAINER = Trainer()
    SEEN = []


    def remember(seen, item):
        seen.append(item)
        return len(seen)


    @fm.step(outputs="a")
    def warmup(loss: float = 0.5):
        TRAINER.epoch(loss)
        remember(SEEN, "warmup")
        return "ok"


    @fm.step(outputs="y")
    def train(a):
        best = TRAINER.epoch(0.9)  # after the warm-up's
        count = remember(SEEN, "train")
        return f"{best}:{count}"


    pipe = fm.Pipeline("ns", [warmup, train])
''')},
    Phase("unchanged", (), "train records a loss in the history its trainer holds and "
          "reads the best one, and counts what a helper appended to a list: warmup did "
          "both first, so they are coupled and re-execute",
          {"warmup": "executed", "train": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# after the warm-up's", "# after warm-up"),),
          "comment", {"warmup": "executed", "train": "executed"}),
    change(E("pipe.py", "def warmup(loss: float = 0.5):",
             "def warmup(loss: float = 0.25):"),
           note="the loss warmup records: train's best moves (it was reused: stale)",
           expect={"warmup": "executed", "train": "executed"}),
    steps=("warmup", "train"), check={"y": "[warmup(), train('ok')][1]"},
    warns_at_build=("TRAINER", "SEEN"),
))

add(idiom("changing_methods_held_by_a_closure_and_a_default", {"pipe.py": src('''
    import flowyml as fm

    LOG = []


    def make_recorder():
        push = LOG.append

        @fm.step(outputs="a")
        def record(n: int = 2):
            push(n)
            return "ok"
        return record


    record = make_recorder()


    @fm.step(outputs="b")
    def note(a, add=LOG.append):
        add(10)  # a note of its own
        return "ok"


    @fm.step(outputs="y")
    def total(b):
        return sum(LOG)


    pipe = fm.Pipeline("ns", [record, note, total])
''')},
    Phase("unchanged", (), "record appends through the bound method its factory closed "
          "over, note through a default's, and total sums the list: coupled, all "
          "re-execute", {"record": "executed", "note": "executed", "total": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# a note of its own", "# its own note"),),
          "comment", {"record": "executed", "note": "executed", "total": "executed"}),
    change(E("pipe.py", "def record(n: int = 2):", "def record(n: int = 3):"),
           note="what record appends: total's sum moves (it was reused: stale)",
           expect={"record": "executed", "note": "executed", "total": "executed"}),
    steps=("record", "note", "total"),
    check={"y": "[record(), note('ok'), total('ok')][2]"},
    warns_at_build=("LOG",),
))

add(idiom("class_counter_and_class_list_bumped_by_two_steps", {"pipe.py": src('''
    import flowyml as fm


    class Run:
        count = 0

        @classmethod
        def next_id(cls):
            cls.count += 1
            return cls.count


    class Stats:
        seen = []


    @fm.step(outputs="a")
    def first(k: int = 1):
        Run.next_id()
        Stats.seen.append(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        made = Run.next_id()  # after first's
        Stats.seen.append(10)
        return f"{made}:{sum(Stats.seen)}"


    pipe = fm.Pipeline("ns", [first, second])
''')},
    Phase("unchanged", (), "second takes the next id from a class counter a classmethod "
          "bumps and sums a list a class holds: first did both before it, so they are "
          "coupled and re-execute", {"first": "executed", "second": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# after first's", "# after first"),),
          "comment", {"first": "executed", "second": "executed"}),
    change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 2):"),
           note="what first appends: second's sum moves (it was reused: stale)",
           expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
    warns_at_build=("Run", "Stats.seen"),
))

add(idiom("closure_counter_and_callable_counter_called_by_two_steps", {"pipe.py": src('''
    import flowyml as fm


    def make_counter():
        n = 0

        def inc():
            nonlocal n
            n += 1
            return n
        return inc


    class Ticket:
        def __init__(self):
            self.last = 0

        def __call__(self):
            self.last += 1
            return self.last


    NEXT = make_counter()
    TICKET = Ticket()


    @fm.step(outputs="a")
    def first(k: int = 1):
        for _ in range(k):
            NEXT()
            TICKET()
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        made = NEXT()  # after first's
        return f"{made}:{TICKET()}"


    pipe = fm.Pipeline("ns", [first, second])
''')},
    Phase("unchanged", (), "second takes the next number from a closure's counter "
          "(nonlocal n; n += 1) and from an object's __call__: first called both before "
          "it, so they are coupled and re-execute", {"first": "executed", "second": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# after first's", "# after first"),),
          "comment", {"first": "executed", "second": "executed"}),
    change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 2):"),
           note="how often first calls them: second's numbers move (it was reused: stale)",
           expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
    warns_at_build=("the closure variable make_counter.<locals>.n", "TICKET"),
))

add(idiom("globals_changed_through_a_loop_over_them_and_a_sorted_copy", {"pipe.py": src('''
    import flowyml as fm


    class Model:
        def __init__(self, w):
            self.w = w

        def train(self, v):
            self.w = v


    TRAIN, TEST = [1.0, 2.0], [3.0]
    MODELS = {"a": Model(0), "b": Model(100)}


    @fm.step(outputs="a")
    def first(k: int = 1):
        for rows in (TRAIN, TEST):
            rows.append(float(k))
        ms = sorted(MODELS.values(), key=lambda m: m.w)
        ms[0].train(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        total = sum(TRAIN)  # what first appended
        return f"{total}:{MODELS['a'].w}"


    pipe = fm.Pipeline("ns", [first, second])
''')},
    Phase("unchanged", (), "first appends to two global lists through a loop over them and "
          "trains a model through a sorted copy of a dict's values; second reads both: "
          "coupled, both re-execute", {"first": "executed", "second": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# what first appended", "# what first added"),),
          "comment", {"first": "executed", "second": "executed"}),
    change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 2):"),
           note="what first appends and trains with: second's sum and weight move (it was "
                "reused: stale)",
           expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
    warns_at_build=("TRAIN", "MODELS"),
))

add(idiom("tracker_and_counter_reached_through_getters_by_two_steps", {"pipe.py": src('''
    import flowyml as fm


    class Tracker:
        def __init__(self):
            self.values = []

        def log(self, v):
            self.values.append(v)

        def total(self):
            return sum(self.values)


    class Visits:
        count = 0

        def bump(self):
            type(self).count += 1
            return type(self).count


    _TRACKER, _VISITS = Tracker(), Visits()


    def get_tracker():
        return _TRACKER


    def get_visits():
        return _VISITS


    @fm.step(outputs="a")
    def first(k: int = 1):
        get_tracker().log(k)
        get_visits().bump()
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        get_tracker().log(10)  # after first's
        return f"{get_tracker().total()}:{get_visits().bump()}"


    pipe = fm.Pipeline("ns", [first, second])
''')},
    Phase("unchanged", (), "second logs to a tracker a getter hands out and sums it, and "
          "bumps a class counter through type(self): first did both before it, so they "
          "are coupled and re-execute", {"first": "executed", "second": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# after first's", "# after first"),),
          "comment", {"first": "executed", "second": "executed"}),
    change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 2):"),
           note="what first logs: second's total moves (it was reused: stale)",
           expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
    warns_at_build=("_TRACKER", "_VISITS"),
))

add(idiom("log_a_getter_hands_out_read_by_its_attribute_after_a_call", {"pipe.py": src('''
    import flowyml as fm


    class Tracker:
        def __init__(self):
            self.values = []

        def log(self, v):
            self.values.append(v)


    _TRACKER = Tracker()


    def get_tracker():
        return _TRACKER


    @fm.step(outputs="a")
    def first(k: int = 1):
        get_tracker().log(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        t = get_tracker()
        t.log(10)  # after first's
        return sum(get_tracker().values) + len(t.values)


    pipe = fm.Pipeline("ns", [first, second])
''')},
    Phase("unchanged", (), "second logs to the tracker a getter hands out and reads what "
          "it holds by its attribute, directly and through a local: first logged to it "
          "before, so they are coupled and re-execute", {"first": "executed", "second": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# after first's", "# after first"),),
          "comment", {"first": "executed", "second": "executed"}),
    change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 2):"),
           note="what first logs: second's sum moves (it was reused: stale)",
           expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
    warns_at_build=("_TRACKER",),
))

add(idiom("counter_a_cached_getter_makes_on_first_use_bumped_by_two_steps", {"pipe.py": src('''
    import functools

    import flowyml as fm


    class Counter:
        def __init__(self):
            self.n = 0

        def bump(self, k=1):
            self.n += k
            return self.n


    @functools.lru_cache(maxsize=None)
    def get_counter():
        return Counter()  # made by the first step calling it, not at import


    @fm.step(outputs="a")
    def first(k: int = 1):
        get_counter().bump(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        return get_counter().bump()  # after first's


    pipe = fm.Pipeline("ns", [first, second])
''')},
    Phase("unchanged", (), "second bumps the counter a cached getter makes on first use "
          "and returns it: first bumped it before, so they are coupled and re-execute",
          {"first": "executed", "second": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# after first's", "# after first"),),
          "comment", {"first": "executed", "second": "executed"}),
    change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 5):"),
           note="how much first bumps: second's count moves (it was reused: stale)",
           expect={"first": "executed", "second": "executed"}),
    steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
    warns_at_build=("get_counter() (its cached result)",),
))

def _read_back_pair(id: str, source: str, unchanged_note: str, change_note: str,
                    warns: str) -> Idiom:
    """Two steps changing one global object or dict, the second reading back a part of it
    the first changes (``# after first's`` marks the second's line): coupled, both
    re-execute every run, warned about at build; the first's parameter 1 -> 5 moves the
    second's result."""
    both = {"first": "executed", "second": "executed"}
    return idiom(id, {"pipe.py": src(source)},
                 Phase("unchanged", (), unchanged_note, both),
                 Phase("nonsemantic", (E("pipe.py", "# after first's", "# after first"),),
                       "comment", both),
                 change(E("pipe.py", "def first(k: int = 1):", "def first(k: int = 5):"),
                        note=change_note, expect=both),
                 steps=("first", "second"), check={"y": "[first(), second('ok')][1]"},
                 warns_at_build=(warns,))


add(_read_back_pair("model_trained_by_one_step_keeping_answers_in_itself_for_another", '''
    import flowyml as fm


    class Model:
        def __init__(self):
            self.w = 0
            self.answers = {}

        def train(self, v):
            self.w = v * 2
            self.answers.clear()

        def predict(self, x):
            if x not in self.answers:
                self.answers[x] = self.w + x  # kept in the model itself
            return self.answers[x]


    MODEL = Model()


    @fm.step(outputs="a")
    def first(k: int = 1):
        MODEL.train(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        return MODEL.predict(1)  # after first's


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second predicts with the weights first set on a global model, "
    "and keeps its answer in the model too: it changes the model as first does, yet "
    "reads what first changed, so they are coupled and re-execute",
    "what first trains on: second's answer moves (it was reused: stale)",
    "MODEL"))

add(_read_back_pair("results_passed_by_key_through_a_global_dict_both_steps_fill", '''
    import flowyml as fm

    STATE = {}


    @fm.step(outputs="a")
    def first(k: int = 1):
        STATE["model"] = k * 2
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        STATE["preds"] = STATE["model"] + 1  # after first's
        return STATE["preds"]


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second sets an item of a global dict from the item first set "
    "there: it changes the dict as first does, yet reads first's item, so they are "
    "coupled and re-execute",
    "what first puts in the dict: second's result moves (it was reused: stale)",
    "STATE"))

add(_read_back_pair("lists_per_key_filled_by_setdefault_one_read_by_the_other_step", '''
    import flowyml as fm

    LOGS = {}


    @fm.step(outputs="a")
    def first(k: int = 1):
        LOGS.setdefault("train", []).append(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        LOGS.setdefault("eval", []).append(0)  # after first's
        return sum(LOGS.get("train", []))


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second fills its own list in a global dict by setdefault and "
    "sums the list first filled there: coupled, both re-execute",
    "what first logs: second's sum moves (it was reused: stale)",
    "LOGS"))

add(_read_back_pair("class_counter_bumped_through_self_class_read_by_name", '''
    import flowyml as fm


    class Run:
        count = 0

        def bump(self):
            self.__class__.count += 1


    R = Run()


    @fm.step(outputs="a")
    def first(k: int = 1):
        for _ in range(k):
            R.bump()
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        R.bump()  # after first's
        return Run.count


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second bumps a class counter through self.__class__, as first "
    "does, and returns it by the class's name: coupled, both re-execute",
    "how often first bumps: second's count moves (it was reused: stale)",
    "R"))

add(_read_back_pair("registry_filled_by_name_through_a_classmethod_read_by_another_step", '''
    import flowyml as fm


    class Registry:
        items = {}

        @classmethod
        def register(cls, name, value):
            cls.items[name] = value


    @fm.step(outputs="a")
    def first(k: int = 1):
        Registry.register("scaler", k * 10)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        Registry.register("model", 1)  # after first's
        return Registry.items["scaler"] + 1


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second registers its own entry through a classmethod given its "
    "name and reads the entry first registered: coupled, both re-execute",
    "what first registers: second's result moves (it was reused: stale)",
    "Registry"))

add(_read_back_pair("config_item_set_by_one_step_read_by_one_setting_its_own_by_a_computed_key", '''
    import flowyml as fm

    CFG = {"lr": 0.0}


    @fm.step(outputs="a")
    def first(k: int = 1):
        CFG["lr"] = k / 10
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        name = "_".join(["seen", "by", "second"])
        CFG[name] = True  # after first's
        return CFG["lr"] * 100


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second sets an item of a global config by a key it computes and "
    "reads the item first set there by its constant key: that key need not be the one "
    "it set, so they are coupled and re-execute",
    "the learning rate first sets: second's result moves (it was reused: stale)",
    "CFG"))

add(_read_back_pair("tallies_by_computed_keys_listed_by_a_step_adding_its_own", '''
    import flowyml as fm

    TALLY = {}


    @fm.step(outputs="a")
    def first(k: int = 1):
        for i in range(k):
            TALLY[f"train_{i}"] = i
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        key = f"eval_{len(a)}"
        TALLY[key] = 1  # after first's
        return sorted(TALLY)


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second adds its own tally to a global dict by a key it computes "
    "and lists every key, first's too: it reads the dict whole, not only what it set, "
    "so they are coupled and re-execute",
    "how many tallies first adds: second's list moves (it was reused: stale)",
    "TALLY"))

add(_read_back_pair("headers_of_a_library_message_set_by_one_step_got_by_another", '''
    from email.message import Message

    import flowyml as fm


    class Mail:
        def __init__(self):
            self.msg = Message()


    MAIL = Mail()


    @fm.step(outputs="a")
    def first(k: int = 1):
        MAIL.msg["X-Run"] = str(k)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        name = "x-run".title()
        MAIL.msg[name + "-Seen"] = "1"  # after first's
        return MAIL.msg.get(name)


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second sets a header of a library's message object a global holds "
    "and gets the header first set, by a name it computes, through the library's own "
    "get (code that is not walked): coupled, both re-execute",
    "the header first sets: second's result moves (it was reused: stale)",
    "MAIL"))

add(_read_back_pair("results_updated_into_a_global_dict_by_both_steps", '''
    import flowyml as fm

    RESULTS = {"train_loss": 0.0}


    @fm.step(outputs="a")
    def first(k: int = 1):
        RESULTS.update(train_loss=k / 4)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        RESULTS.update(eval_loss=0.5)  # after first's
        return RESULTS["train_loss"] * 2


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second updates a global dict with its own result and reads the "
    "one first updated it with: `update` sets some items, not the whole dict, so what "
    "second reads is first's, and they are coupled and re-execute",
    "first's loss: second's result moves (it was reused: stale)",
    "RESULTS"))

add(_read_back_pair("metrics_merged_into_a_global_dict_from_another_dict_by_both_steps", '''
    import flowyml as fm

    METRICS = {"train_loss": 0.0}


    @fm.step(outputs="a")
    def first(k: int = 1):
        METRICS["train_loss"] = k / 4
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        scores = {"eval_loss": 0.5}
        METRICS.update(scores)  # after first's
        return METRICS["train_loss"] * 2


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second merges a dict of its own into a global dict and reads the item first set: "
    "which keys its `update` sets the code does not say, so what second reads may be "
    "first's, and they are coupled and re-execute",
    "first's loss: second's result moves (it was reused: stale)",
    "METRICS"))

add(_read_back_pair("results_put_by_a_helper_given_the_dict_and_key_read_by_the_other_step", '''
    import flowyml as fm

    RESULTS = {}


    def put(store, key, value):
        store[key] = value


    @fm.step(outputs="a")
    def first(k: int = 1):
        put(RESULTS, "train", k * 3)
        return "ok"


    @fm.step(outputs="y")
    def second(a):
        put(RESULTS, "eval", 1)  # after first's
        return RESULTS["train"] + 1


    pipe = fm.Pipeline("ns", [first, second])
''',
    "second puts its own result in a global dict through a helper given "
    "the dict and a key, and reads the result first put there: coupled, both re-execute",
    "what first puts: second's result moves (it was reused: stale)",
    "RESULTS"))

add(idiom("state_through_a_class_registry_a_reader_reaches", {"pipe.py": src('''
    import flowyml as fm


    class Registry:
        models = {}

        def add(self, name, value):
            Registry.models[name] = value


    REG = Registry()


    @fm.step(outputs="a")
    def register(k: int = 3):
        REG.add("m", k)
        return "ok"


    @fm.step(outputs="y")
    def lookup(a):
        return Registry.models["m"] * 10


    pipe = fm.Pipeline("ns", [register, lookup])
''')},
    Phase("unchanged", (), "register adds to a class's registry through its method, lookup "
          "reads the registry (and so reaches the method, which it never calls): both "
          "re-execute", {"register": "executed", "lookup": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "REG = Registry()", "REG = Registry()  # the one"),),
          "comment", {"register": "executed", "lookup": "executed"}),
    change(E("pipe.py", "def register(k: int = 3)", "def register(k: int = 4)"),
           note="what the method puts into the class's registry"),
    steps=("register", "lookup"),
    check={"y": "[register(), lookup('ok')][1]"},
    warns_at_build=("Registry.models",),
))

add(idiom("state_through_what_a_getters_method_hands_out", {"pipe.py": src('''
    import flowyml as fm


    class Model:
        def __init__(self):
            self.w = 0


    class App:
        def __init__(self):
            self.model = MODEL

        def get_model(self):
            return self.model


    MODEL = Model()
    APP = App()


    def get_app():
        return APP


    @fm.step(outputs="b")
    def tune(j: int = 1):
        get_app().get_model().w += j
        return "ok"


    @fm.step(outputs="y")
    def predict(b):
        return MODEL.w * 10


    pipe = fm.Pipeline("ns", [tune, predict])
''')},
    Phase("unchanged", (), "tune changes the model a getter's method hands out, predict reads it "
          "by its own global name: both re-execute", {"tune": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "MODEL = Model()", "MODEL = Model()  # the one model"),),
          "comment", {"tune": "executed", "predict": "executed"}),
    change(E("pipe.py", "def tune(j: int = 1)", "def tune(j: int = 2)"),
           note="what a method of a getter's result hands out, read under another name"),
    steps=("tune", "predict"),
    check={"y": "[tune(), predict('ok')][1]"},
    warns_at_build=("get_app().get_model()",),
))

add(idiom("state_through_a_builtin_base_and_a_named_tuple", {"pipe.py": src('''
    from typing import NamedTuple

    import flowyml as fm


    class Registry(dict):
        def register(self, name, value):
            super().__setitem__(name, value)


    class Model:
        def __init__(self):
            self.w = 0

        def train(self, k):
            self.w = k


    class Bundle(NamedTuple):
        model: Model
        lr: float


    REGISTRY = Registry()
    BUNDLE = Bundle(Model(), 0.5)


    @fm.step(outputs="a")
    def setup(k: int = 3):
        REGISTRY.register("scale", k)
        m = BUNDLE.model
        m.train(k)
        return "ok"


    @fm.step(outputs="y")
    def use(a):
        return REGISTRY["scale"] * 10 + BUNDLE.model.w


    pipe = fm.Pipeline("ns", [setup, use])
''')},
    Phase("unchanged", (), "setup registers through a dict base's method and trains a model "
          "a named tuple holds, use reads both: both re-execute",
          {"setup": "executed", "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "REGISTRY = Registry()", "REGISTRY = Registry()  # names"),),
          "comment", {"setup": "executed", "use": "executed"}),
    change(E("pipe.py", "def setup(k: int = 3)", "def setup(k: int = 4)"),
           note="super().__setitem__ of a dict subclass, and an object a named tuple holds"),
    steps=("setup", "use"),
    check={"y": "[setup(), use('ok')][1]"},
    warns_at_build=("REGISTRY",),
))

add(idiom("state_through_in_place_library_calls", {"pipe.py": src('''
    import heapq

    import numpy as np
    import pandas as pd

    import flowyml as fm


    class Param:
        def __init__(self):
            self.v = 0

        def add_(self, k):  # torch's naming: a trailing underscore changes the object
            self.v += k
            return self


    DF = pd.DataFrame({"x": [1.0, None, 3.0]})
    ARR = np.zeros(3)
    HEAP = [5, 1]
    P = Param()


    @fm.step(outputs="a")
    def writer(n: int = 5):
        DF.fillna(n, inplace=True)
        ARR.fill(n)
        heapq.heappush(HEAP, -n)
        P.add_(n)
        return 1


    @fm.step(outputs="y")
    def reader(a):
        return [float(DF["x"].sum()), float(ARR[0]), HEAP[0], P.v]


    pipe = fm.Pipeline("ns", [writer, reader])
''')},
    Phase("unchanged", (), "writer changes globals in place through library calls",
          {"writer": "executed", "reader": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "ARR = np.zeros(3)", "ARR = np.zeros(3)  # filled by writer"),),
          "comment", {"writer": "executed", "reader": "executed"}),
    change(E("pipe.py", "def writer(n: int = 5)", "def writer(n: int = 7)"),
           note="inplace=True, ndarray.fill, heapq.heappush, a trailing-underscore method"),
    steps=("writer", "reader"),
    check={"y": "[writer(), reader(1)][1]"},
    warns_at_build=("DF",),
))

add(idiom("state_through_setattr_with_a_computed_name", {
    "settings.py": "FACTOR = 1\n",
    "pipe.py": src('''
        import flowyml as fm
        import settings


        class Cfg:
            k = 0


        @fm.step(outputs="a")
        def writer(n: int = 5, name: str = "factor"):
            setattr(settings, name.upper(), n)
            setattr(Cfg, name[0], n)
            return 1


        @fm.step(outputs="y")
        def reader(a):
            return [settings.FACTOR, Cfg.k]


        @fm.step(outputs="z")
        def other(k: int = 2):
            return k


        pipe = fm.Pipeline("ns", [writer, reader, other])
    ''')},
    Phase("unchanged", (), "writer sets attributes it names at run time, reader reads them",
          {"writer": "executed", "reader": "executed", "other": "cached"}),
    Phase("nonsemantic", (E("settings.py", "FACTOR = 1\n", "FACTOR = 1  # set by writer\n"),),
          "comment", {"writer": "executed", "reader": "executed", "other": "cached"}),
    change(E("pipe.py", "def writer(n: int = 5", "def writer(n: int = 6"),
           note="what setattr with a computed name puts in a module and a class of yours",
           expect={"writer": "executed", "reader": "executed", "other": "cached"}),
    steps=("writer", "reader", "other"),
    check={"y": "[writer(), reader(1)][1]", "z": "other()"},
    warns_at_build=("settings.*",),
))

add(idiom("dunder_member_wrapped_other_ways", {"pipe.py": src("""
    import functools

    import flowyml as fm


    class Scorer:
        @functools.lru_cache(maxsize=None)
        def __call__(self, x):
            return x * 2

        def __hash__(self):
            return 1


    class Table:
        @functools.cache
        def __getitem__(self, k):
            return k * 10


    class Vec:
        def __init__(self, xs):
            self.xs = list(xs)

        @functools.singledispatchmethod
        def __mul__(self, other):
            return NotImplemented

        @__mul__.register
        def _(self, other: int):
            return Vec(x * other for x in self.xs)

        @__mul__.register
        def _(self, other: list):
            return Vec(a * b for a, b in zip(self.xs, other))


    def _combine(self, other, how):
        return type(self)(self.v + other.v if how == "add" else self.v * other.v)


    class Num:
        def __init__(self, v):
            self.v = v


    Num.__add__ = functools.partialmethod(_combine, how="add")


    class traced:
        def __init__(self, fn):
            self.fn = fn

        def __get__(self, obj, cls=None):
            return functools.partial(self.fn, obj)


    class Box:
        def __init__(self, v):
            self.v = v

        @traced
        def __len__(self):
            return self.v * 2


    SC = Scorer()


    def _label(x):
        return u"item-" + str(x)


    @fm.step(outputs="y")
    def f():
        v = Vec([1, 2, 3])
        return [[SC(i) for i in range(3)], [Table()[i] for i in range(3)], (v * 2).xs,
                (v * [1, 0, 1]).xs, (Num(2) + Num(3)).v, len(Box(3)), _label(1)]


    pipe = fm.Pipeline("ns", [f])
""")},
    same(E("pipe.py", 'u"item-"', '"item-"'), note="a u prefix dropped (pyupgrade)"),
    change(E("pipe.py", "return x * 2\n", "return x * 3\n"), note="an lru_cache'd __call__"),
    change(E("pipe.py", "k * 10", "k * 100"), note="a functools.cache'd __getitem__"),
    change(E("pipe.py", "Vec(x * other for x in self.xs)", "Vec(x * other + 1 for x in self.xs)"),
           note="the first of two registrations of a singledispatchmethod __mul__"),
    change(E("pipe.py", 'how="add")', 'how="mul")'),
           note="a partialmethod assigned to __add__ after the class body"),
    change(E("pipe.py", "self.v * 2", "self.v * 3"),
           note="a __len__ under a descriptor class of the user's"),
))

add(idiom("context_manager_as_a_decorator", {"pipe.py": src("""
    import contextlib

    import numpy as np
    import pandas as pd

    import flowyml as fm

    STATE = {"k": 1}
    PREC = 2
    PRECISION = 2
    FACTOR = 3
    SETTINGS = {"unit": "m"}


    @contextlib.contextmanager
    def scaled(k):
        old = STATE["k"]
        STATE["k"] = k
        try:
            yield
        finally:
            STATE["k"] = old


    @scaled(3)
    def helper(x):
        return x * STATE["k"]


    @np.printoptions(precision=PREC)
    def render(a):
        return str(a)


    @pd.option_context("display.precision", PRECISION)
    def render_df(df):
        return df.to_string()


    class _Ctx:
        k = 1


    class scaled_by(contextlib.ContextDecorator):
        def __init__(self, k):
            self.k = k

        def __enter__(self):
            _Ctx.k = self.k
            return self

        def __exit__(self, *exc):
            _Ctx.k = 1
            return False


    @scaled_by(FACTOR)
    def helper2(x):
        return x * _Ctx.k


    @contextlib.contextmanager
    def in_km():
        old = SETTINGS["unit"]
        SETTINGS["unit"] = "km"
        try:
            yield
        finally:
            SETTINGS["unit"] = old


    @fm.step(outputs="y")
    @in_km()
    def f():
        return [helper(5), render(np.array([1 / 3])), render_df(pd.DataFrame({"a": [1 / 3]})),
                helper2(5), f"12 {SETTINGS['unit']}"]


    pipe = fm.Pipeline("ns", [f])
""")},
    same(E("pipe.py", "    old = STATE", "    # keep the old factor\n    old = STATE"),
         note="a comment in the context manager's generator"),
    change(E("pipe.py", 'STATE["k"] = k\n', 'STATE["k"] = k + 1\n'),
           note="what a @contextmanager decorating a helper sets"),
    change(E("pipe.py", "PREC = 2", "PREC = 4"), note="a global given to @np.printoptions"),
    change(E("pipe.py", "PRECISION = 2", "PRECISION = 5"),
           note="a global given to @pd.option_context"),
    change(E("pipe.py", "FACTOR = 3", "FACTOR = 4"), note="a ContextDecorator's argument"),
    change(E("pipe.py", "_Ctx.k = self.k\n", "_Ctx.k = self.k + 1\n"),
           note="a ContextDecorator subclass's __enter__"),
    change(E("pipe.py", 'SETTINGS["unit"] = "km"', 'SETTINGS["unit"] = "mi"'),
           note="a @contextmanager on the step itself"),
))

add(idiom("standard_values_that_do_not_pickle", {"pipe.py": src("""
    import contextvars
    import functools
    import json
    import struct
    from decimal import Decimal

    import flowyml as fm


    def _cmp(a, b):
        return a - b


    KEY = functools.cmp_to_key(_cmp)
    REC = struct.Struct("<hh")
    WEIGHTS = {"a": 1, "b": 2}
    FEATURES = WEIGHTS.keys()
    DEC = json.JSONDecoder(parse_float=Decimal)
    CV = contextvars.ContextVar("k", default=2)
    CV.set(3)


    @fm.step(outputs="y")
    def f():
        packed = struct.pack("<hh", 1, 2)
        return [list(REC.unpack(packed[:REC.size])) if REC.size == 4 else REC.size,
                sorted(FEATURES), str(DEC.decode("1.10")), CV.get(), sorted([3, 1, 2], key=KEY)]


    pipe = fm.Pipeline("ns", [f])
""")},
    unchanged("a Struct, a dict's keys view and a JSONDecoder: reused (they do not pickle)"),
    same(E("pipe.py", "FEATURES = WEIGHTS.keys()", "FEATURES = WEIGHTS.keys()  # in order"),
         note="a comment"),
    change(E("pipe.py", 'struct.Struct("<hh")', 'struct.Struct("<hi")'), note="the Struct's format"),
    change(E("pipe.py", '"b": 2}', '"c": 2}'), note="the dict behind a keys view"),
    change(E("pipe.py", "parse_float=Decimal", "parse_float=float"), note="a decoder's setting"),
    change(E("pipe.py", "CV.set(3)", "CV.set(4)"), note="the value a ContextVar holds"),
    change(E("pipe.py", "return a - b", "return b - a"), note="the function behind cmp_to_key"),
    no_fingerprint_warning=True,
))

add(idiom("ndarray_subclass_attributes", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm


    class Unit(np.ndarray):
        def __new__(cls, data, scale=1):
            obj = np.asarray(data).view(cls)
            obj.scale = scale
            return obj

        def __array_finalize__(self, obj):
            self.scale = getattr(obj, "scale", 1)


    A = Unit([1, 2, 3], scale=2)


    @fm.step(outputs="y")
    def f():
        return int(np.asarray(A).sum()) * A.scale


    pipe = fm.Pipeline("ns", [f])
""")},
    same(E("pipe.py", "A = Unit(", "# the unit's scale\nA = Unit("), note="a comment"),
    change(E("pipe.py", "scale=2)", "scale=5)"), note="an attribute of an ndarray subclass"),
))

add(idiom("getattr_on_an_object_given", {"pipe.py": src("""
    import flowyml as fm


    class Field:
        def __set_name__(self, owner, name):
            self.name = "_" + name

        def __get__(self, obj, cls=None):
            return getattr(obj, self.name) * 2

        def __set__(self, obj, value):
            setattr(obj, self.name, value)


    class Rec:
        price = Field()

        def __init__(self, p):
            self.price = p


    def field_plus_one(rec, name):
        return getattr(rec, name) + 1


    @fm.step(outputs="y")
    def f():
        r = Rec(5)
        return [r.price, field_plus_one(r, "price")]


    pipe = fm.Pipeline("ns", [f])
""")},
    unchanged("a computed getattr on an object the code was given: no warning, reused"),
    same(E("pipe.py", "class Rec:", "class Rec:  # one field"), note="a comment"),
    change(E("pipe.py", ") * 2", ") * 3"), note="the descriptor's __get__"),
    change(E("pipe.py", "name) + 1", "name) + 2"), note="the helper's getattr"),
    no_fingerprint_warning=True,
))

add(idiom("pydantic_and_attrs_fields_kept_apart", {"pipe.py": src("""
    import attr
    import attrs
    from pydantic import BaseModel

    import flowyml as fm


    def conv(v):
        return v * 2


    Cfg = attr.make_class("Cfg", {"x": attr.ib(default=3), "y": attr.ib(default=1, converter=conv)})


    def make_model(k):
        class Settings(BaseModel):
            x: int = k
        return Settings


    Settings = make_model(3)


    def make_cfg(k, conv):
        @attrs.define
        class Cfg2:
            x: int = k
            y: int = attrs.field(default=1, converter=conv)
        return Cfg2


    def triple(v):
        return v * 3


    Cfg2 = make_cfg(3, triple)

    _DEFAULT = 3


    class S3(BaseModel):
        x: int = _DEFAULT


    del _DEFAULT

    MODELS = {}
    for name, k in [("small", 3), ("big", 10)]:
        class M(BaseModel):
            x: int = k
        MODELS[name] = M


    @fm.step(outputs="y")
    def f():
        c = Cfg()
        c2 = Cfg2()
        return [c.x, c.y, Settings().x, c2.x, c2.y, S3().x, MODELS["small"]().x]


    pipe = fm.Pipeline("ns", [f])
""")},
    same(E("pipe.py", "def triple(v):", "def triple(v):  # a converter"), note="a comment"),
    change(E("pipe.py", "default=3)", "default=4)"), note="a default of attr.make_class"),
    change(E("pipe.py", "v * 2", "v * 5"), note="an attr.make_class converter's code"),
    change(E("pipe.py", "make_model(3)", "make_model(4)"), note="a pydantic model made in a function"),
    change(E("pipe.py", "make_cfg(3,", "make_cfg(4,"), note="an attrs class made in a function"),
    change(E("pipe.py", "v * 3", "v * 7"), note="its converter, given to the function"),
    change(E("pipe.py", "_DEFAULT = 3", "_DEFAULT = 4"), note="a name the body read, deleted since"),
    change(E("pipe.py", '("small", 3)', '("small", 4)'), note="a model made in a loop"),
    no_fingerprint_warning=True,
))

add(idiom("annotations_a_decorator_acts_on", {
    "models.py": src("""
        from pydantic import BaseModel, field_validator


        def check(v):
            return v * 10


        class Config(BaseModel):
            name: str
            x: int = 3

            @field_validator("name")
            @classmethod
            def strip(cls, v):
                return v.strip()
    """),
    "kinds.py": "Num = int\n",
    "service.py": src("""
        from typing import Annotated

        from kinds import Num
        from models import Config, check
        from pydantic import AfterValidator, validate_call


        @validate_call
        def run(cfg: Config, n: Annotated[int, AfterValidator(check)], m: Num):
            return (cfg.name, cfg.x, n, m)
    """),
    "pipe.py": src("""
        from models import Config
        from pydantic import validate_call
        from service import run

        import flowyml as fm


        @fm.step(outputs="y")
        def f():
            return list(run({"name": " Ann "}, "5", "2"))


        @fm.step(outputs="z")
        @validate_call
        def g(cfg: Config = {"name": "x"}):
            return [cfg.name, cfg.x]


        pipe = fm.Pipeline("ns", [f, g])
    """)},
    same(E("models.py", "def check(v):", "def check(v):  # scales"), note="a comment"),
    change(E("models.py", "x: int = 3", "x: int = 4"),
           note="a field of a model @validate_call builds from an annotation",
           expect={"f": "executed", "g": "executed"}),
    change(E("models.py", "v.strip()", "v.strip().upper()"), note="the model's validator",
           expect={"f": "executed", "g": "executed"}),
    change(E("models.py", "v * 10", "v * 100"), note="an AfterValidator in an annotation",
           expect={"f": "executed", "g": "cached"}),
    change(E("kinds.py", "Num = int", "Num = float"), note="an alias an annotation names",
           expect={"f": "executed", "g": "cached"}),
    steps=("f", "g"),
    check={"y": "f()", "z": "g(cfg={'name': 'x'})"},
    no_fingerprint_warning=True,
))

add(idiom("query_strings_made_before_the_call", {"pipe.py": src("""
    import pandas as pd

    import flowyml as fm

    LIMIT = 4
    K = 2
    QUERY = "x > @LIMIT"


    def keep_small():
        return "x <= @LIMIT"


    @fm.step(outputs="df")
    def load():
        return pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7]})


    @fm.step(outputs="y")
    def f(df):
        cond = "x > @LIMIT"
        return df.query(cond).x.tolist()


    @fm.step(outputs="z")
    def g(df):
        return [df.query(QUERY).x.tolist(), df.query(keep_small()).x.tolist()]


    @fm.step(outputs="w")
    def h(df):
        return pd.eval("df.x * K").tolist()


    pipe = fm.Pipeline("ns", [load, f, g, h])
""")},
    Phase("nonsemantic", (E("pipe.py", "def keep_small():", "def keep_small():  # the rows kept"),),
          "a comment", {"f": "cached", "g": "cached", "h": "cached"}),
    change(E("pipe.py", "LIMIT = 4", "LIMIT = 5"),
           note="a name a query string held in a local, a global, a helper's result reads",
           expect={"f": "executed", "g": "executed"}),
    change(E("pipe.py", "K = 2", "K = 3"), note="a bare name pd.eval reads",
           expect={"h": "executed"}),
    steps=("f", "g", "h"),
    check={"y": "f(load())", "z": "g(load())", "w": "h(load())"},
    warns_at_build=("made elsewhere than in the call",),
))

add(idiom("one_generator_drawn_by_two_steps", {"pipe.py": src("""
    import random

    import numpy as np

    import flowyml as fm

    RNG = np.random.default_rng(7)
    PY = random.Random(7)


    @fm.step(outputs="split")
    def split(n: int = 5):
        return RNG.permutation(n).tolist() + [PY.random()]


    @fm.step(outputs="y")
    def init_weights():
        return RNG.integers(0, 100, 2).tolist() + [PY.random()]


    pipe = fm.Pipeline("ns", [split, init_weights])
""")},
    Phase("unchanged", (), "two steps draw from one generator: both re-execute every run",
          {"split": "executed", "init_weights": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "PY = random", "# one generator for the script\nPY = random"),),
          "comment", {"split": "executed", "init_weights": "executed"}),
    change(E("pipe.py", "def split(n: int = 5)", "def split(n: int = 8)"),
           note="what the first step draws, which moves the generator the second draws from",
           expect={"split": "executed", "init_weights": "executed"}),
    steps=("split", "init_weights"),
    check={"y": "[split(), init_weights()][1]"},
    warns_at_build=("RNG",),
))

def _swapped(id: str, head: str, old: str, new: str, note: str) -> Idiom:
    """A step calling two functions of yours by names (or from a value) that say
    nothing of which function each is: swapping them (``old`` -> ``new`` in ``head``)
    changes what the step computes."""
    body = src('''

        @fm.step(outputs="y")
        def f(x: int = 10):
            return post(pre(x))


        pipe = fm.Pipeline("ns", [f])
    ''')
    return idiom(id, {"pipe.py": "import flowyml as fm\n\n" + src(head) + body},
                 unchanged(),
                 same(E("pipe.py", "def f(x: int = 10):", "def f(x: int = 10):  # two stages"),
                      note="comment"),
                 change(E("pipe.py", old, new), note=note))


add(_swapped("functions_swapped_between_two_names", """
    def add_one(x):
        return x + 1


    def double(x):
        return x * 2


    pre, post = add_one, double
""", "pre, post = add_one, double", "pre, post = double, add_one",
    "which function each name is bound to"))

add(_swapped("lambdas_swapped_between_two_names", """
    pre = lambda x: x + 1  # noqa: E731
    post = lambda x: x * 2  # noqa: E731
""", "pre = lambda x: x + 1  # noqa: E731\npost = lambda x: x * 2",
    "pre = lambda x: x * 2  # noqa: E731\npost = lambda x: x + 1",
    "the bodies of two lambdas swapped (every lambda is named <lambda>)"))

_BY_KEY = """


    def pre(x):
        return OPS["pre"](x)


    def post(x):
        return OPS["post"](x)
"""

add(_swapped("lambdas_swapped_in_a_dict", """
    OPS = {"pre": lambda x: x + 1, "post": lambda x: x * 2}
""" + _BY_KEY, '"pre": lambda x: x + 1, "post": lambda x: x * 2',
    '"pre": lambda x: x * 2, "post": lambda x: x + 1', "the lambdas of a dispatch dict swapped"))

add(_swapped("closures_of_one_factory_swapped", """
    def make(k):
        def stage(x):
            return x * 10 + k
        return stage


    STAGES = [make(1), make(2)]
    pre, post = STAGES
""", "STAGES = [make(1), make(2)]", "STAGES = [make(2), make(1)]",
    "two closures of one factory (both make.<locals>.stage) swapped"))

add(idiom("code_in_a_namespace_package_is_yours", {
    # a folder without __init__.py (PEP 420): its code is yours as a package's is
    "features/stages.py": src('''
        from collections import Counter


        def make(k):
            def stage(x):
                return x * 10 + k
            return stage


        STAGES = [make(1), make(2)]
        OPS = {"pre": lambda x: x + 1, "post": lambda x: x * 2}


        class Vocab(Counter):
            min_freq = 2

            def kept(self):
                return sorted(w for w, c in self.items() if c >= self.min_freq)


        VOCAB = Vocab({"a": 2, "b": 3})
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from features.stages import OPS, STAGES, VOCAB


        @fm.step(outputs="y")
        def f(x: int = 0):
            for s in STAGES:
                x = s(x)
            return [x, OPS["post"](OPS["pre"](x)), VOCAB.kept()]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    same(E("features/stages.py", "def make(k):\n", "def make(k):  # a factory\n"),
         note="comment"),
    change(E("features/stages.py", "STAGES = [make(1), make(2)]", "STAGES = [make(2), make(1)]"),
           note="two closures of one factory swapped in a namespace package (its code was "
                "taken for a library's: stale)"),
    change(E("features/stages.py", '"pre": lambda x: x + 1, "post": lambda x: x * 2',
             '"pre": lambda x: x * 2, "post": lambda x: x + 1'),
           note="two lambdas of a dict swapped in a namespace package (stale)"),
    change(E("features/stages.py", "min_freq = 2", "min_freq = 3"),
           note="a class attribute of a Counter subclass in a namespace package (stale)"),
))

add(_swapped("classes_of_one_factory_swapped_in_a_dict", """
    def make(k):
        class Stage:
            def __call__(self, x):
                return x * 10 + k
        return Stage


    OPS = {"pre": make(1)(), "post": make(2)()}
""" + _BY_KEY, '{"pre": make(1)(), "post": make(2)()}', '{"pre": make(2)(), "post": make(1)()}',
    "instances of two classes one factory made (both make.<locals>.Stage, told apart by "
    "their __call__'s cell) swapped"))

add(_swapped("classes_of_one_factory_bound_to_two_names", """
    def make(k):
        class Stage:
            def apply(self, x):
                return x * 10 + k
        return Stage


    PreStage = make(1)
    PostStage = make(2)


    def pre(x):
        return PreStage().apply(x)


    def post(x):
        return PostStage().apply(x)
""", "PreStage = make(1)\nPostStage = make(2)", "PreStage = make(2)\nPostStage = make(1)",
    "which class of one factory each name is bound to"))

add(idiom("abstract_class_made_in_a_function", {"pipe.py": src("""
    import abc
    import functools

    import flowyml as fm


    def make(k):
        class Model(abc.ABC):
            @functools.cached_property
            def bias(self):
                return k * 100

            def apply(self, x):
                return x * k
        return Model


    MODEL = make(2)()


    @fm.step(outputs="y")
    def f(x: int = 10):
        return MODEL.apply(x) + MODEL.bias


    pipe = fm.Pipeline("ns", [f])
""")},
    unchanged(),
    same(E("pipe.py", "MODEL = make(2)()", "MODEL = make(2)()  # the model"), note="comment"),
    change(E("pipe.py", "MODEL = make(2)()", "MODEL = make(3)()"),
           note="the argument of the factory that made the class"),
    no_fingerprint_warning=True,
))

add(idiom("config_dict_holding_a_generator_one_step_draws_from", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm

    CFG = {"n": 5, "rng": np.random.default_rng(0)}


    @fm.step(outputs="a")
    def size():
        return CFG["n"] + 1


    @fm.step(outputs="b")
    def twice():
        return CFG["n"] * 2


    @fm.step(outputs="y")
    def draw(n: int = 2):
        return CFG["rng"].random(n).tolist()


    pipe = fm.Pipeline("ns", [size, twice, draw])
""")},
    unchanged(note="two steps only read the config beside the generator: nothing couples"),
    same(E("pipe.py", 'CFG = {"n": 5', '# settings\nCFG = {"n": 5'), note="comment"),
    change(E("pipe.py", "def draw(n: int = 2)", "def draw(n: int = 3)"),
           note="what the one drawing step draws",
           expect={"size": "cached", "twice": "cached", "draw": "executed"}),
    steps=("size", "twice", "draw"),
    check={"a": "size()", "b": "twice()", "y": "draw()"},
    no_fingerprint_warning=True,
))


add(idiom("path_like_object_of_yours", {
    "dataset.py": src("""
        class Dataset:
            def __init__(self, path, sep):
                self.path, self.sep = path, sep

            def __fspath__(self):
                return self.path

            def parse(self, text):
                return text.split(self.sep)
    """),
    "pipe.py": src("""
        from dataset import Dataset

        import flowyml as fm

        DS = Dataset("data.txt", ",")


        @fm.step(outputs="y")
        def f():
            return DS.parse("a,b;c")


        pipe = fm.Pipeline("ns", [f])
    """)},
    unchanged(),
    same(E("dataset.py", "    def parse(self, text):", "    def parse(self, text):  # one record"),
         note="comment"),
    change(E("dataset.py", "return text.split(self.sep)", "return text.split(self.sep)[::-1]"),
           note="a method of a class of yours that is also a path (__fspath__)"),
    change(E("pipe.py", 'Dataset("data.txt", ",")', 'Dataset("data.txt", ";")'),
           note="the state of such an object beside its path"),
))

add(idiom("set_of_numbers_iterated_in_insertion_order", {"pipe.py": src("""
    import flowyml as fm

    CODES = {1, 9}


    @fm.step(outputs="y")
    def f():
        return list(CODES)


    pipe = fm.Pipeline("ns", [f])
""")},
    unchanged(),
    same(E("pipe.py", "CODES = {1, 9}", "CODES = {1, 9}  # the codes"), note="comment"),
    change(E("pipe.py", "CODES = {1, 9}", "CODES = {9, 1}"),
           note="the insertion order of colliding numbers, which list() follows"),
))

add(idiom("globals_read_through_a_functions_dunder_globals", {
    "deco.py": src("""
        import functools


        def scaled(fn):
            @functools.wraps(fn)
            def wrapper(*args):
                return fn(*args) * fn.__globals__.get("SCALE", 1)
            return wrapper
    """),
    "pipe.py": src("""
        from deco import scaled

        import flowyml as fm

        SCALE = 2


        @scaled
        def feature(x):
            return x + 1


        @fm.step(outputs="y")
        def f(x: int = 10):
            return feature(x)


        pipe = fm.Pipeline("ns", [f])
    """)},
    Phase("unchanged", (), "what fn.__globals__ reads only the run knows: re-executed",
          {"f": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "SCALE = 2", "SCALE = 2  # the factor"),), "comment",
          {"f": "executed"}),
    change(E("pipe.py", "SCALE = 2", "SCALE = 3"),
           note="a global of the decorated function's module, read by the decorator"),
    warns_at_build=("__globals__",),
))

add(idiom("read_only_array_constant", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm

    TABLE = np.arange(3)
    TABLE.flags.writeable = False


    @fm.step(outputs="y")
    def f():
        table = TABLE if TABLE.flags.writeable else TABLE.copy()
        table[0] = 10
        return table.tolist() + [bool(TABLE.flags.writeable)]


    pipe = fm.Pipeline("ns", [f])
""")},
    unchanged(),
    same(E("pipe.py", "TABLE = np.arange(3)", "TABLE = np.arange(3)  # ids"), note="comment"),
    change(E("pipe.py", "TABLE.flags.writeable = False", "TABLE.flags.writeable = True"),
           note="whether a global array is read-only, which code may branch on"),
))


def _two_drawers(id: str, files: dict[str, str], comment: Edit, where: str) -> Idiom:
    """Two steps drawing from one generator reached inside a value (not as a global
    name): what the second draws depends on how much the first drew."""
    both = {"sample": "executed", "noise": "executed"}
    return idiom(
        id, files,
        Phase("unchanged", (), f"two steps draw from one generator {where}: both "
              "re-execute every run", both),
        Phase("nonsemantic", (comment,), "comment", both),
        change(E("pipe.py", "def sample(n: int = 2)", "def sample(n: int = 3)"),
               note="how much the first step draws, which moves the generator the second "
                    "draws from", expect=both),
        steps=("sample", "noise"),
        check={"y": "[sample(), noise()][1]"},
        warns_at_build=("draw from one random generator",),
    )


add(_two_drawers("generator_in_a_closure_drawn_by_two_steps", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm


    def make_steps(seed):
        rng = np.random.RandomState(seed)

        @fm.step(outputs="x")
        def sample(n: int = 2):
            return rng.rand(n).tolist()

        @fm.step(outputs="y")
        def noise():
            return float(rng.rand())

        return sample, noise


    sample, noise = make_steps(0)
    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "def make_steps(seed):", "def make_steps(seed):  # one stream"),
    "in a closure"))

add(_two_drawers("generator_in_a_config_dict_drawn_by_two_steps", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm

    CFG = {"seed": 0, "rng": np.random.default_rng(0)}


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return CFG["rng"].random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(CFG["rng"].random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "CFG = {", "# settings\nCFG = {"), "in a config dict"))

add(_two_drawers("generator_on_an_instance_drawn_by_two_steps", {"pipe.py": src("""
    import random

    import flowyml as fm


    class Sampler:
        def __init__(self, seed):
            self.rng = random.Random(seed)

        def draw(self, n):
            return [self.rng.random() for _ in range(n)]


    SAMPLER = Sampler(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return SAMPLER.draw(n)


    @fm.step(outputs="y")
    def noise():
        return SAMPLER.draw(1)[0]


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "SAMPLER = Sampler(0)", "SAMPLER = Sampler(0)  # shared"),
    "on an instance"))

add(_two_drawers("generator_kept_by_lru_cache_drawn_by_two_steps", {"pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    @functools.lru_cache(maxsize=None)
    def get_rng():
        return np.random.default_rng(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return get_rng().random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(get_rng().random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "def get_rng():", "def get_rng():  # one stream, made once"),
    "made on the first call and kept by lru_cache"))

add(_two_drawers("generator_kept_in_a_global_on_first_call_drawn_by_two_steps", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm

    _rng = None


    def get_rng():
        global _rng
        if _rng is None:
            _rng = np.random.default_rng(0)
        return _rng


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return get_rng().random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(get_rng().random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "_rng = None", "_rng = None  # made lazily"),
    "made on the first call and kept in a global"))

add(_two_drawers("generator_kept_in_a_memo_dict_of_another_module_drawn_by_two_steps", {
    "rngs.py": src("""
        import random

        _MADE = {}


        class Rngs:
            @staticmethod
            def get(name):
                if name not in _MADE:
                    _MADE[name] = random.Random(0)
                return _MADE[name]
    """),
    "pipe.py": src("""
        from rngs import Rngs

        import flowyml as fm


        @fm.step(outputs="x")
        def sample(n: int = 2):
            return [Rngs.get("data").random() for _ in range(n)]


        @fm.step(outputs="y")
        def noise():
            return Rngs.get("data").random()


        pipe = fm.Pipeline("ns", [sample, noise])
    """)}, E("rngs.py", "_MADE = {}", "_MADE = {}  # name -> generator"),
    "made on the first call and kept in a module's dict"))

add(_two_drawers("generator_kept_by_an_lru_cache_made_by_a_call_drawn_by_two_steps", {
    "pipe.py": src("""
    import functools

    import flowyml as fm


    def _make_rng():
        import random

        r = random.Random(0)
        return r


    get_rng = functools.lru_cache(maxsize=None)(_make_rng)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return [get_rng().random() for _ in range(n)]


    @fm.step(outputs="y")
    def noise():
        return get_rng().random()


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "def _make_rng():", "def _make_rng():  # once"),
    "kept by an lru_cache made by a call, the generator's module imported inside"))

add(_two_drawers("generator_kept_by_lru_cache_made_one_call_deeper_drawn_by_two_steps", {
    "pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    def _make(seed):
        return np.random.default_rng(seed)


    @functools.lru_cache(maxsize=None)
    def get_rng():
        return _make(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return get_rng().random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(get_rng().random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "def _make(seed):", "def _make(seed):  # a fresh one"),
    "kept by an lru_cache around a helper whose helper makes it"))

add(_two_drawers("generator_kept_on_a_class_by_a_classmethod_drawn_by_two_steps", {
    "pipe.py": src("""
    import numpy as np

    import flowyml as fm


    class Rngs:
        _rng = None

        @staticmethod
        def _make():
            return np.random.default_rng(0)

        @classmethod
        def get(cls):
            if cls._rng is None:
                cls._rng = cls._make()
            return cls._rng


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return Rngs.get().random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(Rngs.get().random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "    _rng = None", "    _rng = None  # made on first use"),
    "set lazily on a class by a classmethod, made by a static method of it"))

add(_two_drawers("generator_kept_on_an_instance_by_a_method_drawn_by_two_steps", {
    "pipe.py": src("""
    import numpy as np

    import flowyml as fm


    class Sampler:
        def __init__(self, seed):
            self.seed = seed
            self._rng = None

        def _make(self):
            return np.random.default_rng(self.seed)

        def draw(self, n):
            if self._rng is None:
                self._rng = self._make()
            return self._rng.random(n).tolist()


    SAMPLER = Sampler(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return SAMPLER.draw(n)


    @fm.step(outputs="y")
    def noise():
        return SAMPLER.draw(1)[0]


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "SAMPLER = Sampler(0)", "SAMPLER = Sampler(0)  # one for the pipeline"),
    "set lazily on a global instance by its method (self._make())"))

add(_two_drawers("generator_kept_on_an_instance_with_or_drawn_by_two_steps", {
    "pipe.py": src("""
    import random

    import flowyml as fm


    class Sampler:
        _rng = None

        def draw(self, n):
            self._rng = self._rng or random.Random(0)
            return [self._rng.random() for _ in range(n)]


    SAMPLER = Sampler()


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return SAMPLER.draw(n)


    @fm.step(outputs="y")
    def noise():
        return SAMPLER.draw(1)[0]


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "SAMPLER = Sampler()", "SAMPLER = Sampler()  # one for the pipeline"),
    "set lazily on a global instance (self._rng = self._rng or random.Random(0))"))

add(_two_drawers("generator_kept_by_a_cached_property_drawn_by_two_steps", {
    "pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    class Sampler:
        @functools.cached_property
        def rng(self):
            return np.random.default_rng(0)


    SAMPLER = Sampler()


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return SAMPLER.rng.random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(SAMPLER.rng.random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "SAMPLER = Sampler()", "SAMPLER = Sampler()  # one for the pipeline"),
    "made by a functools.cached_property of a global instance"))

add(_two_drawers("generator_kept_by_lru_cache_on_a_method_drawn_by_two_steps", {
    "pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    class Sampler:
        @functools.lru_cache(maxsize=None)
        def rng(self):
            return np.random.default_rng(0)


    SAMPLER = Sampler()


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return SAMPLER.rng().random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(SAMPLER.rng().random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "SAMPLER = Sampler()", "SAMPLER = Sampler()  # one for the pipeline"),
    "made by a method functools.lru_cache keeps, on a global instance"))

add(_two_drawers("generator_kept_by_nonlocal_in_a_closure_drawn_by_two_steps", {
    "pipe.py": src("""
    import numpy as np

    import flowyml as fm


    def _lazy_rng(seed):
        rng = None

        def get():
            nonlocal rng
            rng = rng or np.random.default_rng(seed)
            return rng

        return get


    get_rng = _lazy_rng(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return get_rng().random(n).tolist()


    @fm.step(outputs="y")
    def noise():
        return float(get_rng().random())


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "get_rng = _lazy_rng(0)", "get_rng = _lazy_rng(0)  # one stream"),
    "made lazily in a closure factory's cell (nonlocal rng; rng = rng or ...)"))

add(_two_drawers("generator_kept_by_a_memo_decorator_drawn_by_two_steps", {
    "pipe.py": src("""
    import functools
    import random

    import flowyml as fm


    def memo(fn):
        made = {}

        @functools.wraps(fn)
        def wrapper(*args):
            if args not in made:
                made[args] = fn(*args)
            return made[args]

        return wrapper


    @memo
    def get_rng():
        return random.Random(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return [get_rng().random() for _ in range(n)]


    @fm.step(outputs="y")
    def noise():
        return get_rng().random()


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "def get_rng():", "def get_rng():  # made once"),
    "kept by a memo decorator of yours (a wrapper storing into its closure)"))

add(_two_drawers("instance_holding_a_generator_kept_by_lru_cache_drawn_by_two_steps", {
    "pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    class Sampler:
        def __init__(self, seed):
            self.rng = np.random.default_rng(seed)

        def draw(self, n):
            return self.rng.random(n).tolist()


    @functools.lru_cache(maxsize=None)
    def get_sampler():
        return Sampler(0)


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return get_sampler().draw(n)


    @fm.step(outputs="y")
    def noise():
        return get_sampler().draw(1)[0]


    pipe = fm.Pipeline("ns", [sample, noise])
""")}, E("pipe.py", "def get_sampler():", "def get_sampler():  # made once"),
    "held by an instance an lru_cache keeps (its __init__ makes the generator)"))

add(idiom("lru_cached_data_made_with_a_generator_read_by_two_steps", {"pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    @functools.lru_cache(maxsize=None)
    def load_data(n=4):
        rng = np.random.default_rng(0)
        return tuple(rng.normal(size=n).round(6).tolist())


    @fm.step(outputs="x")
    def head(k: int = 2):
        return list(load_data()[:k])


    @fm.step(outputs="y")
    def total():
        return sum(load_data())


    pipe = fm.Pipeline("ns", [head, total])
""")},
    unchanged(),
    same(E("pipe.py", "def load_data(n=4):", "def load_data(n=4):  # made once"),
         note="comment"),
    change(E("pipe.py", "default_rng(0)", "default_rng(1)"),
           note="the seed of the data the cached helper makes"),
    steps=("head", "total"),
    check={"x": "head()", "y": "total()"},
    no_fingerprint_warning=True,
))

add(idiom("generator_kept_by_lru_cache_of_one_step", {"pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    @functools.lru_cache(maxsize=None)
    def get_rng(seed):
        return np.random.default_rng(seed)


    @functools.lru_cache(maxsize=None)
    def settings():
        return {"scale": 2}


    @fm.step(outputs="y")
    def f(n: int = 2):
        return [v * settings()["scale"] for v in get_rng(0).random(n).tolist()]


    @fm.step(outputs="z")
    def g(y):
        return sum(y) * settings()["scale"]


    pipe = fm.Pipeline("ns", [f, g])
""")},
    unchanged(),
    same(E("pipe.py", "def get_rng(seed):", "def get_rng(seed):  # made once"), note="comment"),
    change(E("pipe.py", "get_rng(0)", "get_rng(1)"), note="the generator's seed"),
    steps=("f", "g"),
    no_fingerprint_warning=True,
))

add(idiom("generator_kept_by_a_cached_property_of_one_step", {"pipe.py": src("""
    import functools

    import numpy as np

    import flowyml as fm


    class Sampler:
        def __init__(self, seed):
            self.seed = seed

        @functools.cached_property
        def rng(self):
            return np.random.default_rng(self.seed)


    SAMPLER = Sampler(0)


    @fm.step(outputs="y")
    def f(n: int = 2):
        return SAMPLER.rng.random(n).tolist()


    @fm.step(outputs="z")
    def g(y):
        return sum(y)


    pipe = fm.Pipeline("ns", [f, g])
""")},
    unchanged(),
    same(E("pipe.py", "SAMPLER = Sampler(0)", "SAMPLER = Sampler(0)  # its own stream"),
         note="comment"),
    change(E("pipe.py", "SAMPLER = Sampler(0)", "SAMPLER = Sampler(1)"), note="the generator's seed"),
    steps=("f", "g"),
    no_fingerprint_warning=True,
))

add(idiom("generator_made_by_each_steps_own_instance", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm


    class Sampler:
        def __init__(self, seed):
            self.rng = np.random.default_rng(seed)

        def draw(self, n):
            return self.rng.random(n).tolist()


    @fm.step(outputs="x")
    def sample(n: int = 2):
        return Sampler(0).draw(n)


    @fm.step(outputs="y")
    def noise():
        return Sampler(1).draw(1)[0]


    pipe = fm.Pipeline("ns", [sample, noise])
""")},
    unchanged(),
    same(E("pipe.py", "    def __init__(self, seed):", "    def __init__(self, seed):  # its own"),
         note="comment"),
    change(E("pipe.py", "Sampler(1).draw(1)", "Sampler(2).draw(1)"),
           note="the seed of the second step's generator",
           expect={"sample": "cached", "noise": "executed"}),
    steps=("sample", "noise"),
    check={"x": "sample()", "y": "noise()"},
    no_fingerprint_warning=True,
))

add(idiom("generator_in_a_closure_of_one_step", {"pipe.py": src("""
    import numpy as np

    import flowyml as fm


    def make_step(seed):
        rng = np.random.default_rng(seed)

        @fm.step(outputs="y")
        def f(n: int = 2):
            return rng.random(n).tolist()

        return f


    f = make_step(0)
    pipe = fm.Pipeline("ns", [f])
""")},
    unchanged(),
    same(E("pipe.py", "def make_step(seed):", "def make_step(seed):  # its own stream"),
         note="comment"),
    change(E("pipe.py", "f = make_step(0)", "f = make_step(1)"), note="the generator's seed"),
    no_fingerprint_warning=True,
))

add(idiom("lambda_layout_is_formatting", {
    "util.py": src("""
        from dataclasses import dataclass, field

        import numpy as np

        TRANSFORM = lambda x: x * 2 + 1  # noqa: E731


        @dataclass
        class Cfg:
            weights: dict = field(default_factory=lambda: {"a": 1.0, "b": 2.0})


        OPS = {"inc": lambda x: x + 1, "dbl": lambda x: x * 2}
        FEATURES = {"log": lambda v: float(np.log1p(v)), "sqrt": lambda v: float(np.sqrt(v))}
    """),
    "pipe.py": src("""
        from util import FEATURES, OPS, TRANSFORM, Cfg

        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 5):
            return [[TRANSFORM(i) for i in range(n)], Cfg().weights["b"] * n, OPS["dbl"](n),
                    FEATURES["sqrt"](n)]


        pipe = fm.Pipeline("ns", [f])
    """)},
    same(E("util.py", "TRANSFORM = lambda x: x * 2 + 1  # noqa: E731",
           "TRANSFORM = (  # noqa: E731\n    lambda x: x * 2 + 1\n)"),
         E("util.py", 'field(default_factory=lambda: {"a": 1.0, "b": 2.0})',
           'field(\n        default_factory=lambda: {"a": 1.0, "b": 2.0}\n    )'),
         E("util.py", 'OPS = {"inc": lambda x: x + 1, "dbl": lambda x: x * 2}',
           'OPS = {\n    "inc": lambda x: x + 1,\n    "dbl": lambda x: x * 2,\n}'),
         E("util.py", '{"log": lambda v: float(np.log1p(v)), "sqrt": lambda v: float(np.sqrt(v))}',
           '{\n    "log": lambda v: float(np.log1p(v)),\n    "sqrt": lambda v: float(np.sqrt(v)),\n}'),
         note="lambdas laid out over lines, as a formatter does (those calling a function of "
              "an imported module re-executed: Python 3.11 compiles such a call otherwise "
              "than the lambda compiled alone)"),
    change(E("util.py", '"dbl": lambda x: x * 2,', '"dbl": lambda x: x * 3,'),
           note="a lambda of a dict laid out one per line"),
    change(E("util.py", "lambda x: x * 2 + 1", "lambda x: x * 2 + 2"),
           note="a lambda wrapped in parentheses"),
    no_fingerprint_warning=True,
))

add(idiom("local_annotations_are_not_code", {"pipe.py": src("""
    from dataclasses import dataclass

    import flowyml as fm


    @dataclass
    class Cfg:
        k: int = 2


    def helper(xs):
        out = []
        for x in xs:
            out.append(x * Cfg().k)
        return out


    @fm.step(outputs="y")
    def f(n: int = 3):
        rows = list(range(n))
        return helper(rows)


    pipe = fm.Pipeline("ns", [f])
""")},
    same(E("pipe.py", "    rows = list", "    rows: list[int] = list"),
         E("pipe.py", "    out = []", "    out: list = []"),
         note="type hints added to local variables (neither evaluated nor kept)"),
    change(E("pipe.py", "    k: int = 2", "    k: float = 2"),
           note="the annotation of a dataclass field (it declares the field)"),
))

add(idiom("shared_tracker_object_couples_nothing", {"pipe.py": src('''
    import flowyml as fm


    class Tracker:
        def __init__(self):
            self.count = 0

        def log(self, msg):
            self.count += 1
            return msg


    TRACKER = Tracker()


    @fm.step(outputs="a")
    def load(n: int = 3):
        TRACKER.log("load")
        return list(range(n))


    @fm.step(outputs="y")
    def train(a):
        TRACKER.log("train")
        return sum(a)


    pipe = fm.Pipeline("ns", [load, train])
''')},
    unchanged("every step logs to one tracker object: a log, not state passed between them"),
    same(E("pipe.py", "TRACKER = Tracker()", "TRACKER = Tracker()  # counts calls"),
         note="comment"),
    change(E("pipe.py", "def load(n: int = 3)", "def load(n: int = 4)"),
           note="load's parameter (train follows its input)"),
    steps=("load", "train"),
    check={"y": "train(load())"},
    no_fingerprint_warning=True,
))

add(idiom("decorator_and_wrapt_packages", {
    "decos.py": src('''
        import wrapt
        from decorator import decorator


        @decorator
        def plus(func, *args, **kw):
            return func(*args, **kw) + 1


        @wrapt.decorator
        def doubled(wrapped, instance, args, kwargs):
            return wrapped(*args, **kwargs) * 2


        class Shifted(wrapt.ObjectProxy):
            def __call__(self, *args, **kwargs):
                return self.__wrapped__(*args, **kwargs) + 100
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from decos import Shifted, doubled, plus


        @plus
        def helper(x):
            return x * 3


        def base(x):
            return x - 1


        SHIFTED = Shifted(base)


        @doubled
        def other(x):
            return x + 2


        @fm.step(outputs="y")
        def f(x: int = 3):
            return helper(x) + other(x) + SHIFTED(x)


        @fm.step(outputs="z")
        @doubled
        def g(x: int = 4):
            return x - 1


        pipe = fm.Pipeline("ns", [f, g])
    ''')},
    unchanged(),
    same(E("decos.py", "def plus(func, *args, **kw):", "def plus(func, *args, **kw):  # the caller"),
         note="comment in a decorator's caller"),
    change(E("decos.py", "**kw) + 1", "**kw) + 10"), expect={"f": "executed", "g": "cached"},
           note="the caller the `decorator` package's wrapper calls"),
    change(E("decos.py", ") * 2", ") * 3"), expect={"f": "executed", "g": "executed"},
           note="the wrapper of `@wrapt.decorator`, on a helper and on the step"),
    change(E("pipe.py", "return x * 3", "return x * 4"), expect={"f": "executed", "g": "cached"},
           note="the decorated helper"),
    change(E("decos.py", ") + 100", ") + 200"), expect={"f": "executed", "g": "cached"},
           note="the __call__ of a wrapt.ObjectProxy subclass a global wraps a function in"),
    steps=("f", "g"),
    check={"y": "f()", "z": "g()"},
    no_fingerprint_warning=True,
))

add(idiom("code_loaded_by_name_under_other_names", {
    "models.py": src('''
        class Model:
            def fit(self, x):
                return x * 2


        def fit(x):
            return x * 2
    '''),
    "pipe.py": src('''
        import importlib
        import pkgutil
        from importlib import import_module as im
        from pydoc import locate

        import yaml
        from jinja2.utils import import_string

        import flowyml as fm

        CONFIG = {"target": "models:Model"}


        @fm.step(outputs="a")
        def by_resolve_name(x: int = 4):
            return pkgutil.resolve_name(CONFIG["target"])().fit(x)


        @fm.step(outputs="b")
        def by_locate(x: int = 4, target: str = "models"):
            return locate(target + ".fit")(x)


        @fm.step(outputs="c")
        def by_alias(x: int = 4, target: str = "models"):
            return im(target).fit(x)


        @fm.step(outputs="d")
        def by_dunder(x: int = 4, target: str = "models"):
            return importlib.__import__(target).fit(x)


        @fm.step(outputs="e")
        def by_library(x: int = 4):
            return import_string("models:fit")(x) + yaml.unsafe_load(
                "!!python/name:models.fit")(x)


        pipe = fm.Pipeline("ns", [by_resolve_name, by_locate, by_alias, by_dunder, by_library])
    ''')},
    unchanged(),
    same(E("models.py", "class Model:", "class Model:  # found by name"), note="comment"),
    change(E("models.py", "        return x * 2\n\n\ndef", "        return x * 3\n\n\ndef"),
           note="a method of the class pkgutil.resolve_name finds by a string",
           expect={"by_resolve_name": "executed", "by_locate": "executed",
                   "by_alias": "executed", "by_dunder": "executed", "by_library": "executed"}),
    change(E("models.py", "def fit(x):\n    return x * 2", "def fit(x):\n    return x * 5"),
           note="the function found by pydoc.locate (imported by its name), an aliased "
                "import_module, importlib.__import__, jinja2's import_string, a YAML "
                "!!python/name tag",
           expect={"by_resolve_name": "executed", "by_locate": "executed",
                   "by_alias": "executed", "by_dunder": "executed", "by_library": "executed"}),
    steps=("by_resolve_name", "by_locate", "by_alias", "by_dunder", "by_library"),
    check={"a": "by_resolve_name()", "b": "by_locate()", "c": "by_alias()", "d": "by_dunder()",
           "e": "by_library()"},
    warns_at_build=("resolve_name", "by_locate", "by_alias", "by_dunder", "by_library"),
))

add(idiom("registered_with_the_standard_library", {
    "geom.py": src('''
        import copyreg
        import sqlite3


        class Point:
            def __init__(self, x, y):
                self.x, self.y = x, y


        def _rebuild(x, y):
            return Point(x, y)


        def _reduce_point(p):
            return _rebuild, (p.x, p.y)


        copyreg.pickle(Point, _reduce_point)


        def _to_pair(b):
            x, y = map(float, b.split(b";"))
            return (x, y)


        sqlite3.register_converter("pair", _to_pair)
    '''),
    "pipe.py": src('''
        import copy
        import sqlite3

        import flowyml as fm
        from geom import Point


        @fm.step(outputs="y")
        def copied(x: int = 3):
            q = copy.deepcopy(Point(x, 1))
            return [q.x, q.y]


        @fm.step(outputs="z")
        def queried():
            con = sqlite3.connect(":memory:", detect_types=sqlite3.PARSE_DECLTYPES)
            con.execute("create table t (p pair)")
            con.execute("insert into t values ('1.0;2.0')")
            return list(con.execute("select p from t").fetchone()[0])


        pipe = fm.Pipeline("ns", [copied, queried])
    ''')},
    unchanged(),
    same(E("geom.py", "def _to_pair(b):", "def _to_pair(b):  # 'x;y' -> (x, y)"), note="comment"),
    change(E("geom.py", "return Point(x, y)", "return Point(x * 10, y)"),
           note="the function a copyreg reducer rebuilds with (copy.deepcopy calls it)",
           expect={"copied": "executed", "queried": "cached"}),
    change(E("geom.py", "return (x, y)", "return (y, x)"),
           note="a converter registered with sqlite3.register_converter",
           expect={"copied": "cached", "queried": "executed"}),
    steps=("copied", "queried"),
    check={"y": "copied()", "z": "queried()"},
    no_fingerprint_warning=True,
))

add(idiom("attributes_of_container_subclasses", {
    "vocab.py": src('''
        from collections import Counter, defaultdict


        class Vocab(Counter):
            def kept(self):
                return sorted(w for w, n in self.items() if n >= self.min_freq)


        class Table(defaultdict):
            def total(self):
                return sum(self.values()) * self.scale


        VOCAB = Vocab("a a a b b c".split())
        VOCAB.min_freq = 2
        TABLE = Table(int, {"x": 1, "y": 2})
        TABLE.scale = 2
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from vocab import TABLE, VOCAB


        @fm.step(outputs="y")
        def f():
            return [VOCAB.kept(), TABLE.total()]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("vocab.py", "TABLE.scale = 2", "TABLE.scale = 2  # doubled"), note="comment"),
    change(E("vocab.py", "VOCAB.min_freq = 2", "VOCAB.min_freq = 3"),
           note="an attribute of a Counter subclass's instance (Counter's reduce drops it)"),
    change(E("vocab.py", "TABLE.scale = 2", "TABLE.scale = 5"),
           note="an attribute of a defaultdict subclass's instance"),
))

add(idiom("dict_constants_holding_arrays", {"pipe.py": src('''
    import numpy as np
    import pandas as pd

    import flowyml as fm

    WEIGHTS = {"a": np.array([1.0, 2.0]), "b": pd.Series([3.0, 4.0])}
    REPLACE = {"n/a": pd.NA, "": pd.NA}
    LABELS = {pd.NA: "missing"}


    @fm.step(outputs="y")
    def f():
        raw = pd.Series(["1", "n/a", "2"]).replace(REPLACE)
        return [float(WEIGHTS["a"].sum() + WEIGHTS["b"].sum()), int(raw.isna().sum()),
                LABELS[pd.NA]]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged("a dict whose values are arrays, Series or pd.NA (whose truth raises): the build "
              "crashed on them"),
    same(E("pipe.py", "LABELS = {", "# what missing shows as\nLABELS = {"), note="comment"),
    change(E("pipe.py", "np.array([1.0, 2.0])", "np.array([1.0, 5.0])"), note="an array in a dict"),
    change(E("pipe.py", "pd.Series([3.0, 4.0])", "pd.Series([3.0, 6.0])"), note="a Series in a dict"),
    change(E("pipe.py", '"": pd.NA}', '"": None, "2": pd.NA}'), note="pd.NA values in a dict"),
))

add(idiom("library_settings_beneath_the_library_named", {
    "settings.py": src('''
        import csv

        import numpy as np
        import pandas as pd

        np.set_printoptions(precision=5)
        pd.set_option("display.precision", 4)
        csv.register_dialect("semi", delimiter=";")
    '''),
    "pipe.py": src('''
        import csv
        import io

        import pandas as pd
        import polars as pl

        import flowyml as fm
        import settings  # noqa: F401


        @fm.step(outputs="y")
        def shown():
            return [str(pd.Series([1.234567]).to_numpy()),
                    str(pl.DataFrame({"a": [1.234567]}).to_pandas())]


        @fm.step(outputs="z")
        def parsed():
            return list(csv.reader(io.StringIO("a;b\\n1;2\\n"), dialect="semi"))


        pipe = fm.Pipeline("ns", [shown, parsed])
    ''')},
    unchanged(),
    same(E("settings.py", "np.set_printoptions(precision=5)",
           "np.set_printoptions(precision=5)  # for the report"), note="comment"),
    change(E("settings.py", "precision=5", "precision=2"), expect={"shown": "executed", "parsed": "cached"},
           note="numpy's print options, for a step that names only pandas"),
    change(E("settings.py", '"display.precision", 4', '"display.precision", 2'),
           expect={"shown": "executed", "parsed": "cached"},
           note="pandas' display options, for a step that names only polars"),
    change(E("settings.py", 'delimiter=";"', 'delimiter=","'), expect={"shown": "executed", "parsed": "executed"},
           note="a csv dialect registered at import (for the pandas step too: pandas reads "
                "csv's dialects)"),
    steps=("shown", "parsed"),
    check={"y": "shown()", "z": "parsed()"},
))

add(idiom("bases_and_defaults_made_by_a_call", {"pipe.py": src('''
    import contextvars

    import flowyml as fm

    BASE = ValueError
    Bad = type("Bad", (BASE,), {"code": 1})
    UNIT = contextvars.ContextVar("unit", default="m")


    @fm.step(outputs="y")
    def f():
        try:
            raise Bad("no")
        except KeyError:
            kind = "key"
        except ValueError:
            kind = "value"
        return [kind, f"10{UNIT.get()}"]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "BASE = ValueError", "BASE = ValueError  # what Bad is"), note="comment"),
    change(E("pipe.py", "BASE = ValueError", "BASE = KeyError"),
           note="the library base of a class made by type(...)"),
    change(E("pipe.py", 'default="m"', 'default="km"'), note="a ContextVar's default"),
))

add(idiom("thread_pool_global_is_not_an_input", {"pipe.py": src('''
    from concurrent.futures import ThreadPoolExecutor

    import flowyml as fm

    POOL = ThreadPoolExecutor(2)


    def square(x):
        return x * x


    @fm.step(outputs="y")
    def f(n: int = 4):
        return list(POOL.map(square, range(n)))


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged("a thread pool the step works on is workers, not an input: reused (it "
              "re-executed every run, as a value with no canonical form)"),
    same(E("pipe.py", "POOL = ThreadPoolExecutor(2)", "POOL = ThreadPoolExecutor(2)  # I/O"),
         note="comment"),
    change(E("pipe.py", "return x * x", "return x * x + 1"), note="the function the pool maps"),
    no_fingerprint_warning=True,
))

add(idiom("own_modules_named_like_the_standard_library", {
    "../shared/sched.py": src('''
        def plan(x):
            return x * 2
    '''),
    "code.py": src('''
        class Model:
            def __init__(self, w):
                self.w = w

            def predict(self, x):
                return x * self.w
    '''),
    "pipe.py": src('''
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "shared"))

        import flowyml as fm  # noqa: E402
        from code import Model  # noqa: E402  (the project's code.py, not the standard one)
        from sched import plan  # noqa: E402  (a sibling folder's sched.py)


        @fm.step(outputs="model")
        def train(w: int = 2):
            return Model(w)


        @fm.step(outputs="y")
        def f(model, n: int = 4):
            return [model.predict(i) + plan(i) for i in range(n)]


        pipe = fm.Pipeline("ns", [train, f])
    ''')},
    unchanged(),
    same(E("../shared/sched.py", "def plan(x):", "def plan(x):  # shared"), note="comment"),
    change(E("../shared/sched.py", "x * 2", "x * 7"), expect={"train": "cached", "f": "executed"},
           note="a helper in a module outside the root named like a standard one (sched)"),
    change(E("code.py", "return x * self.w", "return x * self.w + 100"),
           expect={"train": "executed", "f": "executed"},
           note="the class of a pickled model, in the project's code.py"),
    steps=("train", "f"),
    check={"y": "f(train())"},
))

add(idiom("plugins_found_by_entry_points", {
    "plugins/myplugins/__init__.py": "",
    "plugins/myplugins/double.py": "def run(x):\n    return x * 2\n",
    "plugins/myplugins/triple.py": "def run(x):\n    return x * 3\n",
    "plugins/myplugins-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: myplugins\nVersion: 0.1\n",
    "plugins/myplugins-0.1.dist-info/entry_points.txt": "[ns.ops]\nop = myplugins.double:run\n",
    "pipe.py": src('''
        import sys
        from importlib.metadata import entry_points
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parent / "plugins"))

        import flowyml as fm  # noqa: E402


        @fm.step(outputs="y")
        def f(n: int = 4):
            ops = [ep.load() for ep in entry_points(group="ns.ops")]
            return [[op(i) for i in range(n)] for op in ops]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("plugins/myplugins/double.py", "def run(x):\n", "# doubles\ndef run(x):\n"),
         note="comment in a plugin"),
    change(E("plugins/myplugins/double.py", "x * 2", "x * 20"),
           note="a plugin the step loads through entry_points()"),
    change(E("plugins/myplugins-0.1.dist-info/entry_points.txt", "myplugins.double:run",
             "myplugins.triple:run"), note="the entry point, pointed at another plugin"),
    warns_at_build=("f",),
))

add(idiom("weights_file_named_pth", {
    "model.pth": '{"w": 2}\n',
    "pipe.py": src('''
        import json

        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            with open("model.pth") as fh:  # PyTorch's suffix for weights
                w = json.load(fh)["w"]
            return [i * w for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("pipe.py", "def f(n: int = 4):", "def f(n: int = 4):  # weights"), note="comment"),
    change(E("model.pth", '"w": 2', '"w": 5'),
           note="a weights file named .pth the step reads (.pth files were never recorded)"),
))

add(idiom("computed_getattr_on_a_library_module", {"pipe.py": src('''
    import statistics
    from datetime import datetime

    import flowyml as fm

    STARTED = datetime.now().isoformat()  # a value of every process: counted only whole
    AGG = "median"


    def report():
        return f"run started {STARTED}"


    @fm.step(outputs="s")
    def summary(n: int = 5):
        return getattr(statistics, AGG)(range(n))


    pipe = fm.Pipeline("ns", [summary])
''')},
    unchanged("a computed getattr on a library's module counts that library: no whole-module "
              "fallback, so the module's timestamp is no input"),
    same(E("pipe.py", "def report():", "def report():  # for the log"), note="comment"),
    change(E("pipe.py", '    return f"run started {STARTED}"', '    return f"run began {STARTED}"'),
           note="an edit of a function no step reaches", expect={"summary": "cached"}),
    change(E("pipe.py", 'AGG = "median"', 'AGG = "mean"'),
           note="the name a computed getattr looks up in statistics"),
    steps=("summary",),
    check={"s": "summary()"},
    no_fingerprint_warning=True,
))

add(idiom("pydantic_docstring_reformatted", {"models.py": src('''
    from pydantic import BaseModel


    class Params(BaseModel):
        """
            Training parameters.
                indented detail
        """

        lr: float = 0.1
'''), "pipe.py": src('''
    import flowyml as fm
    from models import Params


    @fm.step(outputs="y")
    def f():
        return Params.model_json_schema()


    pipe = fm.Pipeline("ns", [f])
''')},
    same(E("models.py", "    lr: float = 0.1", "    lr: float = 0.1  # per step"), note="comment"),
    change(E("models.py", '''    """
        Training parameters.
            indented detail
    """''', '''    """
    Training parameters.
        indented detail
    """'''), expect={"f": "cached"},
           note="a formatter re-indenting a model's docstring (what pydantic reads, "
                "inspect.cleandoc of it, is the same): reused"),
    change(E("models.py", "indented detail", "more detail"), note="the docstring's text"),
    requires=("pydantic",), reads_docstrings=True,
))

add(idiom("python_file_read_as_data", {
    "settings.py": "RATE = 2  # per item\n",
    "helpers.py": src('''
        def scale(x):
            return x * 3
    '''),
    "pipe.py": src('''
        import ast
        from pathlib import Path

        import flowyml as fm

        import helpers


        @fm.step(outputs="y")
        def f(n: int = 4):
            # settings read as text, never imported
            tree = ast.parse(Path("settings.py").read_text())
            rate = next(s.value.value for s in tree.body if s.targets[0].id == "RATE")
            return [helpers.scale(i) * rate for i in range(n)]


        @fm.step(outputs="lines")
        def g():
            with open("helpers.py") as fh:  # the project's code as data: its length
                return len(fh.read().splitlines())


        pipe = fm.Pipeline("ns", [f, g])
    ''')},
    unchanged(),
    same(E("pipe.py", "# settings read as text", "# the settings, read as text"), note="comment"),
    change(E("settings.py", "RATE = 2", "RATE = 5"), expect={"f": "executed", "g": "cached"},
           note="a .py file the step opens itself is data (every .py read was skipped)"),
    change(E("helpers.py", "return x * 3", "return x * 3  # triple"),
           expect={"f": "cached", "g": "executed"},
           note="a comment in a module: imported by f (code, reused), read by g (bytes)"),
    steps=("f", "g"), check={"y": "f()", "lines": "g()"}, reads_source=("helpers.py",),
))

add(idiom("files_read_outside_python", {
    "data.csv": "x\n1\n2\n",
    "events.ndjson": '{"x": 10}\n{"x": 20}\n',
    "pipe.py": src('''
        import polars as pl
        from polars import read_ndjson  # bound before any build

        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            total = int(pl.read_csv("data.csv")["x"].sum())  # opened in Rust
            return [i * total for i in range(n)]


        @fm.step(outputs="z")
        def g():
            return int(read_ndjson("events.ndjson")["x"].sum())


        pipe = fm.Pipeline("ns", [f, g])
    ''')},
    unchanged(),
    same(E("pipe.py", "# opened in Rust", "# polars opens it in Rust"), note="comment"),
    change(E("data.csv", "2\n", "5\n"), expect={"f": "executed", "g": "cached"},
           note="a file polars reads (Python's open never sees it: it was never recorded)"),
    change(E("events.ndjson", '{"x": 20}', '{"x": 25}'), expect={"f": "cached", "g": "executed"},
           note="a file read by a reader bound by `from polars import` before the build"),
    steps=("f", "g"), check={"y": "f()", "z": "g()"}, requires=("polars",),
))

add(idiom("own_file_resolved_in_a_step", {
    "data/x.csv": "a\n1\n2\n",
    "pipe.py": src('''
        from pathlib import Path

        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 4):
            here = Path(__file__).resolve().parent  # the project, wherever it runs from
            rows = len((here / "data" / "x.csv").read_text().splitlines())
            return [i * rows for i in range(n)]


        @fm.step(outputs="z")
        def g():
            return 43


        pipe = fm.Pipeline("ns", [f, g])
    ''')},
    unchanged(),
    same(E("pipe.py", "# the project, wherever", "# this project, wherever"), note="comment"),
    change(E("pipe.py", "return 43", "return 44"), expect={"f": "cached", "g": "executed"},
           note="another step of the file edited: f only resolved the file's path (its "
                "lstat counted the file by size and times)"),
    change(E("data/x.csv", "2\n", "2\n3\n"), expect={"f": "executed", "g": "cached"},
           note="the data file it reads"),
    steps=("f", "g"), check={"y": "f()", "z": "g()"},
))

add(idiom("items_popped_from_a_global_list_by_two_steps", {"pipe.py": src('''
    import flowyml as fm

    TODO = [3, 5, 7]


    @fm.step(outputs="first")
    def a():
        return TODO.pop(0) * 10


    @fm.step(outputs="second")
    def b():
        return TODO.pop(0)  # what a left


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "each takes what the other left: coupled, both re-execute",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# what a left", "# the next item"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", "return TODO.pop(0) * 10", "return 10"),
           note="a no longer takes the first item: b gets it (a lone b was reused: stale)",
           expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"second": "[a(), b()][1]"},  # (one process: a() takes once)
    warns_at_build=("TODO",),
))

add(idiom("items_taken_from_a_global_queue_and_deque_by_two_steps", {"pipe.py": src('''
    import collections
    import heapq
    import queue

    import flowyml as fm

    JOBS = queue.Queue()
    for job in (3, 5, 7):
        JOBS.put(job)
    SEEN = collections.deque([1, 2, 3])
    HEAP = [4, 1, 9]
    heapq.heapify(HEAP)


    @fm.step(outputs="first")
    def a(k: int = 1):
        return [JOBS.get() for _ in range(k)], SEEN.popleft(), heapq.heappop(HEAP)


    @fm.step(outputs="second")
    def b():
        return JOBS.get_nowait(), SEEN.popleft(), heapq.heappop(HEAP)  # what a left


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "each takes what the other left: coupled, both re-execute",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# what a left", "# the next ones"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", "def a(k: int = 1):", "def a(k: int = 2):"),
           note="a takes two jobs: b gets the third", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"second": "[a(), b()][1]"},  # (one process: a() takes once)
    warns_at_build=("JOBS",),
))

add(idiom("global_dict_read_with_get_and_a_lone_pop_couple_nothing", {"pipe.py": src('''
    import flowyml as fm

    CFG = {"scale": 2, "shift": 1}
    PENDING = [4, 5]


    @fm.step(outputs="y")
    def f(n: int = 3):
        return [i * CFG.get("scale", 1) for i in range(n)]


    @fm.step(outputs="z")
    def g(y):
        return [v + CFG.get("shift", 0) for v in y] + [PENDING.pop()]


    pipe = fm.Pipeline("ns", [f, g])
''')},
    unchanged("a dict's get takes nothing, and one step alone takes from PENDING: both reused"),
    same(E("pipe.py", 'CFG = {"scale": 2, "shift": 1}', 'CFG = {"scale": 2, "shift": 1}  # knobs'),
         note="comment"),
    change(E("pipe.py", '"shift": 1', '"shift": 3'), note="a value both read",
           expect={"f": "executed", "g": "executed"}),
    change(E("pipe.py", "PENDING = [4, 5]", "PENDING = [4, 6]"), note="what g takes",
           expect={"f": "cached", "g": "executed"}),
    steps=("f", "g"), check={"y": "f()", "z": "g(f())"},
))

add(idiom("lock_semaphore_and_log_file_globals_are_not_inputs", {"pipe.py": src('''
    import os
    import threading

    import flowyml as fm

    LOCK = threading.Lock()
    RLOCK = threading.RLock()
    SLOTS = threading.Semaphore(2)
    LOG = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.log"), "a")


    @fm.step(outputs="y")
    def f(n: int = 4):
        with LOCK, RLOCK, SLOTS:
            LOG.write(f"f {n}\\n")
            LOG.flush()
            return [i * 2 for i in range(n)]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged("locks decide when, not what; a file open only for writing is output: reused "
              "(each re-executed the step every run, as a value with no canonical form)"),
    same(E("pipe.py", "SLOTS = threading.Semaphore(2)", "SLOTS = threading.Semaphore(2)  # I/O"),
         note="comment"),
    change(E("pipe.py", "i * 2 for", "i * 3 for"), note="the step's own code"),
    no_fingerprint_warning=True,
))

add(idiom("bound_read_of_a_file_opened_at_import", {
    "data.txt": "hello\n",
    "pipe.py": src('''
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))
        READ = open(os.path.join(HERE, "data.txt")).read  # the file, opened at import


        @fm.step(outputs="y")
        def f():
            return READ().upper()


        pipe = fm.Pipeline("ns", [f])
    ''')},
    Phase("unchanged", (), "what the file holds is read as the step runs: re-executes, warned",
          {"f": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# the file, opened at import", "# opened once"),),
          "comment", {"f": "executed"}),
    change(E("data.txt", "hello", "world"),
           note="the file's content (a bound read of an open file counted nothing: stale)"),
    warns_at_build=("READ",),
))

add(idiom("local_time_zone_set_by_the_script", {"pipe.py": src('''
    import datetime
    import os
    import time

    import flowyml as fm

    os.environ["TZ"] = "America/New_York"  # where the data was logged
    time.tzset()


    @fm.step(outputs="y")
    def f(stamps: tuple = (0, 86400 * 200)):
        return [datetime.datetime.fromtimestamp(s).hour for s in stamps]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "# where the data was logged", "# the loggers' zone"), note="comment"),
    change(E("pipe.py", '"America/New_York"', '"Asia/Tokyo"'),
           note="the local zone fromtimestamp converts to (it counted nothing: stale, and "
                "a catalog shared by machines in two zones reused each other's hours)"),
))

add(idiom("value_put_into_builtins_by_a_module", {
    "config.py": src('''
        import builtins

        builtins.SCALE = 3  # found by every module, as print is
    '''),
    "pipe.py": src('''
        import config  # noqa: F401
        import flowyml as fm


        @fm.step(outputs="y")
        def f(n: int = 3):
            return [i * SCALE for i in range(n)]  # noqa: F821


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("config.py", "# found by every module, as print is", "# the global scale"),
         note="comment"),
    change(E("config.py", "builtins.SCALE = 3", "builtins.SCALE = 4"),
           note="the value the name finds in builtins (it counted nothing: stale)"),
))

add(idiom("decimal_context_set_in_a_step", {"pipe.py": src('''
    import decimal
    from decimal import Decimal

    import flowyml as fm


    @fm.step(outputs="ready")
    def setup():
        decimal.getcontext().prec = 6  # money: six digits
        return True


    @fm.step(outputs="y")
    def third(ready):
        return str(Decimal(1) / Decimal(7))


    pipe = fm.Pipeline("ns", [setup, third])
''')},
    Phase("unchanged", (), "a step that sets decimal's context couples the steps using "
          "decimal: both re-execute, warned", {"setup": "executed", "third": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# money: six digits", "# six significant digits"),),
          "comment", {"setup": "executed", "third": "executed"}),
    change(E("pipe.py", "prec = 6", "prec = 9"),
           note="the precision third divides with (its key counted the context at build, "
                "before setup ran: stale)", expect={"setup": "executed", "third": "executed"}),
    steps=("setup", "third"), check={"y": "[setup(), third(True)][1]"},
    warns_at_build=("decimal",),
))

add(idiom("decimal_localcontext_in_a_step_couples_nothing", {"pipe.py": src('''
    import decimal
    from decimal import Decimal

    import flowyml as fm


    @fm.step(outputs="x")
    def rounded(n: int = 1):
        with decimal.localcontext() as ctx:
            ctx.prec = 6  # for this block only
            return str(Decimal(n) / Decimal(7))


    @fm.step(outputs="y")
    def third(x):
        return x + str(Decimal(1) / Decimal(3))


    pipe = fm.Pipeline("ns", [rounded, third])
''')},
    unchanged("a context set in a with block is put back: nothing is coupled"),
    same(E("pipe.py", "# for this block only", "# six digits here"), note="comment"),
    change(E("pipe.py", "ctx.prec = 6", "ctx.prec = 8"), note="the block's precision",
           expect={"rounded": "executed", "third": "executed"}),
    steps=("rounded", "third"), check={"y": "third(rounded())"}, no_fingerprint_warning=True,
))

add(idiom("registry_with_a_lock_filled_by_one_step_read_by_another", {"pipe.py": src('''
    import threading

    import flowyml as fm


    class Registry:
        def __init__(self):
            self._lock = threading.Lock()
            self._items = {}

        def register(self, name, value):
            with self._lock:
                self._put(name, value)

        def _put(self, name, value):
            self._items[name] = value

        def get(self, name):
            return self._items.get(name)


    REG = Registry()


    @fm.step(outputs="added")
    def a():
        REG.register("m", "alpha")  # registers a model
        return 1


    @fm.step(outputs="y")
    def b(added):
        return REG.get("m")


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "an object holding a lock guards state its methods change as "
          "steps run: no canonical form, both re-execute, warned",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# registers a model", "# one more name"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", 'REG.register("m", "alpha")', 'REG.register("m", "beta")'),
           note="what a puts in the registry b reads (tokenized by its contents, b was "
                "reused: stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"y": "[a(), b(1)][1]"}, warns_at_build=("REG",),
))

add(idiom("bounded_memo_evicting_with_popitem_couples_nothing", {"pipe.py": src('''
    from collections import OrderedDict

    import flowyml as fm

    _MEMO = OrderedDict()


    def square(x):
        if x not in _MEMO:
            _MEMO[x] = x * x
            if len(_MEMO) > 2:
                _MEMO.popitem(last=False)  # evict the oldest
        return _MEMO[x]


    @fm.step(outputs="y")
    def f(n: int = 4):
        return [square(i) for i in range(n)]


    @fm.step(outputs="z")
    def g(y):
        return [square(v) for v in y]


    pipe = fm.Pipeline("ns", [f, g])
''')},
    unchanged("an eviction whose item is dropped takes nothing a step uses: a memo both "
              "fill, reused"),
    same(E("pipe.py", "# evict the oldest", "# keep two"), note="comment"),
    change(E("pipe.py", "x * x", "x * x + 1"), note="the helper both steps call",
           expect={"f": "executed", "g": "executed"}),
    steps=("f", "g"), check={"y": "f()", "z": "g(f())"},
))

add(idiom("lazy_config_loaded_once_into_a_global_used_by_two_steps", {
    "config.json": '{"rate": 0.1}\n',
    "pipe.py": src('''
        import json
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))
        _CFG = None


        def config():
            global _CFG
            if _CFG is None:  # loaded once per process
                with open(os.path.join(HERE, "config.json")) as f:
                    _CFG = json.load(f)
            return _CFG


        @fm.step(outputs="a")
        def a():
            return config()["rate"] * 2


        @fm.step(outputs="b")
        def b():
            return config()["rate"] + 1


        pipe = fm.Pipeline("ns", [a, b])
    ''')},
    unchanged("both load the config: reused, b's record keeping the file a read to load it"),
    same(E("pipe.py", "# loaded once per process", "# read the file once"), note="comment"),
    change(E("config.json", "0.1", "0.2"),
           note="the file the global was loaded from: b found it loaded and read nothing "
                "itself (it was reused: stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"},
))

add(idiom("config_dict_updated_once_behind_a_lock_used_by_two_steps", {
    "config.json": '{"rate": 0.1}\n',
    "pipe.py": src('''
        import json
        import os
        import threading

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))
        _LOCK = threading.Lock()
        _CONFIG = {}


        def config():
            with _LOCK:  # thread-safe, loaded once
                if not _CONFIG:
                    with open(os.path.join(HERE, "config.json")) as f:
                        _CONFIG.update(json.load(f))
            return _CONFIG


        @fm.step(outputs="a")
        def a():
            return config()["rate"] * 2


        @fm.step(outputs="b")
        def b():
            return config()["rate"] + 1


        pipe = fm.Pipeline("ns", [a, b])
    ''')},
    unchanged("a global lock is only a lock: reused"),
    same(E("pipe.py", "# thread-safe, loaded once", "# guarded"), note="comment"),
    change(E("config.json", "0.1", "0.2"),
           note="the file the dict was filled from, whole (b, which found it filled, was "
                "reused: stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"},
))

add(idiom("config_loaded_once_by_a_helper_with_a_default_path_used_by_two_steps", {
    "config.json": '{"rate": 0.1, "depth": 3}\n',
    "pipe.py": src('''
        import json
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))
        _CONFIG = {}


        def load_config(path=os.path.join(HERE, "config.json")):
            if not _CONFIG:  # loaded once
                with open(path) as f:
                    _CONFIG.update(json.load(f))
            return _CONFIG


        @fm.step(outputs="a")
        def a():
            return load_config()["rate"] * 2


        @fm.step(outputs="b")
        def b():
            return load_config()["depth"] + 1


        pipe = fm.Pipeline("ns", [a, b])
    ''')},
    unchanged("both call the loader with no argument: what either reads is what the "
              "same code fills, so both are reused"),
    same(E("pipe.py", "# loaded once", "# read the file once"), note="comment"),
    change(E("config.json", "3", "4"),
           note="the file the dict was filled from (b, which found it filled, was reused: "
                "stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"},
))

add(idiom("loader_memo_by_path_reruns_only_the_step_whose_file_changed", {
    "a.txt": "1\n",
    "b.txt": "2\n",
    "pipe.py": src('''
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))
        _CACHE = {}


        def load(name):
            if name not in _CACHE:  # one read per file
                with open(os.path.join(HERE, name)) as f:
                    _CACHE[name] = int(f.read())
            return _CACHE[name]


        @fm.step(outputs="x")
        def f():
            return load("a.txt") * 10


        @fm.step(outputs="y")
        def g():
            return load("b.txt") * 10


        pipe = fm.Pipeline("ns", [f, g])
    ''')},
    unchanged(),
    same(E("pipe.py", "# one read per file", "# memoized by name"), note="comment"),
    change(E("a.txt", "1", "3"), note="the file f loads: a memo filled by key is each "
           "step's own file, so g keeps its key", expect={"f": "executed", "g": "cached"}),
    steps=("f", "g"), check={"x": "f()", "y": "g()"},
))

add(idiom("lazy_config_on_a_class_or_instance_attribute_used_by_two_steps", {
    "config.json": '{"rate": 0.1}\n',
    "pipe.py": src('''
        import json
        import os

        import flowyml as fm

        HERE = os.path.dirname(os.path.abspath(__file__))


        class Settings:
            data = {}


        class State:
            cfg = None


        STATE = State()


        def settings():
            if not Settings.data:  # loaded once per process
                with open(os.path.join(HERE, "config.json")) as f:
                    Settings.data.update(json.load(f))
            return Settings.data


        def state():
            if STATE.cfg is None:
                with open(os.path.join(HERE, "config.json")) as f:
                    STATE.cfg = json.load(f)
            return STATE.cfg


        @fm.step(outputs="a")
        def a():
            return settings()["rate"] * 2 + state()["rate"]


        @fm.step(outputs="b")
        def b():
            return settings()["rate"] + state()["rate"] + 1


        pipe = fm.Pipeline("ns", [a, b])
    ''')},
    unchanged(),
    same(E("pipe.py", "# loaded once per process", "# read the file once"), note="comment"),
    change(E("config.json", "0.1", "0.2"),
           note="the file both attributes were loaded from (b found them loaded and read "
                "nothing: stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"},
))

add(idiom("ids_drawn_with_next_from_a_global_counter_by_two_steps", {"pipe.py": src('''
    import itertools

    import flowyml as fm

    IDS = itertools.count(1)


    def new_id():
        return next(IDS)  # the next free id


    @fm.step(outputs="a")
    def a(n: int = 2):
        return [new_id() for _ in range(n)]


    @fm.step(outputs="b")
    def b():
        return new_id()


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "each takes the ids the other left: coupled, both re-execute",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# the next free id", "# one more id"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", "def a(n: int = 2):", "def a(n: int = 3):"),
           note="how many ids a takes: b's is the next (b was reused: stale)",
           expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"}, warns_at_build=("IDS",),
))

add(idiom("list_on_a_module_or_instance_attribute_filled_by_one_step_read_by_another", {
    "jobs.py": "SEEN = []\n",
    "pipe.py": src('''
        import flowyml as fm
        import jobs


        class Registry:
            def __init__(self):
                self.names = []


        REG = Registry()


        @fm.step(outputs="added")
        def a():
            jobs.SEEN.append("alpha")  # what a saw
            REG.names.append("x")
            return 1


        @fm.step(outputs="y")
        def b(added):
            return list(jobs.SEEN) + list(REG.names)


        pipe = fm.Pipeline("ns", [a, b])
    ''')},
    Phase("unchanged", (), "a changes lists b reads, outside any asset: coupled, both "
          "re-execute, warned", {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# what a saw", "# a's trace"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", 'jobs.SEEN.append("alpha")', 'jobs.SEEN.append("beta")'),
           note="what a appends to jobs.SEEN (a mutation through a module attribute was "
                "not recorded: b was reused, stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"y": "[a(), b(1)][1]"}, warns_at_build=("jobs.SEEN",),
))

add(idiom("counter_bumped_with_global_by_two_steps_one_returning_it", {"pipe.py": src('''
    import flowyml as fm

    COUNT = 0


    @fm.step(outputs="a")
    def a():
        global COUNT
        COUNT += 1  # one more call
        return 10


    @fm.step(outputs="b")
    def b(a):
        global COUNT
        COUNT += 1
        return a + COUNT


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "b returns what a left in COUNT: coupled, both re-execute",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# one more call", "# a call counted"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", "COUNT += 1  # a call counted", "COUNT += 5  # a call counted"),
           note="how much a adds: b's result is 16, not 12 (b was reused: stale)",
           expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b(10)][1]"}, warns_at_build=("COUNT",),
))

add(idiom("counter_bumped_with_global_by_two_steps_that_read_nothing_of_it", {
    "pipe.py": src('''
    import flowyml as fm

    CALLS = 0
    SEEN = []


    @fm.step(outputs="a")
    def a():
        global CALLS
        CALLS += 1  # counted, never read back
        SEEN.append("a")
        return 10


    @fm.step(outputs="b")
    def b(a):
        global CALLS
        CALLS += 1
        SEEN.append("b")
        return a + 1


    pipe = fm.Pipeline("ns", [a, b])
''')},
    unchanged(),
    same(E("pipe.py", "# counted, never read back", "# for the log only")),
    change(E("pipe.py", "return a + 1", "return a + 2"),
           note="b's own code; a counter and a log that no step reads back couple nothing",
           expect={"a": "cached", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b(10)][1]"},
))

add(idiom("log_appended_then_counted_by_two_steps", {"pipe.py": src('''
    import flowyml as fm

    LOG = []


    @fm.step(outputs="a")
    def a(n: int = 2):
        LOG.extend(["a"] * n)  # a's entries
        return len(LOG)


    @fm.step(outputs="b")
    def b():
        LOG.append("b")
        return len(LOG)


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "b counts what a appended: coupled, both re-execute",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# a's entries", "# entries of a"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", "def a(n: int = 2):", "def a(n: int = 4):"),
           note="how many entries a appends: b counts 5, not 3 (b was reused: stale)",
           expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"}, warns_at_build=("LOG",),
))

add(idiom("log_appended_through_a_helper_then_summed_by_a_step", {"pipe.py": src('''
    import flowyml as fm

    EVENTS = []


    def record(kind, value):
        EVENTS.append((kind, value))  # one event


    @fm.step(outputs="a")
    def load(k: int = 3):
        record("load", k)
        return "ok"


    @fm.step(outputs="y")
    def summarize(a):
        record("summary", 0)
        return sum(v for _, v in EVENTS)


    pipe = fm.Pipeline("ns", [load, summarize])
''')},
    Phase("unchanged", (), "summarize appends through a helper and sums what load appended "
          "through it first: coupled, both re-execute",
          {"load": "executed", "summarize": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# one event", "# an event"),), "comment",
          {"load": "executed", "summarize": "executed"}),
    change(E("pipe.py", "def load(k: int = 3):", "def load(k: int = 5):"),
           note="what load appends: summarize sums 5, not 3 (it was reused: stale)",
           expect={"load": "executed", "summarize": "executed"}),
    steps=("load", "summarize"), check={"y": "[load(), summarize('ok')][1]"},
    warns_at_build=("EVENTS",),
))

add(idiom("first_item_read_then_removed_from_a_global_list_by_two_steps", {
    "pipe.py": src('''
    import flowyml as fm

    TODO = ["x", "y", "z", "w"]


    def take():
        first = TODO[0]
        del TODO[0]  # done with it
        return first


    @fm.step(outputs="a")
    def a(n: int = 1):
        return [take() for _ in range(n)]


    @fm.step(outputs="b")
    def b():
        TODO.remove(TODO[0])
        return TODO[0]


    pipe = fm.Pipeline("ns", [a, b])
''')},
    Phase("unchanged", (), "each gets what the other left: coupled, both re-execute",
          {"a": "executed", "b": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# done with it", "# taken"),), "comment",
          {"a": "executed", "b": "executed"}),
    change(E("pipe.py", "def a(n: int = 1):", "def a(n: int = 2):"),
           note="how many items a takes: b's is the fourth, not the third (b was reused: "
                "stale)", expect={"a": "executed", "b": "executed"}),
    steps=("a", "b"), check={"b": "[a(), b()][1]"}, warns_at_build=("TODO",),
))

add(idiom("global_config_changed_through_a_local_alias_or_loop_variable", {"pipe.py": src('''
    import flowyml as fm

    CONFIG = {"k": 0, "opt": {"lr": 1}}
    ROWS = [{"x": 1}, {"x": 2}]
    A, B = {"k": 0}, {"k": 0}


    @fm.step(outputs="ready")
    def setup(n: int = 2):
        cfg = CONFIG  # the shared config
        cfg["k"] = n
        for r in ROWS:
            r["x"] = r["x"] * n
        CONFIG.get("opt").update(lr=n)
        a, b = A, B
        a["k"] = n
        if (c := B) is not None:
            c["k"] = n + 1
        return True


    @fm.step(outputs="val")
    def use(ready):
        return (CONFIG["k"], sum(r["x"] for r in ROWS), CONFIG["opt"]["lr"], A["k"], B["k"])


    pipe = fm.Pipeline("ns", [setup, use])
''')},
    Phase("unchanged", (), "setup changes what use reads, through local names: coupled, "
          "both re-execute, warned", {"setup": "executed", "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# the shared config", "# one config for all"),),
          "comment", {"setup": "executed", "use": "executed"}),
    change(E("pipe.py", "def setup(n: int = 2):", "def setup(n: int = 3):"),
           note="what setup writes through the aliases (no change was recorded: use was "
                "reused, stale)", expect={"setup": "executed", "use": "executed"}),
    steps=("setup", "use"), check={"val": "[setup(), use(True)][1]"},
    warns_at_build=("CONFIG",),
))

add(idiom("settings_a_cached_factory_or_a_getter_hands_out_changed_by_a_step", {"pipe.py": src('''
    import functools

    import flowyml as fm


    class Settings:
        def __init__(self):
            self.batch_size = 32


    @functools.lru_cache(maxsize=None)
    def get_settings():  # one Settings a process, made on first use
        return Settings()


    CONFIG = {"lr": 0.1}


    def config():
        return CONFIG


    class Registry:  # a singleton
        _made = None

        def __new__(cls):
            if cls._made is None:
                cls._made = super().__new__(cls)
                cls._made.names = ["base"]
            return cls._made


    @fm.step(outputs="ready")
    def tune(n: int = 64):
        get_settings().batch_size = n
        cfg = config()
        cfg["lr"] = n / 1000
        Registry().names.append(f"m{n}")
        return True


    @fm.step(outputs="val")
    def train(ready):
        return (get_settings().batch_size, config()["lr"], list(Registry().names))


    pipe = fm.Pipeline("ns", [tune, train])
''')},
    Phase("unchanged", (), "tune changes what a cached factory, a getter and a singleton "
          "hand train: coupled, both re-execute, warned", {"tune": "executed", "train": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# one Settings a process", "# made once"),),
          "comment", {"tune": "executed", "train": "executed"}),
    change(E("pipe.py", "def tune(n: int = 64):", "def tune(n: int = 128):"),
           note="what tune sets on the objects the calls hand out (a change of a call's "
                "result was no change: train was reused, stale)",
           expect={"tune": "executed", "train": "executed"}),
    steps=("tune", "train"), check={"val": "[tune(), train(True)][1]"},
    warns_at_build=("get_settings() (its cached result)", "CONFIG", "Registry()"),
))

add(idiom("models_in_a_global_dict_fitted_by_one_step_used_by_another", {"pipe.py": src('''
    from collections import defaultdict

    import flowyml as fm


    class Scaler:
        def __init__(self):
            self.k = 1

        def fit(self, k):
            self.k = k
            return self


    MODELS = {"s": Scaler()}
    SEEN = defaultdict(list)


    @fm.step(outputs="ready")
    def train(n: int = 2):
        MODELS["s"].fit(n)  # fitted in place
        SEEN["n"].append(n)
        return True


    @fm.step(outputs="val")
    def predict(ready):
        return MODELS["s"].k * 10 + sum(SEEN["n"])


    pipe = fm.Pipeline("ns", [train, predict])
''')},
    Phase("unchanged", (), "train fits objects predict reads, held in global dicts: "
          "coupled, both re-execute, warned", {"train": "executed", "predict": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# fitted in place", "# trained"),), "comment",
          {"train": "executed", "predict": "executed"}),
    change(E("pipe.py", "def train(n: int = 2):", "def train(n: int = 3):"),
           note="what train fits (a call on an item of a global was no change: predict was "
                "reused, stale)", expect={"train": "executed", "predict": "executed"}),
    steps=("train", "predict"), check={"val": "[train(), predict(True)][1]"},
    warns_at_build=("MODELS",),
))

add(idiom("copy_of_a_global_config_changed_in_a_step_couples_nothing", {"pipe.py": src('''
    import flowyml as fm

    CONFIG = {"k": 0}
    ROWS = [{"x": 1}, {"x": 2}]


    @fm.step(outputs="tuned")
    def tune(n: int = 2):
        cfg = dict(CONFIG)  # a copy of its own
        cfg["k"] = n
        rows = [dict(r) for r in ROWS]
        rows[0]["x"] = n
        return [cfg, rows]


    @fm.step(outputs="val")
    def use():
        return CONFIG["k"] + sum(r["x"] for r in ROWS)


    pipe = fm.Pipeline("ns", [tune, use])
''')},
    unchanged(),
    same(E("pipe.py", "# a copy of its own", "# copied")),
    change(E("pipe.py", "def tune(n: int = 2):", "def tune(n: int = 3):"),
           note="tune's own value; copies of the globals changed, not the globals: use "
                "is reused", expect={"tune": "executed", "use": "cached"}),
    steps=("tune", "use"), check={"val": "[tune(), use()][1]"},
))

add(idiom("global_changed_by_a_helper_a_classmethod_or_a_tracker_method", {"pipe.py": src('''
    import flowyml as fm

    CONFIG = {"k": 0}


    def set_key(d, key, v):
        d[key] = v  # the dict it is given


    class Settings:
        data = {}

        @classmethod
        def set(cls, k, v):
            cls.data[k] = v


    class Tracker:
        def __init__(self):
            self.history = []

        def log(self, v):
            self.history.append(v)


    TR = Tracker()


    @fm.step(outputs="ready")
    def setup(n: int = 2):
        set_key(CONFIG, "k", n)
        Settings.set("lr", n)
        TR.log(n * 10)
        return True


    @fm.step(outputs="val")
    def use(ready):
        return CONFIG["k"], Settings.data["lr"], sum(TR.history)


    pipe = fm.Pipeline("ns", [setup, use])
''')},
    Phase("unchanged", (), "setup changes, through functions of the user's, what use "
          "reads: coupled, both re-execute, warned", {"setup": "executed", "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# the dict it is given", "# its argument"),),
          "comment", {"setup": "executed", "use": "executed"}),
    change(E("pipe.py", "def setup(n: int = 2):", "def setup(n: int = 3):"),
           note="what setup writes through the helper, the classmethod and the method "
                "(none was a change: use was reused, stale)",
           expect={"setup": "executed", "use": "executed"}),
    steps=("setup", "use"), check={"val": "[setup(), use(True)][1]"},
    warns_at_build=("CONFIG",),
))

add(idiom("global_read_through_a_default_argument_a_closure_or_a_container", {
    "pipe.py": src('''
    import flowyml as fm

    CONFIG = {"k": 0}
    MODEL_PARAMS = {"lr": 1}
    CFG = {"model": MODEL_PARAMS}


    @fm.step(outputs="ready")
    def setup(n: int = 2):
        CONFIG["k"] = n  # set before use
        MODEL_PARAMS["lr"] = n
        return True


    def make_reader(cfg):
        @fm.step(outputs="val")
        def use(ready, conf=CONFIG):
            return conf["k"], cfg["model"]["lr"]
        return use


    use = make_reader(CFG)
    pipe = fm.Pipeline("ns", [setup, use])
''')},
    Phase("unchanged", (), "use reads, as a default argument and inside a closure's "
          "dict, what setup changes: coupled, both re-execute", {"setup": "executed",
                                                                 "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# set before use", "# set first"),), "comment",
          {"setup": "executed", "use": "executed"}),
    change(E("pipe.py", "def setup(n: int = 2):", "def setup(n: int = 3):"),
           note="what setup writes (use reached it by no global name: reused, stale)",
           expect={"setup": "executed", "use": "executed"}),
    steps=("setup", "use"), check={"val": "[setup(), use(True)][1]"},
    warns_at_build=("CONFIG",),
))

add(idiom("current_directory_sys_path_and_environment_changed_by_a_step", {
    "one/x.txt": "one", "two/x.txt": "two",
    "v1/plugin_mod.py": "VALUE = 1\n", "v2/plugin_mod.py": "VALUE = 2\n",
    "pipe.py": src('''
    import os
    import sys
    import types

    import flowyml as fm

    HERE = os.path.dirname(os.path.abspath(__file__))


    @fm.step(outputs="ready")
    def enter(sub: str = "one", plugins: str = "v1", mode: str = "fast"):
        os.chdir(os.path.join(HERE, sub))  # work there
        sys.path.insert(0, os.path.join(HERE, plugins))
        os.environ["PIPE_MODE"] = mode
        sys.modules["pipe_plug"] = types.SimpleNamespace(V=len(mode))
        return True


    @fm.step(outputs="val")
    def read(ready):
        import pipe_plug
        import plugin_mod

        with open("x.txt") as f:
            return [f.read(), plugin_mod.VALUE, os.environ.get("PIPE_MODE", "slow"),
                    pipe_plug.V]


    pipe = fm.Pipeline("ns", [enter, read])
''')},
    Phase("unchanged", (), "enter changes the directory, sys.path and the environment "
          "read relies on: coupled, both re-execute, warned",
          {"enter": "executed", "read": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# work there", "# from there on"),), "comment",
          {"enter": "executed", "read": "executed"}),
    change(E("pipe.py", 'sub: str = "one", plugins: str = "v1", mode: str = "fast"',
             'sub: str = "two", plugins: str = "v2", mode: str = "careful"'),
           note="where enter goes (read was reused: stale)",
           expect={"enter": "executed", "read": "executed"}),
    steps=("enter", "read"), check={"val": "[enter(), read(True)][1]"},
    warns_at_build=("os.chdir",),
))

add(idiom("list_changed_through_a_bound_method_an_operator_or_a_module_alias", {
    "state.py": "PARAMS = {}\n",
    "pipe.py": src('''
    import operator

    import flowyml as fm
    import state as S

    LOG = []
    QUEUE = []
    push = QUEUE.append
    CONFIG = {}


    class Obj:
        k = 0


    OBJ = Obj()


    @fm.step(outputs="ready")
    def fill(n: int = 2):
        list(map(LOG.append, range(n)))  # logged
        push(n)
        operator.setitem(CONFIG, "k", n)
        CONFIG.__setitem__("j", n)
        vars(OBJ).update(k=n)
        d = S.PARAMS
        d["k"] = n
        return True


    @fm.step(outputs="val")
    def use(ready):
        from state import PARAMS

        return [len(LOG), sum(QUEUE), CONFIG["k"], CONFIG["j"], OBJ.k, PARAMS["k"]]


    pipe = fm.Pipeline("ns", [fill, use])
''')},
    Phase("unchanged", (), "fill changes what use reads: coupled, both re-execute, warned",
          {"fill": "executed", "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# logged", "# one entry each"),), "comment",
          {"fill": "executed", "use": "executed"}),
    change(E("pipe.py", "def fill(n: int = 2):", "def fill(n: int = 3):"),
           note="what fill writes (none of these forms was a change: use was reused, "
                "stale)", expect={"fill": "executed", "use": "executed"}),
    steps=("fill", "use"), check={"val": "[fill(), use(True)][1]"},
    warns_at_build=("LOG",),
))

add(idiom("local_time_zone_set_inside_a_step", {"pipe.py": src('''
    import datetime
    import os
    import time

    import flowyml as fm


    @fm.step(outputs="ready")
    def zone(tz: str = "America/New_York"):
        os.environ["TZ"] = tz  # the loggers' zone
        time.tzset()
        return True


    @fm.step(outputs="hours")
    def hours(ready, stamps: tuple = (0, 86400 * 200)):
        return [datetime.datetime.fromtimestamp(s).hour for s in stamps]


    pipe = fm.Pipeline("ns", [zone, hours])
''')},
    Phase("unchanged", (), "zone changes the zone hours converts to: coupled, both "
          "re-execute, warned", {"zone": "executed", "hours": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# the loggers' zone", "# where it was logged"),),
          "comment", {"zone": "executed", "hours": "executed"}),
    change(E("pipe.py", '"America/New_York"', '"Asia/Tokyo"'),
           note="the zone zone sets (hours was reused: stale)",
           expect={"zone": "executed", "hours": "executed"}),
    steps=("zone", "hours"), check={"hours": "[zone(), hours(True)][1]"},
    warns_at_build=("tzset",),
))

add(idiom("module_put_into_sys_modules_by_a_step", {"pipe.py": src('''
    import sys
    import types

    import flowyml as fm


    @fm.step(outputs="ready")
    def register(n: int = 2):
        sys.modules["pipe_plugin"] = types.SimpleNamespace(V=n)  # a plugin of ours
        return True


    @fm.step(outputs="val")
    def use(ready):
        import pipe_plugin

        return pipe_plugin.V * 10


    pipe = fm.Pipeline("ns", [register, use])
''')},
    Phase("unchanged", (), "use imports what register put there: coupled, both "
          "re-execute, warned", {"register": "executed", "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# a plugin of ours", "# registered"),), "comment",
          {"register": "executed", "use": "executed"}),
    change(E("pipe.py", "def register(n: int = 2):", "def register(n: int = 3):"),
           note="what register puts in sys.modules (use was reused: stale)",
           expect={"register": "executed", "use": "executed"}),
    steps=("register", "use"), check={"val": "[register(), use(True)][1]"},
    warns_at_build=("sys.modules",),
))

add(idiom("copies_of_globals_changed_in_a_step_and_its_helpers_couple_nothing", {
    "pipe.py": src('''
    import copy

    import numpy as np

    import flowyml as fm

    CONFIG = {"lr": 0.1, "tags": ["a"]}
    ROWS = [{"v": 1}, {"v": 2}]
    COLS = ["A", "B"]


    class Model:
        def __init__(self, w):
            self.w = w

        def fit(self, k):
            self.w = self.w * k
            return self


    MODELS = {"a": Model(1), "b": Model(2)}


    def with_defaults(cfg):
        cfg = dict(cfg)  # the caller's stays as it is
        cfg.setdefault("seed", 0)
        return cfg


    def clean(cols):
        cols = [c.lower() for c in cols]
        cols.append("id")
        return cols


    @fm.step(outputs="x")
    def prepare(n: int = 2):
        out = []
        for r in ROWS:
            r = dict(r)
            r["sq"] = r["v"] ** n
            out.append(r)
        cols = COLS[:]
        cols.append("extra")
        scores = {}
        for name, m in MODELS.items():
            m = copy.copy(m)
            m.fit(n)
            scores[name] = m.w
        ranked = np.sort(np.array([3, 1, n])).tolist()
        return [out, cols, clean(COLS), with_defaults(CONFIG), scores, ranked]


    @fm.step(outputs="y")
    def use():
        return [len(ROWS), COLS[0], CONFIG["lr"], MODELS["a"].w, float(np.mean([1, 2]))]


    pipe = fm.Pipeline("ns", [prepare, use])
''')},
    unchanged(),
    same(E("pipe.py", "# the caller's stays as it is", "# a copy")),
    change(E("pipe.py", "def prepare(n: int = 2):", "def prepare(n: int = 3):"),
           note="prepare's own value; it changed copies only (np.sort, a rebound loop "
                "variable, a slice, a helper's rebound parameter: each was taken for a "
                "change of the global, and coupled both steps)",
           expect={"prepare": "executed", "use": "cached"}),
    steps=("prepare", "use"), check={"y": "[prepare(), use()][1]"},
))

add(idiom("global_changed_through_keywords_helpers_methods_and_loops_over_it", {
    "pipe.py": src('''
    import flowyml as fm

    CONFIG = {"lr": 0, "model": {"lr": 0}, "opts": {"a": 0}, "k": 0, "j": 0}
    ROWS = [{"v": 1}, {"v": 2}]
    WEIGHTS = [10, 20]


    def set_key(d, k, v):
        d[k] = v


    def inner(d, v):
        d["lr"] = v  # the dict it is given


    def outer(d, v):
        inner(d, v)


    class Util:
        def put(self, d, k, v):
            d[k] = v


    class Model:
        def __init__(self):
            self.w = 0

        def train(self, v):
            self.w = v


    UTIL = Util()
    MODEL = Model()


    @fm.step(outputs="ready")
    def setup(n: int = 1):
        set_key(d=CONFIG, k="k", v=n)
        outer(CONFIG, n)
        UTIL.put(CONFIG, "j", n)
        m = MODEL
        m.train(n)
        opts = CONFIG.get("opts") or {}
        opts["a"] = n
        for r, wt in zip(ROWS, WEIGHTS):
            r["w"] = wt * n
        for r in sorted(ROWS, key=lambda r: r["v"]):
            r["s"] = n
        first = next(iter(ROWS))
        first["f"] = n
        dict.update(CONFIG["model"], lr=n)
        [row.update(c=n) for row in ROWS if row["v"] > 0]
        cfg = dict(CONFIG)
        cfg["model"]["m"] = n
        return True


    @fm.step(outputs="val")
    def use(ready):
        return [CONFIG, MODEL.w, ROWS]


    pipe = fm.Pipeline("ns", [setup, use])
''')},
    Phase("unchanged", (), "setup changes what use reads: coupled, both re-execute, warned",
          {"setup": "executed", "use": "executed"}),
    Phase("nonsemantic", (E("pipe.py", "# the dict it is given", "# its argument"),),
          "comment", {"setup": "executed", "use": "executed"}),
    change(E("pipe.py", "def setup(n: int = 1):", "def setup(n: int = 2):"),
           note="what setup writes (by keyword, two helpers deep, through a method of a "
                "global object, an alias's method, `.get() or {}`, loops over zip, "
                "sorted and next(iter()), `dict.update`, a comprehension, a shallow "
                "copy's item: none was a change, use was reused, stale)",
           expect={"setup": "executed", "use": "executed"}),
    steps=("setup", "use"), check={"val": "[setup(), use(True)][1]"},
    warns_at_build=("CONFIG",),
))

add(idiom("object_of_yours_that_pickles_light", {
    "rates.csv": "a,2\nb,3\n",
    "lookup.py": src('''
        import csv
        from pathlib import Path


        class Lookup:
            """A table loaded at import; its pickle keeps only the path."""

            def __init__(self, path, scale=0.5):
                self.path = str(path)
                self.w = 2 * scale
                with open(path) as f:
                    self.table = {k: float(v) for k, v in csv.reader(f)}

            def __getstate__(self):
                return {"path": self.path}

            def __setstate__(self, state):
                self.__init__(state["path"])

            def rate(self, k):
                return self.table[k] * self.w


        class Settings:
            """A singleton pickled by its global name."""

            def __init__(self, k):
                self.k = k

            def __reduce__(self):
                return "SETTINGS"


        RATES = Lookup(Path(__file__).parent / "rates.csv", scale=0.5)
        SETTINGS = Settings(k=2)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from lookup import RATES, SETTINGS


        @fm.step(outputs="y")
        def f(n: int = 3):
            return [i * RATES.rate("a") * SETTINGS.k for i in range(n)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("lookup.py", "    def rate(self, k):\n", "    def rate(self, k):  # by key\n"),
         note="comment"),
    change(E("rates.csv", "a,2", "a,5"),
           note="the file an object read at import, which its __getstate__ leaves out"),
    change(E("lookup.py", "scale=0.5)\nSETTINGS", "scale=2.0)\nSETTINGS"),
           note="an argument of the object's construction its __getstate__ leaves out"),
    change(E("lookup.py", "Settings(k=2)", "Settings(k=3)"),
           note="an attribute of a singleton whose __reduce__ returns its global name"),
))

add(idiom("class_defined_twice_in_one_file", {"pipe.py": src('''
    from dataclasses import dataclass, fields

    import flowyml as fm

    try:
        import flowyml_gpu_backend_not_installed  # noqa: F401  (an optional backend)

        @dataclass
        class Cfg:
            epochs: int = 1
            lr: float = 0.1
            device: str = "cuda"
    except ImportError:
        @dataclass
        class Cfg:
            epochs: int = 1
            lr: float = 0.5


    class Scaler:
        factor = 2

        def apply(self, x):
            return x * self.factor


    class Scaler:  # noqa: F811  (redefined: this one runs)
        factor = 3

        def apply(self, x):
            return x * self.factor


    def from_strings(raw):
        return Cfg(**{f.name: f.type(raw[f.name]) for f in fields(Cfg) if f.name in raw})


    @fm.step(outputs="y")
    def f(n: int = 3):
        c = from_strings({"epochs": str(n), "lr": "2"})
        return repr([Scaler().apply(c.lr * e) for e in range(c.epochs)])


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "lr: float = 0.5\n", "lr: float = 0.5  # the CPU default\n"),
         note="comment"),
    change(E("pipe.py", "lr: float = 0.5", "lr: int = 0.5"),
           note="a field's type in the class statement that ran, the second of its name "
                "(inspect.getsource gives the first: stale before)"),
    change(E("pipe.py", "factor = 3", "factor = 4"),
           note="a class attribute of the second of two classes of one name"),
    change(E("pipe.py", "factor = 2", "factor = 5"), expect={"f": "cached"},
           note="the first Scaler, which its methods' lines say did not run: reused"),
))

add(idiom("abc_with_virtual_subclasses_registered_at_import", {
    "kinds.py": src('''
        from abc import ABC


        class Numeric(ABC):
            """What the pipeline treats as a number."""


        class Real(Numeric):
            """A number with a fraction."""


        Numeric.register(int)
    '''),
    "pipe.py": src('''
        import flowyml as fm
        from kinds import Numeric


        @fm.step(outputs="y")
        def f(n: int = 3):
            return [v for v in [0, 1.5, "x", n] if isinstance(v, Numeric)]


        pipe = fm.Pipeline("ns", [f])
    ''')},
    unchanged(),
    same(E("kinds.py", "Numeric.register(int)", "Numeric.register(int)  # ints count"),
         note="comment"),
    change(E("kinds.py", "Numeric.register(int)", "Numeric.register(int)\nReal.register(float)"),
           note="a class registered at import with a sub-ABC of the ABC the step checks "
                "(the registration is no function's code: stale before)"),
    change(E("kinds.py", "Real.register(float)", "Real.register(float)\nNumeric.register(str)"),
           note="a class registered with the ABC itself"),
))

add(idiom("dask_and_polars_config_set_at_import", {"pipe.py": src('''
    import dask
    import dask.dataframe as dd
    import pandas as pd
    import polars as pl

    import flowyml as fm

    dask.config.set({"dataframe.convert-string": True})
    pl.Config.set_tbl_rows(2)


    @fm.step(outputs="y")
    def f(n: int = 6):
        frame = pd.DataFrame({"name": [f"x{i}" for i in range(n)]}, dtype=object)
        kind = str(dd.from_pandas(frame, npartitions=1).compute()["name"].dtype)
        return [kind, str(pl.DataFrame({"a": list(range(n))}))]


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "pl.Config.set_tbl_rows(2)", "pl.Config.set_tbl_rows(2)  # short tables"),
         note="comment"),
    change(E("pipe.py", '"dataframe.convert-string": True', '"dataframe.convert-string": False'),
           note="a dask.config value set at import: the column's dtype (stale before)"),
    change(E("pipe.py", "pl.Config.set_tbl_rows(2)", "pl.Config.set_tbl_rows(4)"),
           note="a polars Config option set at import: how a frame prints (stale before)"),
    requires=("dask", "polars", "pandas"),
))

add(idiom("locals_read_in_a_step", {"scalers.py": src('''
        def scale_center(x):
            return x - 1


        def scale_double(x):
            return x * 2
    '''), "extra.py": src('''
        def bump(x):
            return x + 1
    '''), "pipe.py": src('''
    import json

    import flowyml as fm

    THRESHOLD = 20


    @fm.step(outputs="y")
    def f(n: int = 3, lr: float = 0.5, kind: str = "center"):
        import extra  # noqa: F401  (reached through locals())
        from scalers import scale_center, scale_double  # noqa: F401  (picked by name)

        hparams = dict(locals())
        hparams.pop("scale_center"), hparams.pop("scale_double"), hparams.pop("extra")
        scaled = locals()["extra"].bump(locals()[f"scale_{kind}"](n))
        return json.dumps(hparams) + " {n}:{lr}".format(**locals()) + f" {scaled}"


    @fm.step(outputs="z")
    def g(y):
        return len(y) > THRESHOLD


    pipe = fm.Pipeline("ns", [f, g])
''')},
    unchanged(),
    same(E("pipe.py", "    hparams = dict(locals())\n",
           "    hparams = dict(locals())  # the parameters, for the log\n"), note="comment"),
    change(E("pipe.py", "lr: float = 0.5", "lr: float = 0.7"),
           note="a parameter's default, which locals() holds"),
    change(E("pipe.py", "THRESHOLD = 20", "THRESHOLD = 30"), expect={"f": "cached", "g": "executed"},
           note="a constant only g reads: f reads no global through locals(), so it is "
                "reused (the whole module counted for it before)"),
    change(E("scalers.py", "return x - 1", "return x - 2"),
           note="a function the step imports and picks out of locals() by a computed name "
                "(stale before: only the step's own module counted)"),
    change(E("extra.py", "return x + 1", "return x + 3"),
           note="a module the step imports, reached through locals() (counted whole)"),
    steps=("f", "g"), check={"y": "f()", "z": "g(f())"},
))

add(idiom("named_logger_level_set_at_import", {"pipe.py": src('''
    import logging

    import flowyml as fm

    log = logging.getLogger("pipe.steps")
    log.setLevel(logging.INFO)


    @fm.step(outputs="y")
    def f(n: int = 3):
        out = {"sum": sum(range(n)), "by": log.name}
        if log.isEnabledFor(logging.DEBUG):
            out["debug"] = list(range(n))
        return out


    pipe = fm.Pipeline("ns", [f])
''')},
    unchanged(),
    same(E("pipe.py", "log.setLevel(logging.INFO)", "log.setLevel(logging.INFO)  # quiet"),
         note="comment"),
    change(E("pipe.py", "log.setLevel(logging.INFO)", "log.setLevel(logging.DEBUG)"),
           note="the level of a named logger the step holds (it counted by its name "
                "only: stale before)"),
    change(E("pipe.py", 'getLogger("pipe.steps")', 'getLogger("pipe.prep")'),
           note="the logger's name, which the step returns"),
))
