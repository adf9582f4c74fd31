"""The limits ``crossframe bench`` measures a kernel against: GEMM peak, FLOP counts, NumPy floor.

    gemm_peak(dtype)       GFLOP/s of one (n, n) x (n, n) ``np.matmul`` on this machine, the best
                           of several runs (the peak is the best run, not a typical one)
    model_flops(case)      {"forward", "backward"}: FLOPs of one forward + backward of a prepared
                           case, counted by torch (``torch.utils.flop_counter.FlopCounterMode``)
    trace_products(step)   every matrix product one call of a scratch step makes (``@``,
                           ``np.matmul``, ``np.dot``, ``np.einsum``, ``np.tensordot``), with
                           operand shapes, dtype and memory layout
    floor_ms(products)     (median, min) ms of those products alone, replayed on preallocated
                           operands of the same shapes, dtype and layout: the NumPy floor of a
                           kernel, what its matrix products alone cost
    product_flops(products)  their FLOPs

FLOPs here count matrix products and convolutions only, 2 FLOPs per multiply-add (the
convention of FlopCounterMode and of BLAS benchmarks); elementwise work, reductions and
activations are not counted. A product of result shape (..., m, n) contracting over k costs
2 * (result entries) * k = 2 * batch * m * n * k.

How ``trace_products`` sees ``@``: NumPy offers no hook on the operator between two plain
ndarrays, so while the step runs, every module of the scratch package (``crossframe.scratch``
and ``crossframe.scratch.fast``) is instrumented and restored afterwards, its files untouched:
its ``np`` name is a proxy whose ``matmul``, ``dot``, ``einsum`` and ``tensordot`` record and
then call NumPy's, and each function whose source holds ``a @ b`` is recompiled from its source
with ``a @ b`` written as a call that records and then computes ``a @ b`` (same line numbers,
same globals) and put in the original's place for the duration of the call.
"""
from __future__ import annotations

import ast
import inspect
import math
import os
import statistics
import sys
import textwrap
import time
import types
from dataclasses import dataclass

import numpy as np

from .errors import InputError

DTYPES = ("float32", "float64")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _check(dtype: str | None, **counts: int) -> None:
    if dtype is not None and dtype not in DTYPES:
        raise InputError(f"dtype {dtype!r}: the limits are measured in float32 or float64",
                         f"choose one of: {', '.join(DTYPES)}")
    for name, value in counts.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < (
                0 if name == "warmup" else 1):
            low = 0 if name == "warmup" else 1
            raise InputError(f"{name}={value!r} must be an integer >= {low}",
                             f"pass e.g. {name}={max(low, 2)}")


# -- 1. GEMM peak -------------------------------------------------------------------------------
def gemm_peak(dtype: str, n: int = 1024, repeats: int = 10, warmup: int = 2) -> float:
    """GFLOP/s of ``np.matmul(a, b, out=c)`` with a, b, c (n, n) C-contiguous arrays of
    ``dtype`` (float32 or float64), in this process with the BLAS threads it has now.

    One product is 2 * n^3 FLOPs (n^3 multiply-adds); the figure is 2 n^3 / (fastest of
    ``repeats`` timed products) / 1e9, after ``warmup`` untimed ones: the peak is the best run,
    not the median, since a GEMM's speed is only ever lowered by a busy machine. Raises
    InputError for another dtype or for n, repeats < 1 or warmup < 0."""
    _check(dtype, n=n, repeats=repeats, warmup=warmup)
    rng = np.random.default_rng(0)
    a, b = (rng.uniform(-1.0, 1.0, (n, n)).astype(dtype) for _ in range(2))
    c = np.empty((n, n), dtype)
    return _peak(lambda: np.matmul(a, b, out=c), n, repeats, warmup)


def torch_gemm_peak(dtype: str, n: int = 1024, repeats: int = 10, warmup: int = 2) -> float:
    """``gemm_peak`` of torch's BLAS: ``torch.mm(a, b, out=c)`` on (n, n) tensors, in this
    process with torch's threads. Same FLOPs, best-run rule and errors as ``gemm_peak``."""
    import torch

    _check(dtype, n=n, repeats=repeats, warmup=warmup)
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.rand(n, n, dtype=getattr(torch, dtype), generator=gen) for _ in range(2))
    c = torch.empty(n, n, dtype=a.dtype)
    return _peak(lambda: torch.mm(a, b, out=c), n, repeats, warmup)


