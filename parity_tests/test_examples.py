"""The notebooks in examples/ run top to bottom in a real Jupyter kernel (nbclient), so they
never rot: any cell that raises fails the test, and one key result per notebook is asserted.

Each notebook is executed in memory with one cell appended that prints its key results as JSON;
the notebook file itself is not written back (the repository holds sources without outputs).
The kernel runs in a temporary folder, so a notebook can never write into the repository.
Time per notebook: ``pytest --durations`` (make test lists the slowest).
"""
from __future__ import annotations

import json
import pathlib

import nbclient          # the test extras (pyproject): a missing one fails, never skips
import nbformat
import pytest

from crossframe.tolerances import tolerance

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(p.name for p in EXAMPLES.glob("*.ipynb"))
TIMEOUT = 300          # seconds per cell: a stuck cell fails instead of hanging the suite
KEY = "CROSSFRAME-EXAMPLE-KEYS:"


def kernel_name() -> str:
    """The `python3` kernel of this venv (ipykernel installs its spec there); jupyter_client
    starts it with this very interpreter (sys.executable)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.fail("no python3 Jupyter kernel: install the test extras, "
                    "pip install -c constraints.txt -e '.[test]' (ipykernel)")
    return "python3"


def execute(name: str, probe: str, tmp_path) -> dict:
    """Run examples/NAME in a fresh kernel with ``probe`` (code that evaluates to a dict of the
    notebook's key results) appended; return that dict. A cell that raises fails the test with
    nbclient's CellExecutionError (the cell and its traceback)."""
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code"), \
        f"{name} is saved with outputs: clear them (the repository holds sources)"
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import json as _json\nprint({KEY!r} + _json.dumps({probe}))"))
    client = nbclient.NotebookClient(nb, kernel_name=kernel_name(), timeout=TIMEOUT,
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    line = next(line for line in text.splitlines() if line.startswith(KEY))
    return json.loads(line[len(KEY):])


def test_every_notebook_is_tested():
    assert NOTEBOOKS == ["engineer_port_a_checkpoint.ipynb", "learner_verify_a_layer.ipynb",
                         "teacher_lstm_lesson.ipynb"]


def test_learner_verify_a_layer(tmp_path):
    keys = execute("learner_verify_a_layer.ipynb", """{
        "good": bool(good.attrs["ok"]), "bad": bool(bad.attrs["ok"]),
        "bad_summary": bad.attrs["summary"], "transposed": bool(transposed.attrs["ok"]),
        "transposed_summary": transposed.attrs["summary"], "cli_rc": cli.returncode,
        "cli_out": cli.stdout, "left": os.path.exists(workdir)}""", tmp_path)
    assert keys["good"] is True
    assert keys["bad"] is False and "db is 1/N times the right one" in keys["bad_summary"]
    assert keys["transposed"] is False and "kernel is used transposed" in \
        keys["transposed_summary"]
    assert keys["cli_rc"] == 1 and "1/N" in keys["cli_out"]
    assert not keys["left"]


def test_teacher_lstm_lesson(tmp_path):
    keys = execute("teacher_lstm_lesson.ipynb", """{
        "by_hand_ok": bool(by_hand["ok"].all()), "by_hand_rows": len(by_hand),
        "by_hand_worst": float(by_hand["max_rel"].max()),
        "check_ok": bool(table["ok"].all()), "pairs": sorted(set(table["pair"])),
        "check_worst": float(table["max_rel"].max()),
        "lesson": [(r["dtype"], r["pair"], r["ok"]) for r in handout["parity"]]}""", tmp_path)
    bound = tolerance("float64").rel
    # 3 outputs + 3 parameter gradients + 3 input gradients, each scratch~torch and ~keras
    assert keys["by_hand_ok"] and keys["by_hand_rows"] == 18
    assert keys["by_hand_worst"] <= bound
    assert keys["check_ok"] and keys["check_worst"] <= bound
    assert keys["pairs"] == ["scratch~keras", "scratch~torch", "torch~keras"]
    # the generated handout's parity: every pair in both dtypes, each within its own bound
    assert sorted(keys["lesson"]) == sorted(
        [dtype, pair, True] for dtype in ("float32", "float64") for pair in keys["pairs"])


def test_engineer_port_a_checkpoint(tmp_path):
    keys = execute("engineer_port_a_checkpoint.ipynb", """{
        "ok": conversion.ok, "written": conversion.written,
        "worst": float(conversion.table["max_rel"].max()),
        "own_batch": float(own["max_rel"].max()), "round_trip": all(same.values()),
        "hand_ok": hand.ok, "hand_keys": sorted({f.key for f in hand.findings}),
        "left": os.path.exists(workdir)}""", tmp_path)
    bound = tolerance("float64").rel
    assert keys["ok"] and keys["written"] and keys["worst"] <= bound
    assert keys["own_batch"] <= bound and keys["round_trip"]
    assert keys["hand_ok"] is False and keys["hand_keys"] == ["epsilon", "gates-permuted"]
    assert not keys["left"]
