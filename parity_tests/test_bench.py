"""``crossframe bench``'s machinery: which workloads, how a process is settled (threads,
allocator), what memory and kernels it reports, and how its tables are read (busy rows, where
cost turns linear, the targets). Structure and hand-derived values only, never a time as a pass
condition: speed goals live in `crossframe bench`, not in tests."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from crossframe import bench, bench_run

CLI = [sys.executable, "-m", "crossframe.cli", "bench"]
MODELS = {"linear", "mlp", "mlp_bn", "convnet", "rnn", "rnn_seq", "lstm", "lstm_seq", "gru",
          "gru_seq", "gru_reset_before", "gru_reset_before_seq", "embedding_lstm",
          "conv1d_regression", "text_bigru", "text_bigru_masked"}
FAST_LAYERS = {"conv2d", "rnn_layer", "lstm_layer", "gru_layer", "gru_reset_before_layer"}


def test_every_model_and_every_fast_kernel_is_a_workload():
    known = bench.benchmarks()
    assert set(known) == MODELS | FAST_LAYERS            # `sequential` is the user's model
    for name, b in known.items():                        # the targets' batch sizes
        assert b.batch_size == (128 if name in {"linear", "mlp", "mlp_bn"} else 64), name
        assert b.target == (1.0 if name in {"linear", "mlp", "mlp_bn"} else 1.5), name
    assert known["lstm_layer"].options == {"features": 16, "units": 64, "steps": 50}


def test_the_allocator_thresholds_are_fixed_and_said():
    assert bench_run.settle_allocator() == "M_MMAP_THRESHOLD=32 MiB, M_TRIM_THRESHOLD=1024 MiB"


def test_a_fresh_process_is_pinned_to_its_threads():
    code = ("from crossframe import bench_run; bench_run.pin_threads(1); import os, torch; "
            "print(len(os.sched_getaffinity(0)), os.environ['OMP_NUM_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["1", "1"], out.stderr


def test_peak_memory_sees_what_a_step_allocates():
    mib = 64
    big = bench_run.peak_memory_mib(lambda: np.ones((mib, 2**17)))     # 64 MiB of float64
    small = bench_run.peak_memory_mib(lambda: np.ones(10))
    assert mib * 0.95 <= big <= mib * 1.5 and small < 4


def test_torch_kernels_name_onednn_where_torch_uses_it():
    """torch's float32 CPU LSTM is oneDNN's fused kernel; its float64 LSTM is not."""
    import torch

    def lstm_step(dtype):
        m = torch.nn.LSTM(3, 4, batch_first=True).to(dtype)
        x = torch.randn(2, 5, 3, dtype=dtype, requires_grad=True)
        return lambda: m(x)[0].sum().backward()

    assert "aten::mkldnn_rnn_layer" in bench_run.torch_kernels(lstm_step(torch.float32))
    assert bench_run.torch_kernels(lstm_step(torch.float64)) == "none"


def _rows(times_by_fw, benchmark="mlp", axis="", size=0):
    return [dict(benchmark=benchmark, dtype="float32", axis=axis, size=size, framework=fw,
                 threads=1, times=t, memory_mib=None) for fw, t in times_by_fw.items()]


def test_a_row_whose_median_is_far_above_its_minimum_is_busy():
    table = bench._table(_rows({"torch": [2.0, 2.0, 2.1], "scratch-fast": [1, 1, 2, 2, 2]}),
                         bench.benchmarks(), {})
    by = table.set_index("framework")
    assert not by.loc["torch", "busy"] and by.loc["scratch-fast", "busy"]
    assert by.loc["scratch-fast", "ratio_to_torch"] == pytest.approx(2.0 / 2.0)


def test_cost_turns_linear_where_the_fixed_cost_stops_dominating():
    # t(s) = 5 ms + 1 ms per item: per item 5/s + 1, within 1.25x of the largest size's
    # (1 + 5/1024) once 5/s <= 0.25 + 1.25 * 5/1024, i.e. s >= 19.6: from 64 on (not 16)
    sizes = [1, 4, 16, 64, 256, 1024]
    table = pd.DataFrame(dict(benchmark="mlp", axis="batch", dtype="float32",
                              framework="torch", size=sizes,
                              median_ms=[5.0 + s for s in sizes]))
    got = bench.linear_from(table).iloc[0]
    assert got["linear_from"] == 64 and got["us_per_item"] == pytest.approx(
        (5 + 1024) / 1024 * 1e3)


def test_targets_say_met_and_missed():
    table = pd.DataFrame([
        dict(benchmark="mlp", dtype="float32", framework="scratch-fast", ratio_to_torch=0.8,
             target=1.0, step_to_floor=np.nan),
        dict(benchmark="lstm_layer", dtype="float32", framework="scratch-fast",
             ratio_to_torch=1.7, target=1.5, step_to_floor=2.1)])
    goals = bench.targets(table)
    assert goals["met"].tolist() == [True, False, False]
    assert goals["target"].tolist()[2] == "fast kernel step / its matrix products alone"


def test_fresh_processes_time_each_framework_with_the_threads_asked():
    table = bench.measure(["linear"], repeats=2, warmup=1, fresh=True, threads=1,
                          frameworks=["scratch-fast", "torch"])
    assert table["framework"].tolist() == ["scratch-fast", "torch"]
    assert (table["threads"] == 1).all() and (table["median_ms"] > 0).all()
    assert {i["cores"] for i in table.attrs["processes"].values()} == {1}


def test_cli_writes_csv_and_json_with_targets(tmp_path):
    (tmp_path / "sweep.csv").write_text("an older run's sweep")
    out = subprocess.run(CLI + ["linear", "--repeats", "1", "--in-process", "--json",
                                "--frameworks", "scratch-fast,torch", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [r["framework"] for r in doc["rows"]] == ["scratch-fast", "torch"]
    assert doc["targets"][0]["workload"] == "linear" and set(doc["peaks"]) == {"float32"}
    written = pd.read_csv(tmp_path / "bench.csv")
    assert written["framework"].tolist() == ["scratch-fast", "torch"]
    # the older sweep is gone: it would sit beside this run's table as if measured with it
    assert sorted(os.listdir(tmp_path)) == ["bench.csv", "targets.csv"]


@pytest.mark.parametrize("args, message", [
    (["--threads", "0"], "--threads 0"),
    (["--threads", "999"], "--threads 999"),
    (["--warmup", "-1"], "--warmup -1"),
])
def test_cli_bad_settings_are_one_line_exit_2(args, message):
    out = subprocess.run(CLI + ["linear", *args], capture_output=True, text=True)
    assert out.returncode == 2 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_cli_out_that_is_a_file_is_exit_2(tmp_path):
    f = tmp_path / "taken"
    f.write_text("keep")
    out = subprocess.run(CLI + ["linear", "--out", str(f)], capture_output=True, text=True)
    assert out.returncode == 2 and "is a file" in out.stderr and f.read_text() == "keep"


def test_a_row_stops_after_max_time_but_never_before_five_rounds():
    calls = []
    times = bench_run._time(lambda: calls.append(1), repeats=50, warmup=2, max_time=1e-9)
    assert len(times) == bench_run.MIN_ROUNDS == 5 and len(calls) == 2 + 5
    assert len(bench_run._time(lambda: None, repeats=50, warmup=0, max_time=None)) == 50


def test_a_named_sweep_times_what_was_named():
    """lstm reads the 8 rows of a digit: only lstm_layer's sequence length is free."""
    points = bench.sweep_points(["lstm_layer", "lstm"])
    assert points == dict(batch_on=("lstm_layer", "lstm"), steps_on=("lstm_layer",))
    assert bench.sweep_points([])["steps_on"] == ("rnn_layer", "lstm_layer", "gru_layer")