def _peak(product, n: int, repeats: int, warmup: int) -> float:
    """2 n^3 / (fastest of ``repeats`` timed calls of ``product``) / 1e9, after ``warmup``."""
    for _ in range(warmup):
        product()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        product()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


# -- 2. FLOPs of a model, counted by torch ------------------------------------------------------
def _as_float64(value):
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(np.float64)
    return value


def model_flops(case) -> dict[str, int]:
    """{"forward": FLOPs, "backward": FLOPs} of one forward and one backward pass of
    ``case.model`` on ``case.batch`` (a Case from ``crossframe.runner.prepare``), as the torch
    build of the model computes them in float64 on the CPU.

    Counted by ``torch.utils.flop_counter.FlopCounterMode`` (torch's own per-operator formulas:
    matrix products and convolutions only, 2 FLOPs per multiply-add; a bias add, activations,
    the loss and the optimizer are not counted). Forward is torch's step with backward off
    (``make_step(..., backward=False)``), backward is the full step minus it. The case's
    weights and batch are cast to float64 first, whatever ``case.dtype``: torch's float32 LSTM
    runs oneDNN's fused kernel, which FlopCounterMode does not see (it counts 0), while in
    float64 nn.LSTM / nn.GRU / nn.RNN decompose into ``mm`` / ``addmm`` calls it counts (checked
    in parity_tests/test_bench_limits.py against the hand-derived count).

    What torch does is what is counted: the input gradient of every floating input (x, and the
    initial states of a recurrent layer) is computed, as in ``crossframe bench``; a product
    torch skips is not counted (e.g. the recurrent product into the gradient of h0 when h0 is
    not an input). Raises whatever building the torch model raises (a layer torch lacks)."""
    from torch.utils.flop_counter import FlopCounterMode

    from . import frameworks

    fw, dtype = "torch", "float64"
    mapping = case.mapping(fw)
    weights = mapping.params_to_framework({k: _as_float64(v) for k, v in case.weights.items()})
    b = case.batch
    inputs = mapping.inputs_to_framework({k: _as_float64(v) for k, v in b.inputs.items()})
    upstream = mapping.upstream_to_framework({k: _as_float64(v) for k, v in b.upstream.items()})
    target = _as_float64(b.target)
    engine = frameworks.engine(fw)
    model = frameworks.build(fw, case.model, dtype)
    engine.load_state(model, weights)
    counted = {}
    for part, backward in (("forward", False), ("total", True)):
        step = engine.make_step(model, inputs, target, upstream, case.model.loss, dtype,
                                mode=case.mode, backward=backward)
        with FlopCounterMode(display=False) as counter:
            step()
        counted[part] = int(counter.get_total_flops())
    return {"forward": counted["forward"], "backward": counted["total"] - counted["forward"]}


# -- 3. the products a scratch step makes -------------------------------------------------------
def _layout(shape: tuple[int, ...], strides: tuple[int, ...]) -> str:
    """How the matrices (last two axes) of an operand lie in memory, for BLAS:
    "C" row-major contiguous, "T" column-major contiguous (the transpose of a C array),
    "C(ld=L)" / "T(ld=L)" unit stride along one axis with leading dimension L (a block of a
    larger array, which BLAS takes as it is), "strided" neither (NumPy copies it or computes
    without BLAS). A 1-D operand is "C" when contiguous."""
    if len(shape) == 0:
        return "C"
    if len(shape) == 1:
        return "C" if shape[0] <= 1 or strides[0] == 1 else "strided"
    (r, c), (sr, sc) = shape[-2:], strides[-2:]
    if (sc == 1 or c <= 1) and (sr == c or r <= 1):
        return "C"
    if (sr == 1 or r <= 1) and (sc == r or c <= 1):
        return "T"
    if sc == 1 and sr >= c:
        return f"C(ld={sr})"
    if sr == 1 and sc >= r:
        return f"T(ld={sc})"
    return "strided"


