"""`pdds power`: the seeds a claim needs, from given SDs or from run folders written by `pdds run --out`.

The numbers it prints are checked against :mod:`pddslib.paper.power` and against what the run
folders hold (runs.csv's per-seed UA, the predictions files); usage errors exit 2 with one error
line, data errors exit 1 naming the file."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import run_cli, run_name

from pddslib.cli import main
from pddslib.features import demo_stores
from pddslib.paper.power import floor_effect, power, seeds_needed
from pddslib.paper.significance import change_test, metric_weights

DEFAULT_SEEDS = (3, 5, 10, 20)


def _cli(argv, capsys):
    return run_cli(argv, capsys)


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line]


# -- without run folders: given SDs ------------------------------------------------------------------

GIVEN = ["power", "--seed-sd", "1.4", "--floor-sd", "0.6", "--effect", "2.0"]


def test_given_sds_json_is_the_power_of_the_library(capsys):
    code, out, err = _cli(GIVEN + ["--json"], capsys)
    assert code == 0, err
    plan = json.loads(out)
    assert isinstance(plan, dict)  # one object without folders (a list with them)
    assert plan["seed_sd"] == 1.4 and plan["floor_sd"] == 0.6 and plan["effect"] == 2.0
    assert list(plan["power"]) == [str(s) for s in DEFAULT_SEEDS]
    for s in DEFAULT_SEEDS:
        assert plan["power"][str(s)] == pytest.approx(power(2.0, 1.4, 0.6, s), abs=1e-12)
    need = seeds_needed(2.0, 1.4, 0.6)
    assert need is not None and plan["seeds_needed"] == need
    assert plan["power"]["20"] >= 0.8 > plan["power"]["10"] and 10 < need <= 20  # consistent with each other
    assert plan["floor_effect"] == pytest.approx(2.8016 * 0.6, rel=1e-4)
    assert plan["floor_effect"] == pytest.approx(floor_effect(0.6), abs=1e-12)
    assert "n_seeds" not in plan and "detectable_now" not in plan  # nothing measured, nothing to say about it


def test_given_sds_with_other_seed_counts(capsys):
    code, out, err = _cli(GIVEN + ["--seeds", "2", "7", "--max-seeds", "10", "--json"], capsys)
    assert code == 0, err
    plan = json.loads(out)
    assert list(plan["power"]) == ["2", "7"]
    assert plan["power"]["7"] == pytest.approx(power(2.0, 1.4, 0.6, 7), abs=1e-12)
    assert plan["seeds_needed"] is None  # 15 needed, more than --max-seeds 10


def test_given_sds_text_is_one_line_with_the_seeds_needed(capsys):
    code, out, err = _cli(GIVEN, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1 and err == ""
    need = seeds_needed(2.0, 1.4, 0.6)
    assert f"80% power needs {need} seeds" in lines[0]
    assert "SD of the per-seed change 1.40, test-set floor 0.60 points" in lines[0]
    assert ", ".join(f"{s} seeds {100 * power(2.0, 1.4, 0.6, s):.0f}%" for s in DEFAULT_SEEDS) in lines[0]
    assert f"smallest change with 80% power is {floor_effect(0.6):.2f}" in lines[0]


def test_an_effect_below_the_floor_says_so(capsys):
    effect = 0.95 * 2.8016 * 0.6  # below 2.80 x floor: no number of seeds reaches 80 %
    code, out, err = _cli(["power", "--seed-sd", "1.4", "--floor-sd", "0.6", "--effect", f"{effect:.4f}"], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 1
    assert "80% power needs none: below the test set's floor" in out
    code, out, err = _cli(["power", "--seed-sd", "1.4", "--floor-sd", "0.6", "--effect", f"{-effect:.4f}", "--json"],
                          capsys)
    assert code == 0, err
    assert json.loads(out)["seeds_needed"] is None
    # just above the floor, but more seeds than --max-seeds: not called "below the floor"
    code, out, err = _cli(["power", "--seed-sd", "1.4", "--floor-sd", "0.6", "--effect", "1.75", "--max-seeds", "20"],
                          capsys)
    assert code == 0, err
    assert "80% power needs more than 20" in out and "floor;" not in out


# -- usage errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, says", [
    (["power", "--effect", "1.0"], "give run folders (DIR ...) or both --seed-sd and --floor-sd"),
    (["power", "--effect", "1.0", "--seed-sd", "1.4"], "give run folders (DIR ...) or both --seed-sd and --floor-sd"),
    (["power", "somewhere", "--effect", "1.0", "--seed-sd", "1.4", "--floor-sd", "0.6"],
     "give run folders or --seed-sd/--floor-sd, not both"),
    (["power", "somewhere", "--effect", "1.0", "--floor-sd", "0.6"],
     "give run folders or --seed-sd/--floor-sd, not both"),
    (GIVEN + ["--seeds", "1"], "argument --seeds: expected a number of seeds >= 2"),
    (GIVEN + ["--seeds", "3", "1"], "argument --seeds: expected a number of seeds >= 2"),
    (["power", "--seed-sd", "-1", "--floor-sd", "0.6", "--effect", "2.0"],
     "argument --seed-sd: expected a number >= 0"),
    (["power", "--seed-sd", "1.4", "--floor-sd", "inf", "--effect", "2.0"],
     "argument --floor-sd: expected a number >= 0"),
    (["power", "--seed-sd", "1.4", "--floor-sd", "0.6", "--effect", "nan"],
     "--effect must be a finite number, got nan"),
    (["power", "--seed-sd", "1.4", "--floor-sd", "0.6", "--effect", "inf"],
     "--effect must be a finite number, got inf"),
])
def test_usage_errors_exit_2_with_one_error_line(argv, says, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # "somewhere" does not exist: the usage error comes before any reading
    code, out, err = _cli(argv, capsys)
    assert code == 2 and out == ""
    errors = _error_lines(err)
    assert len(errors) == 1 and errors[0] == err.splitlines()[-1], err
    assert errors[0].startswith("pdds power: error: ") and says in errors[0]
    if not errors[0].startswith("pdds power: error: argument "):  # ours, not argparse's: no usage block either
        assert err.splitlines() == errors


# -- from run folders ----------------------------------------------------------------------------------

#: The runs: cltnet, 2 seeds, 1 epoch on the CPU, in this process (no worker start-up on 2 cores). At the
#: default learning rate one epoch predicts 'fru' for 80 of the 81 test utterances, a floor of 0 and
#: seeds that nearly agree; --lr 0.01 gives seeds and utterances that differ, at the same cost.
RUN = ["run", "--model", "cltnet", "--seeds", "2", "--epochs", "1", "--lr", "0.01", "--no-progress", "--device", "cpu",
       "--jobs", "1"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two `pdds run --out` folders on a tiny demo store: cltnet, strategies none and pdds, seeds 0 and 1."""
    import torch

    root = tmp_path_factory.mktemp("power")
    store = demo_stores.write_demo_store(root / "store", scale=0.05, seed=0)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("PDDS_CACHE", str(root / "cache"))
            out = {}
            for strategy, name in (("none", "A"), ("pdds", "B")):
                argv = RUN + ["--corpus", str(store), "--strategy", strategy, "--cache", str(root / "cache" / "runs"),
                              "--out", str(root / name)]
                try:
                    code = main(argv)
                except SystemExit as exc:
                    code = exc.code
                assert code == 0, f"pdds run --strategy {strategy} failed"
                out[strategy] = root / name
    finally:
        torch.set_num_threads(n)
    return out["none"], out["pdds"]


