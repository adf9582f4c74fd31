"""A learner's layer written in torch or Keras, run where crossframe's own would be.

A torch layer is a ``torch.nn.Module`` class constructed like the torch class it stands for
(``MyLSTM(input_size, hidden_size, batch_first=True)``, ``MyLinear(in_features,
out_features)``) with that class' parameter names (``weight_ih_l0``, ``weight``, ``bias``) and
its call convention (an LSTM's ``forward(x, (h0, c0)) -> (output, (h_n, c_n))``, batch-first).
A Keras layer is a ``keras.layers.Layer`` class constructed like Keras' own (``MyLSTM(units,
return_sequences=True, return_state=True)``, ``MyDense(units)``), named by the ``name=`` it is
given, whose weights' last names are Keras' (``kernel``, ``recurrent_kernel``, ``bias``), called
like Keras' (a recurrent one with ``initial_state=[h0, c0]``, returning ``[h_seq, h_last,
c_last]``). Either is then loaded through the declared mapping, run by crossframe's torch or
Keras engine, and compared like any layer.
"""
from __future__ import annotations

import dataclasses
import inspect

from ..errors import InputError
from ..runner import run, with_mapping
from .learner import LearnerError, where


def kind_of(obj) -> str | None:
    """"torch", "keras" or None (a NumPy layer) for a class or an instance."""
    cls = obj if inspect.isclass(obj) else type(obj)
    for base in cls.__mro__:
        module = getattr(base, "__module__", "") or ""
        if module.startswith("torch.nn"):
            return "torch"
        if module.startswith("keras"):
            return "keras"
    return None


def _torch_args(cfg):
    o, name = cfg.opts, cfg.decl.name
    if name == "dense":
        return (cfg.flow_in.features, o["units"]), {"bias": o["use_bias"]}
    if cfg.decl.recurrent:
        return (cfg.flow_in.features, o["units"]), {"batch_first": True}
    if name == "conv2d":
        if o["padding"] != "valid":
            raise InputError("a torch Conv2d stand-in is checked with padding='valid'",
                             "pass --padding valid (torch has no strided 'same')")
        return (cfg.flow_in.features, o["filters"], o["kernel_size"]), {"stride": o["strides"],
                                                                        "bias": o["use_bias"]}
    if name in ("maxpool2d", "averagepool2d"):
        return (o["pool_size"],), {"stride": o["strides"]}
    return (), {}


def _keras_args(cfg):
    o, name = cfg.opts, cfg.decl.name
    if name == "dense":
        return (o["units"],), {"use_bias": o["use_bias"]}
    if cfg.decl.recurrent:
        return (o["units"],), {"return_sequences": True, "return_state": True}
    if name == "conv2d":
        return (o["filters"], o["kernel_size"]), {"strides": o["strides"],
                                                  "padding": o["padding"],
                                                  "use_bias": o["use_bias"]}
    if name in ("maxpool2d", "averagepool2d"):
        return (o["pool_size"], o["strides"]), {}
    return (), {}


def _torch_class(user, cfg, source):
    """The user's torch class with crossframe's recurrent call convention on top."""
    args, kwargs = _torch_args(cfg)
    if not cfg.decl.recurrent:
        def build(_cfg):
            try:
                return user(*args, **kwargs)
            except Exception as err:  # noqa: BLE001
                raise LearnerError(f"building {user.__name__}{args} raised "
                                   f"{where(err, source)}") from err
        return build
    lstm = cfg.decl.name == "lstm"

    def forward(self, x, h0=None, c0=None):
        state = None if h0 is None else ((h0[None], c0[None]) if lstm else h0[None])
        try:
            out, final = user.forward(self, x, state)
        except LearnerError:
            raise
        except Exception as err:  # noqa: BLE001
            raise LearnerError(f"your forward raised {where(err, source)}") from err
        if lstm:
            return out, final[0][0], final[1][0]
        return out, final[0]

    adapted = type(user.__name__, (user,), {"forward": forward})
    return lambda _cfg: adapted(*args, **kwargs)


class _KerasMaker:
    def __init__(self, user, source):
        self.user, self.source = user, source

    def make(self, cfg, dtype):
        args, kwargs = _keras_args(cfg)
        try:
            return self.user(*args, name=cfg.name, dtype=dtype, **kwargs)
        except Exception as err:  # noqa: BLE001
            raise LearnerError(f"building {self.user.__name__}{args} raised "
                               f"{where(err, self.source)}") from err


def runner(user, kind: str, source: str):
    """case -> Result, the user's torch or Keras class standing for the case's one layer."""
    from .. import frameworks

    if not inspect.isclass(user):
        raise InputError(f"a {kind} layer is verified from its class, not an instance",
                         "pass the class: crossframe builds one per case with the sizes")

    def run_case(case):
        cfg = case.model.layers[0]
        if kind == "torch":
            model = frameworks.engine("torch").build(
                case.model, case.dtype, {cfg.decl.name: _torch_class(user, cfg, source)})
            try:
                return run(case, "torch", model=model)
            except RuntimeError as err:
                raise LearnerError(f"running your torch layer raised {where(err, source)}") \
                    from err
        model = frameworks.engine("keras").build(case.model, case.dtype,
                                                 {cfg.decl.name: _KerasMaker(user, source)})
        paths = [v.path for v in model.weights]
        good = case.mapping("keras")
        entries = []
        for e in good.params:
            last = e.framework.rsplit("/", 1)[-1]
            found = [p for p in paths if p.rsplit("/", 1)[-1] == last]
            if len(found) != 1:
                raise LearnerError(f"your Keras layer has {len(found)} weights named "
                                   f"'{last}' ({', '.join(paths) or 'no weights'}); "
                                   f"{cfg.decl.title} needs exactly one")
            entries.append(dataclasses.replace(e, framework=found[0]))
        renamed = with_mapping(case, "keras",
                               lambda m: dataclasses.replace(m, params=tuple(entries)))
        try:
            return run(renamed, "keras", model=model)
        except LearnerError:
            raise
        except Exception as err:  # noqa: BLE001
            raise LearnerError(f"running your Keras layer raised {where(err, source)}") \
                from err
    return run_case