@dataclass(frozen=True)
class Product:
    """One matrix product a traced step made.

    ``op``: "matmul" (``@`` and ``np.matmul``), "dot", "einsum" or "tensordot"; ``spec``: the
    einsum subscripts or repr of tensordot's axes, else "". Shapes are NumPy shapes; strides
    are in elements (not bytes), from which the layout properties follow (``_layout``).
    ``k``: the length summed over per result entry. ``out_strides`` is None where the product
    allocated its result (``a @ b``), else the strides of the ``out=`` array it wrote.
    ``a_id``, ``b_id``, ``out_id``: operands with the same id were the same memory (address,
    shape, strides) in the traced step, e.g. a weight read at every time step; ``floor_ms``
    shares them the same way. ``where``: file:line of the call."""

    op: str
    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    dtype: str
    k: int
    a_strides: tuple[int, ...]
    b_strides: tuple[int, ...]
    out_strides: tuple[int, ...] | None = None
    a_id: int = 0
    b_id: int = 1
    out_id: int = 2
    spec: str = ""
    where: str = ""

    @property
    def flops(self) -> int:
        """2 * (result entries) * k; for a (..., m, k) x (..., k, n) product 2 * batch*m*n*k."""
        return 2 * math.prod(self.out_shape) * self.k

    @property
    def a_layout(self) -> str:
        return _layout(self.a_shape, self.a_strides)

    @property
    def b_layout(self) -> str:
        return _layout(self.b_shape, self.b_strides)

    @property
    def out_layout(self) -> str:
        """The layout of the ``out=`` array, or "new" where the product allocated its result."""
        return "new" if self.out_strides is None else _layout(self.out_shape, self.out_strides)

    def __str__(self) -> str:
        shapes = f"{self.a_shape}[{self.a_layout}] x {self.b_shape}[{self.b_layout}]"
        return (f"{self.op} {shapes} -> {self.out_shape}[{self.out_layout}] {self.dtype} "
                f"{self.flops} FLOPs  {self.where}")