def _per_seed_ua_change(dir_a: Path, dir_b: Path) -> pd.Series:
    a = pd.read_csv(dir_a / "runs.csv").set_index("seed")
    b = pd.read_csv(dir_b / "runs.csv").set_index("seed")
    assert set(a["strategy"]) == {"none"} and set(b["strategy"]) == {"pdds"}
    assert sorted(a.index) == sorted(b.index) == [0, 1]
    return 100 * (b["ua"] - a.loc[b.index, "ua"])


def test_run_folders_give_the_measured_change_and_its_power(folders, capsys):
    dir_a, dir_b = folders
    code, out, err = _cli(["power", dir_a, dir_b, "--effect", "1.0", "--metric", "ua", "--json"], capsys)
    assert code == 0, err
    plans = json.loads(out)
    assert isinstance(plans, list) and len(plans) == 1
    p = plans[0]
    assert (p["model"], p["a"], p["b"], p["metric"], p["n_seeds"]) == ("cltnet", "none", "pdds", "ua", 2)
    change = _per_seed_ua_change(dir_a, dir_b)
    assert change.abs().min() > 0 and change.std(ddof=1) > 0.1  # not a degenerate design
    assert p["change"] == pytest.approx(change.mean(), abs=1e-6)
    assert p["seed_sd"] == pytest.approx(change.std(ddof=1), abs=1e-6)
    assert p["low"] <= p["change"] <= p["high"] and 0 <= p["p"] <= 1
    preds = pd.read_csv(dir_a / "predictions" / f"{run_name(dir_a, 'cltnet-none-seed0')}.csv")
    assert p["n_utterances"] == len(preds)
    # the floor: the utterance part of the two-source test on the predictions files, in points
    classes = [c[2:] for c in preds.columns if c.startswith("p_")]
    index = {c: i for i, c in enumerate(classes)}

    def right(folder, strategy, seed):
        t = pd.read_csv(folder / "predictions" / f"{run_name(folder, f'cltnet-{strategy}-seed{seed}')}.csv").sort_values("utt_id")
        return t, (t["pred"] == t["consensus"]).to_numpy(float)

    diff, truth = [], None
    for seed in (0, 1):
        (ta, ra), (tb, rb) = right(dir_a, "none", seed), right(dir_b, "pdds", seed)
        assert ta["utt_id"].tolist() == tb["utt_id"].tolist()
        truth = ta["consensus"].map(index).to_numpy()
        diff.append(rb - ra)
    t = change_test(np.array(diff), *metric_weights(truth, len(classes), "ua"))
    assert p["floor_sd"] > 0.1 and p["floor_sd"] == pytest.approx(100 * t.floor_sd, abs=1e-6)
    assert p["seed_sd"] == pytest.approx(100 * t.seed_sd, abs=1e-6)
    # its power and the seeds needed at the measured SDs
    assert list(p["power"]) == [str(s) for s in DEFAULT_SEEDS] and p["effect"] == 1.0
    for s in DEFAULT_SEEDS:
        assert p["power"][str(s)] == pytest.approx(power(1.0, p["seed_sd"], p["floor_sd"], s), abs=1e-12)
    assert p["seeds_needed"] == seeds_needed(1.0, p["seed_sd"], p["floor_sd"])
    assert p["floor_effect"] == pytest.approx(floor_effect(p["floor_sd"]), abs=1e-12)
    assert math.isfinite(p["seed_sd_high"]) and p["seed_sd_high"] > p["seed_sd"]  # 1 degree of freedom: wide