def test_a_sweep_keeps_to_the_batches_a_data_set_has():
    """linear trains on diabetes (442 rows): no batch of 1024."""
    works = bench.sweep_works(["float32"], batch_on=("linear",), steps_on=())
    assert [w.size for w in works] == [1, 4, 16, 64, 256]


def test_a_cost_that_never_turns_linear_says_so():
    sizes = [1, 4, 16, 64, 256, 1024]          # 5 ms + 1 us per item: a fixed cost throughout
    table = pd.DataFrame(dict(benchmark="mlp", axis="batch", dtype="float32",
                              framework="torch", size=sizes,
                              median_ms=[5.0 + 0.001 * s for s in sizes]))
    assert pd.isna(bench.linear_from(table).iloc[0]["linear_from"])


def test_only_scratch_fast_rows_carry_the_target():
    table = bench._table(_rows({"torch": [1.0] * 3, "scratch-fast": [1.0] * 3}),
                         bench.benchmarks(), {})
    by = table.set_index("framework")["target"]
    assert by["scratch-fast"] == 1.0 and pd.isna(by["torch"])


def test_the_sweep_files_are_written_with_their_plot(tmp_path):
    rows = [r for s in (1, 16, 256) for r in _rows(
        {"torch": [1.0 + s / 100] * 3, "scratch-fast": [0.5 + s / 50] * 3}, axis="batch",
        size=s)]
    swept = bench._table(rows, bench.benchmarks(), {})
    goals = bench.targets(swept.iloc[:0])
    bench._write(str(tmp_path), swept.iloc[:0], goals, swept, bench.linear_from(swept))
    assert sorted(os.listdir(tmp_path)) == ["bench.csv", "linear_from.csv", "sweep.csv",
                                            "sweep.png", "targets.csv"]
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