def _elements(a: np.ndarray) -> tuple[int, ...]:
    return tuple(s // a.itemsize for s in a.strides)


class _Recorder:
    """Collects Products; ``ids`` numbers operands by (address, shape, strides, dtype)."""

    def __init__(self) -> None:
        self.products: list[Product] = []
        self.ids: dict[tuple, int] = {}
        self.unsupported: list[str] = []

    def _id(self, a: np.ndarray) -> int:
        key = (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)
        return self.ids.setdefault(key, len(self.ids))

    @staticmethod
    def _where() -> str:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        if frame is None:
            return ""
        path = frame.f_code.co_filename
        rel = os.path.relpath(path, _ROOT) if path.startswith(_ROOT) else path
        return f"{rel}:{frame.f_lineno}"

    def add(self, op: str, a, b, out, result, spec: str = "") -> None:
        a, b, result = np.asarray(a), np.asarray(b), np.asarray(result)
        if a.ndim == 0 or b.ndim == 0 or result.dtype.kind not in "fc":
            if a.ndim == 0 or b.ndim == 0:
                return                       # a product with a scalar is elementwise
            self.unsupported.append(f"{op} of {result.dtype} at {self._where()}")
            return
        if op in ("matmul", "dot"):
            k = a.shape[-1]
        else:                                # einsum / tensordot of two operands
            k = math.isqrt(max(a.size * b.size // max(result.size, 1), 0))
            if k * k * max(result.size, 1) != a.size * b.size:
                self.unsupported.append(f"{op} {spec} at {self._where()} (not a plain "
                                        f"contraction: no k with |a| |b| = |out| k^2)")
                return
        if isinstance(out, tuple):
            out = out[0] if out else None
        self.products.append(Product(
            op=op, a_shape=a.shape, b_shape=b.shape, out_shape=result.shape,
            dtype=str(result.dtype), k=int(k), a_strides=_elements(a), b_strides=_elements(b),
            out_strides=None if out is None else _elements(result), a_id=self._id(a),
            b_id=self._id(b), out_id=self._id(result), spec=spec, where=self._where()))


class _NumpyProxy:
    """Stands for ``numpy`` in an instrumented module: the four products record, everything
    else is NumPy's own attribute."""

    def __init__(self, recorder: _Recorder) -> None:
        self._rec = recorder

    def __getattr__(self, name):
        return getattr(np, name)

    def matmul(self, a, b, *args, **kw):
        result = np.matmul(a, b, *args, **kw)
        self._rec.add("matmul", a, b, args[0] if args else kw.get("out"), result)
        return result

    def dot(self, a, b, out=None):
        result = np.dot(a, b, out=out)
        self._rec.add("dot", a, b, out, result)
        return result

    def einsum(self, subscripts, *operands, out=None, **kw):
        result = np.einsum(subscripts, *operands, out=out, **kw)
        if len(operands) == 2 and isinstance(subscripts, str):
            self._rec.add("einsum", *operands, out, result, spec=subscripts)
        elif len(operands) > 2 or not isinstance(subscripts, str):
            self._rec.unsupported.append(f"einsum of {len(operands)} operands at "
                                         f"{self._rec._where()}")
        return result

    def tensordot(self, a, b, axes=2):
        result = np.tensordot(a, b, axes)
        self._rec.add("tensordot", a, b, None, result, spec=repr(axes))
        return result


_HOOK = "_crossframe_bench_matmul_"


class _AtToCall(ast.NodeTransformer):
    """``a @ b`` -> ``_HOOK(a, b)``; zero-argument ``super()`` -> ``super(__class__, self)``
    (a function recompiled outside its class body has no implicit ``__class__`` cell);
    annotations dropped (they are never evaluated by the code)."""

    def __init__(self, first_arg: str | None) -> None:
        self.first_arg, self.found = first_arg, False

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.MatMult):
            self.found = True
            return ast.copy_location(ast.Call(ast.Name(_HOOK, ast.Load()),
                                              [node.left, node.right], []), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.MatMult):        # a @= b: in place, as NumPy does it
            self.found = True
            call = ast.Call(ast.Name(_HOOK, ast.Load()), [_load(node.target), node.value],
                            [ast.keyword("out", _load(node.target))])
            return ast.copy_location(ast.Expr(call), node)
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == "super" and not node.args
                and self.first_arg):
            node.args = [ast.Name("__class__", ast.Load()), ast.Name(self.first_arg, ast.Load())]
        return node

    def visit_arg(self, node):
        node.annotation = None
        return node

    def visit_FunctionDef(self, node):
        node.returns = None
        self.generic_visit(node)
        return node

    def visit_AnnAssign(self, node):
        self.generic_visit(node)
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign([node.target], node.value), node)


def _load(target):
    node = ast.parse(ast.unparse(target), mode="eval").body
    return ast.copy_location(node, target)


_RECOMPILED: dict = {}