def _plan_and_words(argv, capsys):
    code, out, err = _cli(argv + ["--json"], capsys)
    assert code == 0, err
    (plan,) = json.loads(out)
    code, out, err = _cli(argv, capsys)
    assert code == 0, err
    return plan, out.splitlines()


def test_run_folders_in_words(folders, capsys):
    dir_a, dir_b = folders
    # folders in either order; below the floor (1.0 < 2.80 x floor): said at the measured SD and at its upper bound
    plan, lines = _plan_and_words(["power", dir_b, dir_a, "--effect", "1.0", "--metric", "ua", "--model", "cltnet"],
                                  capsys)
    change = _per_seed_ua_change(dir_a, dir_b).mean()
    assert len(lines) == 2 and lines[0].startswith(f"cltnet: pdds vs none, UA {change:+.2f} points")
    assert f"p {plan['p']:.3f}, 2 seeds, {plan['n_utterances']} utterances" in lines[0]
    assert 1.0 < plan["floor_effect"] and plan["seeds_needed"] is None and plan["seeds_needed_high"] is None
    assert lines[1].startswith(f"  SD of the per-seed change {plan['seed_sd']:.2f}, test-set floor "
                               f"{plan['floor_sd']:.2f} points")
    assert lines[1].count("80% power needs none: below the test set's floor") == 2
    assert f"the present 2 seeds detect {plan['detectable_now']:.2f} with 80% power" in lines[1]


def test_seeds_beyond_max_seeds_are_said_as_such_at_the_sd_upper_bound(folders, capsys):
    dir_a, dir_b = folders
    plan, lines = _plan_and_words(["power", dir_a, dir_b, "--effect", "20", "--metric", "ua", "--max-seeds", "10"],
                                  capsys)
    # above the floor, reached by the measured SD within 10 seeds, not by its 95 % upper bound (1 degree of freedom)
    assert plan["floor_effect"] < 20 and plan["seeds_needed"] is not None and plan["seeds_needed_high"] is None
    assert plan["seeds_needed"] == seeds_needed(20, plan["seed_sd"], plan["floor_sd"], max_seeds=10)
    assert f"80% power needs {plan['seeds_needed']} seeds;" in lines[1]
    assert lines[1].endswith(f"upper bound {plan['seed_sd_high']:.2f}, 80% power needs more than 10.")
    assert "below the test set's floor" not in lines[1]


def test_strategies_without_runs_are_a_usage_error(folders, capsys):
    dir_a, dir_b = folders
    code, out, err = _cli(["power", dir_a, dir_b, "--effect", "1.0", "--a", "none", "--b", "uniform"], capsys)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("pdds power: error: no model has runs of both --a none and --b uniform")
    # one folder holds only one strategy
    code, out, err = _cli(["power", dir_a, "--effect", "1.0"], capsys)
    assert code == 2 and "--a none and --b pdds" in err and len(err.splitlines()) == 1
    # a model with no runs
    code, out, err = _cli(["power", dir_a, dir_b, "--effect", "1.0", "--model", "cltnet_text"], capsys)
    assert code == 2 and len(err.splitlines()) == 1


def test_a_folder_without_runs_csv_is_a_data_error(folders, tmp_path, capsys):
    dir_a, _ = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = _cli(["power", dir_a, empty, "--effect", "1.0"], capsys)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("pdds power: error: ") and str(empty / "runs.csv") in err and "no such file" in err


def test_a_run_whose_predictions_were_deleted_is_a_data_error(folders, tmp_path, capsys):
    dir_a, dir_b = folders
    copy = tmp_path / "B"
    shutil.copytree(dir_b, copy, symlinks=True)
    gone = copy / "predictions" / f"{run_name(copy, 'cltnet-pdds-seed1')}.csv"
    assert gone.is_file()
    gone.unlink()
    code, out, err = _cli(["power", dir_a, copy, "--effect", "1.0"], capsys)
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("pdds power: error: ") and str(gone) in err and "no such file" in err
    key = pd.read_csv(copy / "runs.csv").set_index("seed").loc[1, "key"]
    assert key in err and str(copy / "runs.csv") in err  # which run, listed where
