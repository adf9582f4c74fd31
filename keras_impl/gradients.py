"""One forward + backward pass of a Keras model, with the backend's own gradient mechanism.

    step = value_and_grad(model, forward, inputs, target, upstream, watched, compiled=False)
    outputs, value, param_grads, input_grads = step()

``forward(inputs, target, upstream) -> (outputs, loss value)`` calls the model (and the loss) in
``keras.ops``; ``inputs`` is a dict of backend tensors, ``target`` a tensor or None,
``upstream`` a dict of tensors, ``watched`` the names of the inputs to differentiate (the
floating ones: ids have no gradient). Parameter gradients come in ``model.trainable_variables``
order; a variable the loss does not reach gets zeros. The three mechanisms:

- TensorFlow: ``tf.GradientTape`` (eager), or the same under ``tf.function`` (``compiled``);
- JAX: ``jax.value_and_grad`` of a pure function of the variables' values, run in a
  ``keras.StatelessScope`` (what ``Model.stateless_call`` does), the updated non-trainable
  variables (BatchNorm's moving statistics) assigned back after the pass; ``jax.jit`` when
  ``compiled``, the compiled function kept on the model under ``key`` (what ``forward``
  computes: loss, dtype, mode, which inputs) so the next batch of the same shapes reuses it;
- torch: ``torch.autograd.grad`` over the variables' ``torch.nn.Parameter`` values and the
  watched inputs (``compiled`` runs eagerly: nothing to compile).
"""
from __future__ import annotations

from .backend import BACKEND, keras


def value_and_grad(model, forward, inputs: dict, target, upstream: dict, watched: list,
                   compiled: bool = False, backward: bool = True, key=None):
    if BACKEND == "jax":
        return _jax(model, forward, inputs, target, upstream, watched, compiled, backward, key)
    make = {"tensorflow": _tensorflow, "torch": _torch}[BACKEND]
    return make(model, lambda x: forward(x, target, upstream), inputs, watched, compiled,
                backward)


def _tensorflow(model, forward, inputs, watched, compiled, backward):
    from .backend import tf

    params = list(model.trainable_variables)

    def step():
        floats = [inputs[k] for k in watched]
        with tf.GradientTape() as tape:
            tape.watch(floats)
            outputs, value = forward(inputs)
        if not backward:
            return outputs, value, [], []
        grads = tape.gradient(value, params + floats)
        grads = [tf.zeros_like(p) if g is None else g for g, p in zip(grads, params + floats)]
        return outputs, value, grads[: len(params)], grads[len(params):]

    return tf.function(step) if compiled else step


def _jax(model, forward, inputs, target, upstream, watched, compiled, backward, key):
    import jax

    trainable = list(model.trainable_variables)
    others = list(model.non_trainable_variables)
    fixed = {k: v for k, v in inputs.items() if k not in watched}     # ids: not differentiated

    def pure(values, xs, other_values, fixed, target, upstream):
        mapping = list(zip(trainable, values)) + list(zip(others, other_values))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            outputs, value = forward({**fixed, **dict(zip(watched, xs))}, target, upstream)
        updated = [scope.get_current_value(v) for v in others]
        updated = [u if u is not None else o for u, o in zip(updated, other_values)]
        return value, (outputs, updated)

    run = jax.value_and_grad(pure, argnums=(0, 1), has_aux=True) if backward else pure
    if compiled:
        cache = model.__dict__.setdefault("_crossframe_jit", {})
        if key is None or key not in cache:
            run = jax.jit(run)
            if key is not None:
                cache[key] = run
        else:
            run = cache[key]

    def step():
        got = run([v.value for v in trainable], [inputs[k] for k in watched],
                  [v.value for v in others], fixed, target, upstream)
        if backward:
            (value, (outputs, updated)), (grads, input_grads) = got
        else:
            value, (outputs, updated) = got
            grads, input_grads = [], []
        for variable, new in zip(others, updated):
            variable.assign(new)
        return outputs, value, list(grads), list(input_grads)

    return step


def _torch(model, forward, inputs, watched, compiled, backward):
    import torch

    params = list(model.trainable_variables)

    def step():
        xs = {k: inputs[k].detach().clone().requires_grad_(backward) for k in watched}
        with torch.enable_grad() if backward else torch.no_grad():
            outputs, value = forward({**inputs, **xs})
        if not backward:
            return outputs, value, [], []
        tensors = [p.value for p in params] + list(xs.values())
        grads = torch.autograd.grad(value, tensors, allow_unused=True)
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]
        return outputs, value, grads[: len(params)], grads[len(params):]

    return step
