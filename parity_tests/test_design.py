"""The design every layer plugs into: one declaration, one class per implementation folder, and
the rest found in the registry.

- every declared layer has a scratch, a torch and a Keras class naming it, and a check;
- the textbook scratch and its fast twin compute the same numbers (float64, 1e-14 normwise);
- every lone-layer check's backward agrees with finite differences (registry-driven);
- every declared mapping fact matters: dropping any transform of any torch entry is refused by
  torch (a shape) or reported as a mismatch, never passes (registry-driven);
- the scratch runner names the layer and the file when a layer breaks the protocol;
- the --layers syntax, sizes read off weights, failure lines naming the declaration;
- the rules that keep the hub a hub: which package may import which; the installed package list.
"""
from __future__ import annotations

import ast
import dataclasses
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

from crossframe import frameworks
from crossframe.errors import InputError
from crossframe.gradcheck import numerical_gradients
from crossframe.layers import all_layers
from crossframe.mapping import Chain, Identity
from crossframe.result import compare, failures
from crossframe.runner import check, prepare, run, with_mapping
from crossframe.scratch.model import ProtocolError
from crossframe.sequential import Sequential, parse_layers
from crossframe.spec import all_specs, get
from crossframe.testing import scratch_model_with
from crossframe.tolerances import FINITE_DIFFERENCE, Tolerance, rel_error

ROOT = pathlib.Path(__file__).resolve().parents[1]
DECLS = [d.name for d in all_layers()]
SPECS = [s.name for s in all_specs()]


# --- one declaration, one class per folder, a check for each ---------------------------------
@pytest.mark.parametrize("framework", ["scratch", "torch", "keras"])
@pytest.mark.parametrize("name", DECLS)
def test_every_declared_layer_is_implemented_in_every_framework(name, framework):
    decl = next(d for d in all_layers() if d.name == name)
    cls = frameworks.implementation(framework, decl)
    assert cls.declaration is decl


@pytest.mark.parametrize("name", DECLS)
def test_every_declared_layer_has_a_lone_layer_check(name):
    assert any(s.layer == name for s in all_specs() if s.kind == "layer"), name


def test_a_missing_implementation_says_which_file_to_write():
    decl = next(d for d in all_layers() if d.name == "dense")
    fake = dataclasses.make_dataclass("Fake", [])()
    fake.name, fake.title, fake.family = "frobnicate", "Frobnicate", "dense"
    with pytest.raises(InputError, match=r"add a class with declaration = layers\.Frobnicate "
                                         r"in torch_impl/dense\.py"):
        frameworks.implementation("torch", fake)
    assert frameworks.implementation("torch", decl)


# --- the textbook scratch and its fast twin ---------------------------------------------------
FAST = [s.name for s in all_specs()
        if any(frameworks.has_fast(cfg.decl) for cfg in s.sequential(s.resolve()).layers)]
BITS = Tolerance(1e-14, "the fast kernels reorder the same sums: a few ulps, never more")


def test_the_fast_kernels_cover_conv_and_the_recurrent_family():
    assert {"conv2d", "convnet", "rnn_layer", "lstm_layer", "gru_layer",
            "gru_reset_before_layer"} <= set(FAST)


@pytest.mark.parametrize("name", FAST)
def test_fast_equals_textbook(name):
    case = prepare(name, dtype="float64", seed=2)
    table = compare(run(case, "scratch"), run(case, "scratch-fast"), "float64", BITS)
    assert table["ok"].all(), "; ".join(failures(table))


# --- finite differences of every lone layer (and the composed default) ------------------------
LONE = [s.name for s in all_specs() if s.kind == "layer"] + ["sequential"]


def untied(case):
    """The input plus a little noise: no pooling window holds two equal values, so the max is
    differentiable at every point central differences probe."""
    from crossframe.data import rng_for
    from crossframe.spec import Batch

    b = case.batch
    if b.inputs["x"].dtype.kind != "f":          # integer ids (an Embedding): nothing to untie
        return case
    x = b.inputs["x"] + 0.01 * rng_for(case.seed, "untie").standard_normal(b.inputs["x"].shape)
    return dataclasses.replace(case, batch=Batch({**b.inputs, "x": x}, b.target, b.upstream))


@pytest.mark.parametrize("framework", ["scratch", "scratch-fast"])
@pytest.mark.parametrize("name", LONE)
def test_backward_matches_finite_differences(name, framework):
    case = untied(prepare(name, dtype="float64", seed=3, batch_size=3))
    worst = {k: rel_error(a, n) for k, (a, n) in
             numerical_gradients(case, framework=framework).items()}
    assert max(worst.values()) <= FINITE_DIFFERENCE.rel, worst


