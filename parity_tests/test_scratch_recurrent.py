"""Scratch recurrent layers (SimpleRNN, LSTM, GRU both variants) against torch and against
finite differences: the textbook layers (scratch/recurrent.py, step functions and a loop) and
their fast twins (scratch/fast/recurrent.py), through the scratch protocol (scratch/base.py).

Every comparison runs the same data through both sides and checks the forward outputs
(h_seq, h_last, c_last) and the gradients of

    L = sum(G1 * h_seq) + sum(G2 * h_last) (+ sum(G3 * c_last))

with random upstream G's, for the input x, the initial states and every parameter, mapped back
into the canonical layout. Data cannot hide a bug: random asymmetric weights, non-zero distinct
biases, every gate block different.

Canonical (= Keras) -> torch, as this file applies it:
    weight_ih = W_x.T, weight_hh = W_h.T, gate blocks reordered for the GRU (canonical columns
    z, r, h -> torch rows r, z, n; the swap of the first two blocks is its own inverse);
    LSTM/RNN: the canonical b is split, bias_ih = b - s, bias_hh = s for a random s, so each
    torch bias gradient must equal dL/db on its own (a test with s = 0 or s = b could not tell);
    GRU reset_after: bias_ih = b[0], bias_hh = b[1], both reordered.
    GRU reset_after=False: no torch layer computes it, so the reference is the explicit
    per-gate torch cell below (autograd).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from crossframe.gradcheck import central_difference
from crossframe.scratch import recurrent as textbook
from crossframe.scratch.fast import recurrent as fast
from crossframe.tolerances import DTYPES, FINITE_DIFFERENCE, rel_error, tolerance

CELLS = ("rnn", "lstm", "gru", "gru_reset_before")
GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


# -- data -------------------------------------------------------------------------------------

def make_case(cell: str, N: int, T: int, D: int, H: int, dtype: str, seed: int,
              saturate: bool = False) -> dict:
    """Canonical parameters, inputs and upstream gradients for one run (all in ``dtype``).

    ``saturate``: the first half of the units of every gate block get a bias of +-300, so their
    pre-activations sit at about +-300 at every step while the other units stay in range."""
    rng = np.random.default_rng(seed)
    kH = GATE_BLOCKS[cell] * H

    def randn(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(dtype)

    b = randn(*((2, kH) if cell == "gru" else (kH,)), scale=0.5)
    if saturate:
        units = (np.arange(kH) % H) < (H + 1) // 2
        b_in = b[0] if cell == "gru" else b      # the GRU's input bias b[0], a view
        b_in[units] = 300 * rng.choice([-1.0, 1.0], size=int(units.sum()))
    case = {
        "cell": cell,
        "params": {"W_x": randn(D, kH, scale=1 / np.sqrt(D)),
                   "W_h": randn(H, kH, scale=1 / np.sqrt(H)),
                   "b": b},
        "x": randn(N, T, D),
        "states": [randn(N, H, scale=0.5)],                # h0
        "upstream": [randn(N, T, H), randn(N, H)],
        "bias_split": randn(kH, scale=0.5),  # s in bias_ih = b - s, bias_hh = s (LSTM/RNN)
    }
    if cell == "lstm":
        case["states"] = case["states"] + [randn(N, H, scale=0.5)]   # c0
        case["upstream"] = case["upstream"] + [randn(N, H)]           # G3 for c_last
    return case


OUTPUT_NAMES = ("h_seq", "h_last", "c_last")
STATE_GRAD_NAMES = ("dh0", "dc0")


# -- scratch side -----------------------------------------------------------------------------

IMPLS = {"textbook": textbook, "fast": fast}


class Op:
    """A scratch layer with its parameters bound: forward(x, *states) -> outputs, then
    backward(douts) -> (dx, *dstates) with ``grads`` set (the protocol, held for a test)."""

    def __init__(self, layer, params):
        self.layer, self.params = layer, params

    def forward(self, x, *states):
        outputs, self.cache = self.layer.forward(self.params, x, *states)
        return outputs

    def backward(self, douts):
        self.grads, grads_in = self.layer.backward(self.params, self.cache, douts)
        return grads_in


def build_scratch(case: dict, impl: str = "textbook") -> Op:
    cell, module = case["cell"], IMPLS[impl]
    if cell == "rnn":
        return Op(module.SimpleRNN(), case["params"])
    if cell == "lstm":
        return Op(module.LSTM(), case["params"])
    return Op(module.GRU(reset_after=(cell == "gru")), case["params"])


def run_scratch(case: dict, impl: str = "textbook") -> dict:
    """Forward + backward by hand; every tensor under its canonical name."""
    op = build_scratch(case, impl)
    outputs = op.forward(case["x"], *case["states"])
    dx, *dstates = op.backward(tuple(case["upstream"]))
    result = dict(zip(OUTPUT_NAMES, outputs))
    result["dx"] = dx
    result.update(zip(STATE_GRAD_NAMES, dstates))
    result.update({f"d{k}": g for k, g in op.grads.items()})
    if case["cell"] in ("rnn", "lstm"):
        result["db (torch bias_hh)"] = op.grads["b"]   # torch's second bias, same gradient
    return result


# -- torch side -------------------------------------------------------------------------------

def torch_rows(cell: str, H: int) -> np.ndarray:
    """Canonical column index of each torch row: identity except the GRU (z, r, h -> r, z, n)."""
    if cell.startswith("gru"):
        return np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 3 * H)])
    return np.arange(GATE_BLOCKS[cell] * H)


def gru_reset_before_reference(W_x, W_h, b, x, h0):
    """Keras GRU(reset_after=False), written per gate straight from the formula, in torch:
        z  = sigmoid(x W_xz + h W_hz + b_z)
        r  = sigmoid(x W_xr + h W_hr + b_r)
        hh = tanh(x W_xh + (r * h) W_hh + b_h)
        h  = z * h + (1 - z) * hh
    """
    H = W_h.shape[0]
    z_, r_, h_ = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    h, hs = h0, []
    for t in range(x.shape[1]):
        x_t = x[:, t]
        z = torch.sigmoid(x_t @ W_x[:, z_] + h @ W_h[:, z_] + b[z_])
        r = torch.sigmoid(x_t @ W_x[:, r_] + h @ W_h[:, r_] + b[r_])
        hh = torch.tanh(x_t @ W_x[:, h_] + (r * h) @ W_h[:, h_] + b[h_])
        h = z * h + (1 - z) * hh
        hs.append(h)
    return torch.stack(hs, dim=1), h


def run_torch(case: dict) -> dict:
    """The same run with torch autograd, gradients mapped back to the canonical layout."""
    cell, p = case["cell"], case["params"]
    H = p["W_h"].shape[0]

    def leaf(a):
        return torch.tensor(a, requires_grad=True)

    x, states = leaf(case["x"]), [leaf(s) for s in case["states"]]
    if cell == "gru_reset_before":
        W_x, W_h, b = leaf(p["W_x"]), leaf(p["W_h"]), leaf(p["b"])
        outputs = gru_reset_before_reference(W_x, W_h, b, x, states[0])
    else:
        module_cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        m = module_cls(p["W_x"].shape[0], H, batch_first=True,
                       dtype=getattr(torch, str(p["W_x"].dtype)), **extra)
        rows = torch_rows(cell, H)
        if cell == "gru":
            bias_ih, bias_hh = p["b"][0][rows], p["b"][1][rows]
        else:
            bias_ih, bias_hh = p["b"] - case["bias_split"], case["bias_split"]
        with torch.no_grad():
            m.weight_ih_l0.copy_(torch.from_numpy(p["W_x"][:, rows].T.copy()))
            m.weight_hh_l0.copy_(torch.from_numpy(p["W_h"][:, rows].T.copy()))
            m.bias_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(bias_ih)))
            m.bias_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(bias_hh)))
        init = [s[None] for s in states]   # torch wants (num_layers, N, H)
        h_seq, final = m(x, tuple(init) if cell == "lstm" else init[0])
        finals = [f[0] for f in final] if cell == "lstm" else [final[0]]
        outputs = (h_seq, *finals)
    loss = sum((o * torch.from_numpy(g)).sum() for o, g in zip(outputs, case["upstream"]))
    loss.backward()

    result = {name: o.detach().numpy() for name, o in zip(OUTPUT_NAMES, outputs)}
    result["dx"] = x.grad.numpy()
    result.update({n: s.grad.numpy() for n, s in zip(STATE_GRAD_NAMES, states)})
    if cell == "gru_reset_before":
        result.update({"dW_x": W_x.grad.numpy(), "dW_h": W_h.grad.numpy(), "db": b.grad.numpy()})
        return result
    dW_x, dW_h = np.empty_like(p["W_x"]), np.empty_like(p["W_h"])
    dW_x[:, rows] = m.weight_ih_l0.grad.numpy().T
    dW_h[:, rows] = m.weight_hh_l0.grad.numpy().T
    result.update({"dW_x": dW_x, "dW_h": dW_h})
    if cell == "gru":
        db = np.empty_like(p["b"])
        db[0][rows], db[1][rows] = m.bias_ih_l0.grad.numpy(), m.bias_hh_l0.grad.numpy()
        result["db"] = db
    else:
        result["db"] = m.bias_ih_l0.grad.numpy()
        result["db (torch bias_hh)"] = m.bias_hh_l0.grad.numpy()
    return result


# -- comparison -------------------------------------------------------------------------------

def assert_results_match(ours: dict, ref: dict, bound: float, label: str) -> None:
    """Shape, then dtype, then values, tensor by tensor; every failing tensor is named."""
    assert ours.keys() == ref.keys(), f"{label}: tensors {sorted(ours)} vs {sorted(ref)}"
    problems = []
    for name in ref:
        a, b = ours[name], ref[name]
        if a.shape != b.shape:
            problems.append(f"{name}: shape {a.shape} vs {b.shape}")
        elif a.dtype != b.dtype:
            problems.append(f"{name}: dtype {a.dtype} vs {b.dtype}")
        elif not rel_error(a, b) <= bound:
            problems.append(f"{name}: rel error {rel_error(a, b):.2e} > {bound:.0e}")
    assert not problems, f"{label}: " + "; ".join(problems)


def check_against_torch(case: dict, dtype: str, impl: str = "textbook") -> None:
    assert_results_match(run_scratch(case, impl), run_torch(case), tolerance(dtype).rel,
                         f"{case['cell']} {impl} scratch vs torch ({dtype})")


# -- the tests --------------------------------------------------------------------------------

@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell", CELLS)
def test_matches_torch(cell, dtype, impl):
    """Outputs and every gradient equal torch's (N, T, D, H all different: a swapped axis or a
    transposed weight cannot line up by accident)."""
    check_against_torch(make_case(cell, N=3, T=5, D=4, H=6, dtype=dtype, seed=1), dtype, impl)


EDGE_SHAPES = {
    # a single step: the loops run once, h_seq[:, 0] is h_last, both upstream grads meet there
    "T=1": (dict(N=3, T=1, D=4, H=5), DTYPES),
    # batch of one: nothing may rely on N > 1; (1, H) and (H, 1) are both C- and F-contiguous,
    # so a "copy if needed" silently becomes a view and an in-place update can alias the caller
    "batch=1": (dict(N=1, T=4, D=3, H=5), DTYPES),
    # one hidden unit: every gate block is a single column, a block mix-up still shows.
    # float64 only: b's gradient is then one scalar, a sum of N*T terms of both signs. In float32
    # that cancellation turns ulp-level differences in the terms into 2e-5 (torch) and 9e-5
    # (scratch; NumPy's float32 tanh is up to 1.4 ulp off, torch's 0.5) relative error against
    # float64 for the SimpleRNN here -- beyond a bound written for well-conditioned tensors: a
    # limit of the data in float32, not of either code.
    "hidden=1": (dict(N=3, T=4, D=2, H=1), ("float64",)),
    # a long sequence: gradients chained through 100 steps, float32 rounding accumulates
    "T=100": (dict(N=2, T=100, D=3, H=4), DTYPES),
}


@pytest.mark.parametrize("shape, dtype", [
    pytest.param(shape, dtype, id=f"{name}-{dtype}")
    for name, (shape, dtypes) in EDGE_SHAPES.items() for dtype in dtypes])
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cell", CELLS)
def test_edge_shapes_match_torch(cell, shape, dtype, impl):
    check_against_torch(make_case(cell, **shape, dtype=dtype, seed=2), dtype, impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cell", CELLS)
def test_caller_arrays_never_modified(cell, impl):
    """Backward must not update the caller's arrays in place, and the returned outputs must not
    be views of the cache backward reads: with N = 1 and H = 1 every (N, H) <-> (H, N)
    transpose is already contiguous, the case where such aliasing slips in."""
    case = make_case(cell, N=1, T=3, D=2, H=1, dtype="float64", seed=8)
    before = [a.copy() for a in (case["x"], *case["states"], *case["upstream"])]
    op, untouched = build_scratch(case, impl), build_scratch(case, impl)
    outputs = op.forward(case["x"], *case["states"])
    untouched.forward(case["x"], *case["states"])
    outputs[0][...] = np.nan      # the caller scribbles on the h_seq and the last state it got
    outputs[-1][...] = np.nan
    grads_in = op.backward(tuple(case["upstream"]))
    expected_in = untouched.backward(tuple(case["upstream"]))
    assert all(map(np.array_equal, (case["x"], *case["states"], *case["upstream"]), before))
    assert all(map(np.array_equal, grads_in, expected_in))
    assert all(np.array_equal(op.grads[k], untouched.grads[k]) for k in op.grads)



@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cell", CELLS)
def test_results_survive_the_next_call(cell, impl):
    """A layer keeps its work arrays (and their per-step views) between calls: nothing it
    returned may change when it runs again, and a call of another shape must rebuild them,
    not reuse views into arrays of the old shape."""
    first, other = (make_case(cell, N=3, T=4, D=2, H=5, dtype="float64", seed=s) for s in (1, 2))
    resized = make_case(cell, N=2, T=6, D=2, H=5, dtype="float64", seed=3)
    op = build_scratch(first, impl)
    returned = [*op.forward(first["x"], *first["states"]),
                *op.backward(tuple(first["upstream"])), *op.grads.values()]
    kept = [a.copy() for a in returned]
    for case in (other, resized, first):     # same shape, another shape, then back
        op.params = case["params"]
        outputs = op.forward(case["x"], *case["states"])
        grads_in = op.backward(tuple(case["upstream"]))
    assert all(map(np.array_equal, returned, kept))
    fresh = run_scratch(first, impl)         # a new layer: the same numbers, to the bit
    assert all(map(np.array_equal, outputs, (fresh[k] for k in OUTPUT_NAMES)))
    assert np.array_equal(grads_in[0], fresh["dx"])
    assert all(np.array_equal(g, fresh[f"d{k}"]) for k, g in op.grads.items())


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell", CELLS)
def test_saturated_gates_no_warning_no_nan(cell, dtype, impl):
    """Half the units of every gate see pre-activations of about +-300, where the naive sigmoid
    1 / (1 + exp(-a)) overflows exp (a RuntimeWarning: turned into an error here, and overflow /
    invalid / divide-by-zero into FloatingPointError by errstate). Our sigmoid and tanh saturate
    to exactly 0 / +-1 and their gradients to exactly 0 (torch's sigmoid(-300) = 5e-131, an
    absolute difference far below the bound); results stay finite and still equal torch's.
    Underflow is left alone: rounding 5e-131 to 0 is what saturation means."""
    case = make_case(cell, N=2, T=4, D=3, H=4, dtype=dtype, seed=3, saturate=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ours = run_scratch(case, impl)
    assert not [k for k, v in ours.items() if not np.all(np.isfinite(v))], "non-finite output"
    assert_results_match(ours, run_torch(case), tolerance(dtype).rel,
                         f"{cell} saturated scratch vs torch ({dtype})")


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cell", CELLS)
def test_dtype_preserved(cell, dtype, impl):
    """float32 in -> every output, input gradient and parameter gradient float32 (no float64
    temporaries promoting the result); likewise float64."""
    case = make_case(cell, N=2, T=3, D=3, H=4, dtype=dtype, seed=4)
    op = build_scratch(case, impl)
    outputs = op.forward(case["x"], *case["states"])
    grads_in = op.backward(tuple(case["upstream"]))
    dtypes = {str(a.dtype) for a in (*outputs, *grads_in, *op.grads.values())}
    assert dtypes == {dtype}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("cell", CELLS)
def test_backward_matches_finite_differences(cell, impl):
    """Scratch's hand-written BPTT against central differences of scratch's own forward, in
    float64: independent of torch, so a shared misconception could not pass both."""
    case = make_case(cell, N=2, T=3, D=3, H=2, dtype="float64", seed=5)
    op = build_scratch(case, impl)

    def loss() -> float:
        outputs = op.forward(case["x"], *case["states"])
        return sum(float(np.sum(o * g)) for o, g in zip(outputs, case["upstream"]))

    loss()
    dx, *dstates = op.backward(tuple(case["upstream"]))
    analytic = {"dx": dx, **dict(zip(STATE_GRAD_NAMES, dstates)),
                **{f"d{k}": g.copy() for k, g in op.grads.items()}}
    wrt = {"dx": case["x"], **dict(zip(STATE_GRAD_NAMES, case["states"])),
           **{f"d{k}": p for k, p in op.params.items()}}
    numeric = {name: central_difference(loss, a, h=1e-6) for name, a in wrt.items()}
    assert_results_match(analytic, numeric, FINITE_DIFFERENCE.rel,
                         f"{cell} backward vs finite differences")


@settings(max_examples=100, deadline=None)
@given(cell=st.sampled_from(CELLS), N=st.integers(1, 4), T=st.integers(1, 6),
       D=st.integers(1, 5), H=st.integers(1, 5), seed=st.integers(0, 2**31 - 1),
       impl=st.sampled_from(sorted(IMPLS)))
def test_any_shape_matches_torch_float64(cell, N, T, D, H, seed, impl):
    check_against_torch(make_case(cell, N=N, T=T, D=D, H=H, dtype="float64", seed=seed),
                        "float64", impl)


def test_fast_layer_names_a_transposed_weight():
    """A transposed W_x is the likeliest loading mistake: the fast layer's check names it."""
    case = make_case("lstm", N=2, T=3, D=3, H=4, dtype="float64", seed=6)
    params = {**case["params"], "W_x": case["params"]["W_x"].T}
    with pytest.raises(ValueError, match=r"LSTM\.W_x: expected \(D, 16\).*looks transposed"):
        fast.LSTM().forward(params, case["x"], *case["states"])


def test_fast_layer_refuses_a_mixed_dtype_input():
    """float32 input into float64 weights would silently compute in float64: refused, named."""
    case = make_case("gru", N=2, T=3, D=3, H=4, dtype="float64", seed=7)
    op = build_scratch(case, "fast")
    with pytest.raises(TypeError, match="x is float32 but the parameters are float64"):
        op.forward(case["x"].astype(np.float32), case["states"][0])
