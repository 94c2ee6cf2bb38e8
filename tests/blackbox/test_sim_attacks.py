"""euca-sim against hostile inputs: sizes that would overflow, files that would hang the engine or
fill the disk, outputs that are links or devices, and labels and names that would break what
is written. Each is refused with the option or the file's line named, or runs to its end."""

import json
import os
import pathlib
import subprocess

SIM = pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug" / "euca-sim"


def sim(*args, timeout=30):
    return subprocess.run([str(SIM), "run", *args], capture_output=True, text=True, timeout=timeout)


def test_sizes_that_would_overflow_are_refused_by_name(tmp_path):
    for args, words in [(["--cores", "9223372036854775807"], "--cores"), (["--cores", "3000000000"], "--cores"),
                        (["--memory", "5000000000000000000"], "--memory"), (["--disk", "5000000000000000000"], "--disk"),
                        (["--types", ","], "--types"), (["--types", "m1.small:0"], "--types"),
                        (["--rate", "1e308"], "--rate"), (["--lifetime", "lognormal:1000:0"], "--lifetime"),
                        (["--lifetime", "exponential:1e308"], "--lifetime"), (["--interval", "1e-300", "--csv", str(tmp_path / "c")], "--interval"),
                        (["--policy", "POWERSAVE", "--power-down-after", "60", "--sla-review", "1e-300", "--sla", "lease"], "--sla-review"),
                        (["--migrate", "consolidate:1e-320"], "--migrate"), (["--migration-bandwidth", "1e-320", "--migrate", "consolidate"], "--migration-bandwidth"),
                        (["--sla", ","], "--sla"), (["--power-down-after", "60"], "--power-down-after"), (["--machine", "1"], "--machine"),
                        (["--max-events", "0"], "--max-events")]:
        result = sim(*args)
        assert result.returncode == 64 and words in result.stderr and "Unknown option" not in result.stderr, (args, result.returncode, result.stderr)
    trace = tmp_path / "big.jsonl"
    trace.write_text('{"time":0,"lifetime":10,"cores":3000000,"memoryMiB":1}\n')
    big = sim("--hosts", "1", "--cores", "100000", "--trace", str(trace))
    assert big.returncode == 65 and "line 1" in big.stderr
    assert sim("--accounts", "2", "--trace", str(trace)).returncode == 64


def test_a_tiny_trace_cannot_hold_the_engine(tmp_path):
    # A VM living 10^12 s: reviews, migrations and sampling would otherwise tick for ever.
    trace = tmp_path / "long.jsonl"
    trace.write_text('{"time":0,"lifetime":1e12,"type":"m1.small","account":"111111111111"}\n')
    terms = tmp_path / "terms.json"
    terms.write_text('{"111111111111": {"maxInstances": 5}}')
    for extra in (["--terms", str(terms)], ["--migrate", "consolidate:1"], ["--sla", "lease", "--sla-review", "0.001"]):
        result = sim("--trace", str(trace), "--no-timings", *extra, timeout=20)
        assert result.returncode == 0 and json.loads(result.stdout)["outcome"]["simulatedSeconds"] == 1e12, (extra, result.stderr)
    # A CSV stops at 1,000,000 rows: asked for a row a second over 10^12 s, it does not fill the disk.
    capped = sim("--trace", str(trace), "--no-timings", "--csv", str(tmp_path / "rows.csv"), "--interval", "1", "--max-events", "100", timeout=120)
    assert capped.returncode == 0
    assert sum(1 for _ in (tmp_path / "rows.csv").open()) == 1_000_001
    # The limit of events stops a run and says so.
    many = sim("--rate", "10", "--duration", "1000", "--no-timings", "--max-events", "50")
    assert many.returncode == 0 and json.loads(many.stdout)["outcome"]["stoppedAtEventLimit"] is True
    assert "--max-events" in many.stderr


def test_outputs_are_written_through_the_path_as_a_shell_would(tmp_path):
    target = tmp_path / "target"
    target.write_text("")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert sim("--no-timings", "--cdf", str(link), "--duration", "100").returncode == 0
    assert link.is_symlink() and target.read_text().startswith("quantile,")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    assert sim("--no-timings", "--decisions", str(fifo), "--duration", "100").returncode == 0
    assert reader.communicate(timeout=10)[0].count('"arrival"') > 0 and fifo.exists() and not fifo.is_file()
    full = sim("--no-timings", "--cdf", "/dev/full", "--duration", "100")
    assert full.returncode == 64 and "No space left" in full.stderr
    assert pathlib.Path("/dev/full").is_char_device()
    same = sim("--csv", str(tmp_path / "x"), "--decisions", str(tmp_path / "x"))
    assert same.returncode == 64 and "different files" in same.stderr


def test_names_and_labels_cannot_break_messages_or_charts(tmp_path):
    trace = tmp_path / "esc.jsonl"
    trace.write_text('{"time":0,"lifetime":1,"type":"\\u001b[2J\\u0007x"}\n')
    result = sim("--trace", str(trace))
    assert result.returncode == 65 and "\x1b" not in result.stderr and "\x07" not in result.stderr
    run = tmp_path / "a.cdf"
    assert sim("--no-timings", "--cdf", str(run), "--duration", "100").returncode == 0
    plotted = subprocess.run([str(SIM), "plot", "--out", str(tmp_path / "charts"), f"{run}=a\ufffeb\x01c"], capture_output=True, text=True)
    assert plotted.returncode == 0, plotted.stderr
    import xml.etree.ElementTree as ElementTree
    ElementTree.parse(tmp_path / "charts" / "wait-cdf.svg")
    for header, words in [("time_s,running,active_hosts,core_allocation,running\n0,1,1,0,1\n", "twice"),
                          ("quantile,wait_s\n0,0\n1,1.7e308\n", "10^15")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(header)
        refused = subprocess.run([str(SIM), "plot", "--out", str(tmp_path / "o"), str(bad)], capture_output=True, text=True)
        assert refused.returncode == 65 and words in refused.stderr, refused.stderr
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("quantile,wait_s\n0,0\n1,5e-324\n")
    assert subprocess.run([str(SIM), "plot", "--out", str(tmp_path / "o"), str(tiny)], capture_output=True).returncode == 0
    (tmp_path / "file").write_text("")
    notdir = subprocess.run([str(SIM), "plot", "--out", str(tmp_path / "file"), str(tiny)], capture_output=True, text=True)
    assert notdir.returncode == 64 and "--out" in notdir.stderr
    terms = tmp_path / "terms.json"
    terms.write_text('{"111111111111": {"maxInstance": 2}}')
    misspelt = sim("--terms", str(terms))
    assert misspelt.returncode == 64 and "no other" in misspelt.stderr