# --- every declared mapping fact matters -------------------------------------------------------
def _variants(transform):
    """The transform with one step left out at a time (a plain transform: identity)."""
    if isinstance(transform, Chain):
        for i in range(len(transform.steps)):
            rest = transform.steps[:i] + transform.steps[i + 1:]
            yield rest[0] if len(rest) == 1 else Chain(rest)
    elif not isinstance(transform, Identity):
        yield Identity()


# every spec at its defaults, and square configurations where a dropped transpose keeps its
# shape, so only the numbers can catch it (torch refusing a shape proves nothing about them)
SQUARE = {"dense-square": ("dense", {"features": 7, "units": 7}),
          "mlp-square": ("mlp", {"units": "64,10"}),
          "flatten_dense-square": ("flatten_dense", {"height": 2, "width": 2, "channels": 2,
                                                     "units": 8}),
          "rnn_layer-square": ("rnn_layer", {"features": 4, "units": 4}),
          "conv2d-square": ("conv2d", {"channels": 3, "filters": 3, "kernel_size": 3})}
CONFIGS = {**{name: (name, {}) for name in SPECS}, **SQUARE}
FACTS = [pytest.param(config, i, j, id=f"{config}-{e.framework}-{j}")
         for config, (spec, opts) in CONFIGS.items()
         for i, e in enumerate(get(spec).mapping("torch", get(spec).resolve(opts)).params)
         for j, _ in enumerate(_variants(e.transform))]


@pytest.mark.parametrize("config, entry, variant", FACTS)
def test_every_declared_torch_mapping_fact_is_needed(config, entry, variant):
    spec, opts = CONFIGS[config]
    case = prepare(spec, dtype="float64", options=opts)
    good = case.mapping("torch")
    e = good.params[entry]
    wrong = list(_variants(e.transform))[variant]
    bad_entries = tuple(dataclasses.replace(x, transform=wrong) if i == entry else x
                        for i, x in enumerate(good.params))
    bad_case = with_mapping(case, "torch", lambda m: dataclasses.replace(m, params=bad_entries))
    try:
        bad = run(bad_case, "torch")
    except RuntimeError as err:       # torch refused the shape: the fact is needed
        assert "size mismatch" in str(err) or "shape" in str(err)
        return
    table = compare(run(case, "keras"), bad, "float64")
    assert not table["ok"].all(), f"{e.framework} loaded with {wrong!r} passed"


# --- the scratch runner's bookkeeping ---------------------------------------------------------
def _breaking(how):
    from crossframe.scratch.dense import Dense

    class Broken(Dense):
        def backward(self, params, x, G):
            grads, dx = super().backward(params, x, G)
            return how(grads, dx)
    return Broken


@pytest.mark.parametrize("how, match", [
    (lambda g, dx: ({**g, "W": g["W"].T.copy()}, dx),
     r"'dense2' \(dense\) in .*: gradient of W has shape \(16, 32\), expected \(32, 16\) -- "
     "looks transposed"),
    (lambda g, dx: ({**g, "b": g["b"].astype(np.float32)}, dx),
     "gradient of b has dtype float32, expected float64"),
    (lambda g, dx: ({"W": g["W"]}, dx), r"backward returned gradients for \['W'\]"),
    (lambda g, dx: (g, dx[:, :-1]), r"input gradient dx has shape \(32, 31\), expected \(32, 32\)"),
    (lambda g, dx: (g, list(dx)), "input gradient dx is list, not a NumPy array"),
])
def test_a_layer_breaking_the_protocol_is_named_with_its_file(how, match):
    case = prepare("mlp")
    model = scratch_model_with(case, "dense2", _breaking(how))
    with pytest.raises(ProtocolError, match=match):
        run(case, "scratch", model=model)


# --- the --layers syntax and the Sequential's checks ------------------------------------------
def test_layers_syntax_reads_keras_names_positionals_sizes_and_names():
    layers = parse_layers("Conv2D(8, 3x2, strides=2, padding=same, name=first); relu;\n"
                          "MaxPooling2D(pool_size=2); flatten; dense(10, use_bias=false);")
    assert [layer.decl.name for layer in layers] == ["conv2d", "relu", "maxpool2d", "flatten",
                                                    "dense"]
    assert layers[0].options == {"filters": 8, "kernel_size": (3, 2), "strides": 2,
                                 "padding": "same"} and layers[0].name == "first"
    assert layers[4].options == {"units": 10, "use_bias": "false"}
    model = Sequential(layers, (9, 9, 1))
    assert [cfg.name for cfg in model.layers] == ["first", "relu", "pool", "flatten", "dense"]
    assert model.layers[4].opts["use_bias"] is False