def _recompiled(fn: types.FunctionType, owner: type | None):
    """``fn`` with ``a @ b`` written as a recording call, or None if its source has no ``@``
    product. Raises RuntimeError where it has one but cannot be recompiled (a closure over
    variables other than ``__class__``; no source)."""
    key = (fn, owner)
    if key in _RECOMPILED:
        return _RECOMPILED[key]
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        _RECOMPILED[key] = None
        return None
    tree = ast.parse(source)
    fdef = tree.body[0]
    if not isinstance(fdef, (ast.FunctionDef, ast.AsyncFunctionDef)):
        _RECOMPILED[key] = None         # a lambda or a generated function
        return None
    fdef.decorator_list = []
    args = fdef.args.posonlyargs + fdef.args.args
    transformer = _AtToCall(args[0].arg if args and owner is not None else None)
    fdef = transformer.visit(fdef)
    if not transformer.found:
        _RECOMPILED[key] = None
        return None
    if set(fn.__code__.co_freevars) - {"__class__"}:
        raise RuntimeError(f"trace_products: {fn.__qualname__} multiplies with '@' inside a "
                           "closure, which cannot be recompiled to record it")
    ast.increment_lineno(fdef, fn.__code__.co_firstlineno - 1)
    # def _outer(__class__): <fdef>; return <name>   -- __class__ serves super()
    outer = ast.FunctionDef(
        name="_outer", args=ast.arguments(posonlyargs=[], args=[ast.arg("__class__")],
                                          kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[fdef, ast.Return(ast.Name(fdef.name, ast.Load()))], decorator_list=[])
    for node in ast.walk(outer):
        if "lineno" in node._attributes and not hasattr(node, "lineno"):
            ast.copy_location(node, fdef)
    module = ast.fix_missing_locations(ast.Module(body=[outer], type_ignores=[]))
    namespace: dict = {}
    exec(compile(module, fn.__code__.co_filename, "exec"), fn.__globals__, namespace)
    new = namespace["_outer"](owner)
    new.__defaults__, new.__kwdefaults__ = fn.__defaults__, fn.__kwdefaults__
    new.__qualname__, new.__doc__ = fn.__qualname__, fn.__doc__
    _RECOMPILED[key] = new
    return new


def _wrapped(raw, owner):
    """A class attribute (function, staticmethod, classmethod, property) with its functions
    recompiled, or None where none multiplies with ``@``."""
    if isinstance(raw, types.FunctionType):
        return _recompiled(raw, owner)
    if isinstance(raw, (staticmethod, classmethod)):
        new = _recompiled(raw.__func__, owner)
        return None if new is None else type(raw)(new)
    if isinstance(raw, property):
        parts = [raw.fget, raw.fset, raw.fdel]
        new = [f and _recompiled(f, owner) for f in parts]
        if not any(new):
            return None
        return property(*(n or f for n, f in zip(new, parts)), raw.__doc__)
    return None


def scratch_modules() -> list[types.ModuleType]:
    """The modules ``trace_products`` instruments by default: the scratch package
    (``crossframe.scratch``, its fast twins, and every module under them already imported).
    They are found through the registry (``frameworks.implementations``), as every hub module
    finds an implementation: by name, never by an import of scratch."""
    from .frameworks import implementations

    for fw in ("scratch", "scratch-fast"):
        implementations(fw)             # imports every module of the package
    return [m for name, m in sorted(sys.modules.items())
            if m is not None and (name == "crossframe.scratch"
                                  or name.startswith("crossframe.scratch."))]


def trace_products(step, modules=None) -> list[Product]:
    """Call the zero-argument ``step`` once (e.g. a scratch or scratch-fast step from
    ``frameworks.engine(fw).make_step``) and return every matrix product it made, in order.

    Recorded: ``a @ b`` and ``np.matmul``, ``np.dot``, ``np.einsum``, ``np.tensordot`` of two
    operands written in ``modules`` (default ``scratch_modules()``), as ``np.<name>`` or ``@``;
    a product with a scalar operand is elementwise and not recorded; ``np.vdot``/``np.inner``
    (the upstream loss' inner product) are not matrix products here. The modules are
    instrumented for this one call (see the module docstring) and restored afterwards, also
    when ``step`` raises; the step computes the same numbers. Raises RuntimeError where a
    product was seen that cannot be counted (an einsum of three operands, a product of
    integers), rather than leave it out."""
    recorder = _Recorder()
    proxy = _NumpyProxy(recorder)

    def at(a, b, out=None):
        result = np.matmul(a, b, out=out) if out is not None else a @ b
        recorder.add("matmul", a, b, out, result)
        return result

    undo: list = []
    try:
        for module in scratch_modules() if modules is None else modules:
            md = module.__dict__
            undo.append((md, _HOOK, md.get(_HOOK, _HOOK)))
            md[_HOOK] = at
            if md.get("np") is np:
                undo.append((md, "np", np))
                md["np"] = proxy
            for name, value in list(md.items()):
                if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                    new = _recompiled(value, None)
                    if new is not None:
                        undo.append((md, name, value))
                        md[name] = new
                elif isinstance(value, type) and value.__module__ == module.__name__:
                    for attr, raw in list(vars(value).items()):
                        new = _wrapped(raw, value)
                        if new is not None:
                            undo.append((value, attr, raw))
                            setattr(value, attr, new)
        step()
    finally:
        for where, name, old in reversed(undo):
            if isinstance(where, dict):
                if old is _HOOK:
                    where.pop(name, None)
                else:
                    where[name] = old
            else:
                setattr(where, name, old)
    if recorder.unsupported:
        raise RuntimeError("trace_products: products that cannot be counted: "
                           + "; ".join(recorder.unsupported))
    return recorder.products


# -- 4. the NumPy floor -------------------------------------------------------------------------
def _operand(shape, strides, dtype, rng) -> np.ndarray:
    """A fresh array of ``shape`` whose strides (in elements) are ``strides``, filled with
    uniform values in [-1, 1) (no zeros, no subnormals to take a fast or slow path)."""
    if math.prod(shape) == 0:
        return np.empty(shape, dtype)
    extent = 1 + sum((n - 1) * abs(s) for n, s in zip(shape, strides))
    base = rng.uniform(-1.0, 1.0, extent).astype(dtype)
    itemsize = base.itemsize
    view = np.lib.stride_tricks.as_strided(base, shape, tuple(abs(s) * itemsize
                                                              for s in strides))
    flip = tuple(slice(None, None, -1) if s < 0 else slice(None) for s in strides)
    return view[flip]


def _replay(products) -> list:
    """One call each: a closure doing product i on its preallocated operands."""
    rng = np.random.default_rng(0)
    arrays: dict[int, np.ndarray] = {}

    def get(pid, shape, strides, dtype):
        a = arrays.get(pid)
        if a is None or a.shape != tuple(shape) or a.dtype != dtype:
            a = arrays[pid] = _operand(shape, strides, dtype, rng)
        return a

    calls = []
    for p in products:
        dtype = np.dtype(p.dtype)
        a = get(("in", p.a_id), p.a_shape, p.a_strides, dtype)
        b = get(("in", p.b_id), p.b_shape, p.b_strides, dtype)
        out_strides = p.out_strides
        if out_strides is None or p.op == "dot":     # np.dot writes C-contiguous outs only
            out_strides = tuple(math.prod(p.out_shape[i + 1:]) for i in range(len(p.out_shape)))
        out = get(("out", p.out_id), p.out_shape, out_strides, dtype)
        if p.op == "matmul":
            calls.append(lambda a=a, b=b, out=out: np.matmul(a, b, out=out))
        elif p.op == "dot":
            calls.append(lambda a=a, b=b, out=out: np.dot(a, b, out=out))
        elif p.op == "einsum":
            calls.append(lambda a=a, b=b, out=out, s=p.spec: np.einsum(s, a, b, out=out))
        elif p.op == "tensordot":      # no out= in NumPy: it allocates, as the traced call did
            axes = ast.literal_eval(p.spec)
            calls.append(lambda a=a, b=b, axes=axes: np.tensordot(a, b, axes))
        else:
            raise ValueError(f"floor_ms: unknown product op {p.op!r}")
    return calls


def floor_ms(products, repeats: int = 20, warmup: int = 3) -> tuple[float, float]:
    """(median, min) milliseconds of running ``products`` (from ``trace_products``) alone, in
    order, ``repeats`` times after ``warmup`` untimed runs: the NumPy floor of the traced
    kernel, what its matrix products alone cost.

    Each product runs as ``np.matmul(a, b, out=c)`` (``np.dot``/``np.einsum`` for those ops)
    on operands allocated once, before timing, with the recorded shapes, dtype and strides
    (so a transposed view stays a transposed view, a block of a larger array keeps its leading
    dimension) and filled with values in [-1, 1); operands that were one array in the traced
    step (same id) are one array here, so a weight read at every step stays in cache as it
    did. Every output is preallocated too (a product that allocated its result in the step is
    given a C-contiguous ``out``), so the floor holds no allocation. Raises InputError for an
    empty list or repeats < 1, warmup < 0."""
    products = list(products)
    if not products:
        raise InputError("floor_ms: no products to replay",
                         "pass the list trace_products returned for a step that multiplies")
    _check(None, repeats=repeats, warmup=warmup)
    calls = _replay(products)

    def run():
        for call in calls:
            call()

    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def product_flops(products) -> int:
    """Sum of ``Product.flops`` (2 * result entries * k each) over ``products``."""
    return sum(p.flops for p in products)
