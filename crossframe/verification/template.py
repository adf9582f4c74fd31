"""The skeleton ``crossframe verify --template LAYER`` prints: the protocol, the equations, the
parameter names and shapes, the options, and two functions to fill in."""
from __future__ import annotations

from ..geometry import shape_text
from ..sequential import Sequential


def template(decl) -> str:
    shape, example = decl.example
    model = Sequential([decl(**example)], shape)
    cfg = model.layers[0]
    params = "\n".join(f"    params[{p.name.split('.', 1)[1]!r}]  {p.shape}  {p.doc}"
                       for p in cfg.params) or "    (none: params is {})"
    checked = ("return_sequences", "return_state", "initial_state")   # verify sets them
    # what verify runs: the example's values (the user's --OPTION flags replace them)
    options = "\n".join(f"    {o.name} = {cfg.opts.get(o.name, o.default)!r}   {o.help}"
                        for o in decl.options
                        if not (decl.recurrent and o.name in checked)) or "    (none)"
    equations = "\n".join("    " + line for line in decl.equations.splitlines())
    N = "N"
    x = f"({N}, {', '.join(map(str, shape))})"
    if decl.recurrent:
        states = ", h0, c0" if decl.name == "lstm" else ", h0"
        outs = "(h_seq, h_last, c_last)" if decl.name == "lstm" else "(h_seq, h_last)"
        douts = "(dh_seq, dh_last, dc_last)" if decl.name == "lstm" else "(dh_seq, dh_last)"
        dins = "(dx, dh0, dc0)" if decl.name == "lstm" else "(dx, dh0)"
        signature = f"forward(params, x{states})"
        body = f'''def forward(params, x{states}):
    """x {x}, h0 (N, H){' and c0 (N, H)' if decl.name == 'lstm' else ''} -> ({outs}, cache)."""
    # TODO: loop over the time steps, keep in the cache what backward needs
    raise NotImplementedError


def backward(params, cache, douts):
    """douts = {douts} -> (grads, {dins}); grads has the keys of params.
    dh_last is the gradient of h_last, the same array as h_seq[:, -1]: add it to dh_seq[:, -1]
    (as the first dh_next)."""
    # TODO: backprop through time, adding the gradients of every step
    raise NotImplementedError'''
    elif any(p.role == "state" for p in cfg.params):
        signature = "forward(params, x, training)"
        y = f"(N, {', '.join(map(str, cfg.flow_out.shape))})"
        state = ", ".join(p.name.split(".", 1)[1] for p in cfg.params if p.role == "state")
        body = f'''def forward(params, x, training=True):
    """x {x} -> (y {y}, cache). training: the batch's statistics; else the running ones
    (params holds them too)."""
    # TODO: compute y, keep in the cache what backward and updated_state need
    raise NotImplementedError


def updated_state(params, cache, training=True):
    """-> {{{state}}} after this pass: moved towards the batch's statistics in training,
    unchanged in inference."""
    # TODO
    raise NotImplementedError


def backward(params, cache, dy):
    """dy {y} (= dL/dy) -> (grads, dx); grads has the trainable keys of params (not the
    running statistics), dx the shape of x."""
    # TODO: every gradient from the cache, without recomputing forward
    raise NotImplementedError'''
    else:
        mode = ", training=True" if decl.mode_dependent else ""
        signature = f"forward(params, x{mode})"
        y = f"(N, {', '.join(map(str, cfg.flow_out.shape))})"
        body = f'''def forward(params, x{mode}):
    """x {x} -> (y {y}, cache)."""
    # TODO: compute y, keep in the cache what backward needs
    raise NotImplementedError


def backward(params, cache, dy):
    """dy {y} (= dL/dy) -> (grads, dx); grads has the keys of params, dx the shape of x."""
    # TODO: every gradient from the cache, without recomputing forward
    raise NotImplementedError'''
    return f'''"""My {decl.title}, checked with `crossframe verify THIS_FILE --layer {decl.name}`.

The protocol: {signature} -> (y, cache) and backward(params, cache, dy) -> (grads, dx),
two functions (or a class with these two methods, options given to its constructor); a
recurrent layer's y and dy are tuples, as the functions below say. Options
your functions name as keyword arguments are passed to them (e.g. def forward(params, x,
strides=(1, 1))).

Equations ({decl.keras} / {decl.torch}):
{equations}

Parameters, canonical layout (Keras'), shapes at the example sizes (input {shape_text(shape)}):
{params}

Options (Keras' names) as `crossframe verify` checks them (change one with --OPTION VALUE;
write your functions for the values here, or take them as keyword arguments):
{options}

Arrays are NumPy, batch-first; keep the dtype of x (float64 or float32).
"""
import numpy as np


{body}
'''