@pytest.mark.parametrize("layers, shape, match", [
    ("dense(units=4); relu; dense(units=4)", "6", None),
    ("dens(4)", "6", "unknown layer 'dens'.*did you mean 'dense'"),
    ("dense(4);; relu", "6", "empty item"),
    ("dense(units=four)", "6", "units='four' is not valid"),
    ("dense(4, 5, 6, 7)", "6", "takes at most 3 positional"),
    ("dense(4, units=5)", "6", "gives units twice"),
    ("dense(width=4)", "6", "has no option 'width'"),
    ("dense(4); relu(", "6", "cannot read 'relu\\('"),
    ("conv2d(4, 3)", "6", "layer 1 'conv' \\(conv2d\\): Conv2D takes image \\(H, W, C\\), got "
                          "\\(6,\\) — check the layer order"),
    ("conv2d(4, 3); dense(2)", "2x2x1", "a 3x3 window does not fit its 2x2 input"),
    ("lstm(4, return_state=true); dense(2)", "5x3", "return_state is only for the last layer"),
    ("lstm(4); lstm(4)", "5x3", "layer 2 'lstm2' \\(lstm\\): LSTM takes sequence \\(T, D\\) or "
                                "signal \\(L, C\\), "
                                "got \\(4,\\) — .*return_sequences=true"),
    ("dense(4, name=a); dense(2, name=a)", "6", "two layers are called a"),
    ("dense(4, name='a-b')", "6", "is not an identifier"),
    ("dense", "6", "Dense needs units"),
    ("dense(4)", "0x3", "not a shape of sizes >= 1"),
])
def test_a_model_that_does_not_fit_names_the_layer(layers, shape, match):
    if match is None:
        assert Sequential.parse(layers, shape).outputs == {"output": (4,)}
        return
    with pytest.raises(InputError, match=match):
        Sequential.parse(layers, shape)


def test_a_loss_that_does_not_fit_the_model_is_named():
    with pytest.raises(InputError, match="takes probabilities, but the model ends in dense"):
        Sequential.parse("dense(3)", "4", "softmax_ce(from_logits=false)")
    with pytest.raises(InputError, match="needs at least 2 classes"):
        Sequential.parse("dense(1)", "4", "softmax_ce")
    with pytest.raises(InputError, match="unknown loss 'maes'.*did you mean 'mae'"):
        Sequential.parse("dense(1)", "4", "maes")


# --- sizes read off the weights ---------------------------------------------------------------
@pytest.mark.parametrize("name, weights, expect", [
    ("dense", {"dense1.W": (20, 3), "dense1.b": (3,)}, {"features": 20, "units": 3}),
    ("dense", {"dense1.W": (20, 3)}, {"use_bias": False}),
    ("mlp", {"dense1.W": (64, 40), "dense1.b": (40,), "dense2.W": (40, 10),
             "dense2.b": (10,)}, {"units": "40"}),
    ("lstm_layer", {"lstm.W_x": (7, 20), "lstm.W_h": (5, 20), "lstm.b": (20,)},
     {"features": 7, "units": 5}),
    ("conv2d", {"conv.W": (2, 4, 3, 6), "conv.b": (6,)},
     {"kernel_size": (2, 4), "filters": 6, "channels": 3}),
])
def test_sizes_are_read_off_given_weights(name, weights, expect):
    w = {k: np.random.default_rng(0).standard_normal(s) for k, s in weights.items()}
    case = prepare(name, weights=w)
    assert {k: case.opts[k] for k in expect} == expect
    assert check(case)["ok"].all()


def test_a_transposed_kernel_is_still_named_when_sizes_are_read_off():
    w = {p.name: np.zeros(p.shape) for p in get("mlp").param_specs(get("mlp").resolve())}
    w["dense1.W"] = w["dense1.W"].T
    with pytest.raises(InputError, match=r"dense1\.W: expected shape \(64, 32\), got \(32, 64\) "
                                         "— looks transposed"):
        prepare("mlp", weights=w)


# --- failure lines say where to look ----------------------------------------------------------
def test_a_mismatch_names_the_layer_its_declaration_and_implementations():
    case = prepare("mlp", options={"units": "16,16"})
    good = case.mapping("keras")
    bad = with_mapping(case, "keras", lambda m: dataclasses.replace(m, params=tuple(
        dataclasses.replace(e, transform=e.transform if e.canonical != "dense2.W"
                            else __import__("crossframe.mapping").mapping.Transpose((1, 0)))
        for e in good.params)))
    lines = failures(check(bad), bad.model)
    line = next(x for x in lines if x.startswith("grad:dense2.W: scratch~keras"))
    assert "layer 3 'dense2' (dense): crossframe/layers/dense.py::Dense; " \
           "scratch/dense.py::Dense | torch_impl/dense.py::Dense | keras_impl/dense.py::Dense" \
           in line


# --- describe: the files to open, the code, and no weights allocated -------------------------
def test_describe_names_the_declaration_and_every_implementation(capsys):
    from crossframe.cli import main

    assert main(["describe", "lstm_layer"]) == 0
    text = capsys.readouterr().out
    assert "crossframe/layers/recurrent.py::LSTM -> scratch/recurrent.py::LSTM (fast: " \
           "scratch/fast/recurrent.py::LSTM) | torch_impl/recurrent.py::LSTM | " \
           "keras_impl/recurrent.py::LSTM" in text
    assert main(["describe", "--layer", "simple_rnn"]) == 0
    text = capsys.readouterr().out
    assert "declared in crossframe/layers/recurrent.py::SimpleRNN" in text
    assert "return_sequences" in text and "h_t = tanh(a_t)" in text


def test_describe_allocates_nothing_for_huge_sizes():
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "crossframe.cli", "describe", "mlp", "--units",
                          "100000000", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"shape": [\n    64,\n    100000000\n   ]' in out.stdout
    assert time.perf_counter() - t0 < 60   # a bound on allocation, not a timing goal


# --- the rules that keep the hub a hub --------------------------------------------------------
def _imports(path: pathlib.Path) -> set[str]:
    """Every module a file imports, resolved to absolute crossframe.* names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _package(path)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


FOLDER = {"crossframe": "crossframe", "scratch": "crossframe.scratch",
          "torch_impl": "crossframe.torch_impl", "keras_impl": "crossframe.keras_impl",
          "reports": "crossframe.reports"}


def _package(path: pathlib.Path) -> str:
    """The package relative imports in ``path`` resolve against: crossframe/layers/dense.py ->
    crossframe.layers; scratch/fast/__init__.py -> crossframe.scratch.fast."""
    rel = path.relative_to(ROOT).with_suffix("")
    module = ".".join([FOLDER[rel.parts[0]], *rel.parts[1:]])
    return module.removesuffix(".__init__") if path.name == "__init__.py" \
        else module.rsplit(".", 1)[0]


def _files(*folders):
    return [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]


HUB = [p for p in _files("crossframe") if p.parent.name in ("crossframe", "layers", "models")]


@pytest.mark.parametrize("path", HUB, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_hub_does_not_import_scratch(path):
    bad = {m for m in _imports(path) if m.startswith("crossframe.scratch")}
    assert not bad, bad


@pytest.mark.parametrize("path", _files("scratch"), ids=lambda p: str(p.relative_to(ROOT)))
def test_scratch_does_not_import_the_hubs_model_modules(path):
    bad = {m for m in _imports(path) if re.match(r"crossframe\.(models|spec|run|sequential)\b", m)}
    assert not bad, bad


@pytest.mark.parametrize("path", _files("torch_impl"), ids=lambda p: str(p.relative_to(ROOT)))
def test_torch_impl_does_not_import_scratch(path):
    assert not {m for m in _imports(path) if m.startswith("crossframe.scratch")}


# The command line itself and `python -m crossframe`, its one other entry point.
CLI_MODULES = {"crossframe/cli.py", "crossframe/__main__.py"}


@pytest.mark.parametrize("path", _files("crossframe", "scratch", "torch_impl", "keras_impl",
                                        "reports"), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_the_command_line(path):
    if str(path.relative_to(ROOT)) in CLI_MODULES:
        return
    assert "crossframe.cli" not in _imports(path)


def test_every_package_is_installed():
    """A wheel holds what pyproject's package list names: every folder with an __init__.py."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    dirs = {v: k for k, v in config["package-dir"].items()}
    found = set()
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if rel.parts[0] in ("parity_tests", ".venv", "build") or rel.parts[0].startswith("."):
            continue
        top = dirs.get(rel.parts[0])
        if top is not None:
            found.add(".".join([top, *rel.parts[1:]]))
    assert found == listed, f"unlisted: {sorted(found - listed)}; stale: {sorted(listed - found)}"
