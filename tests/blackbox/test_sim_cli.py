"""euca-sim as a researcher runs it: a synthetic workload on the cloud's own placement policies,
the same seed giving the same summary byte for byte, bad arguments refused by name."""

import json
import pathlib
import subprocess

SIM = pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug" / "euca-sim"


def run(*args):
    return subprocess.run([str(SIM), "run", *args], capture_output=True, text=True, timeout=120)


def test_the_same_seed_gives_the_same_summary_and_every_arrival_is_accounted_for():
    args = ["--hosts", "20", "--cores", "8", "--memory", "8192", "--policy", "POWERSAVE", "--rate", "1",
            "--lifetime", "lognormal:6:1", "--types", "m1.small:3,c1.xlarge:1", "--duration", "20000", "--no-timings"]
    first, again, other = run(*args, "--seed", "9"), run(*args, "--seed", "9"), run(*args, "--seed", "10")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout and first.stdout != other.stdout
    outcome = json.loads(first.stdout)["outcome"]
    assert "performance" not in json.loads(first.stdout)
    assert outcome["policy"] == "POWERSAVE" and outcome["capacityViolations"] == 0
    assert outcome["accepted"] + sum(outcome["rejected"].values()) == outcome["arrivals"] > 15000
    timed = json.loads(run(*args[:-1], "--seed", "9").stdout)
    assert timed["performance"]["eventsPerSecond"] > 0 and timed["outcome"] == outcome


def test_bad_arguments_are_refused_by_name():
    for args, words in [(["--policy", "BOGUS"], "--policy is one of"), (["--lifetime", "weird:1"], "--lifetime is"),
                        (["--types", "m9.huge:1"], "--types"), (["--lifetime", "exponential:nan"], "--lifetime"),
                        (["--rate", "0"], "--rate"), (["--rate", "-1"], "--rate"), (["--hosts", "0"], "--hosts"),
                        (["--duration", "inf"], "--duration")]:
        result = run(*args)
        assert result.returncode == 64 and words in result.stderr, (args, result.stderr)


def test_a_trace_is_replayed_and_a_bad_line_is_named(tmp_path):
    trace = tmp_path / "day.jsonl"
    trace.write_text("".join(f'{{"time": {t}, "lifetime": 600, "type": "m1.small"}}\n' for t in range(0, 1000, 10)))
    result = run("--trace", str(trace), "--hosts", "4", "--no-timings")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)["outcome"]
    assert outcome["arrivals"] == 100 and outcome["accepted"] == 100 and outcome["simulatedSeconds"] == 1590
    swf = tmp_path / "jobs.swf"
    swf.write_text("; hand-written\n1 0 0 100 2 -1 1024 2 100 -1 1 1 1 -1 1 -1 -1 -1\n")
    assert json.loads(run("--trace", str(swf), "--format", "swf", "--no-timings").stdout)["outcome"]["arrivals"] == 1
    trace.write_text('{"time": 5, "lifetime": 1, "type": "m1.small"}\n{"time": 1, "lifetime": 1, "type": "m1.small"}\n')
    bad = run("--trace", str(trace))
    assert bad.returncode == 65 and "line 2" in bad.stderr, bad.stderr
    assert run("--trace", str(tmp_path / "missing")).returncode == 64
    assert run("--trace", str(swf), "--format", "csv").returncode == 64
    azure = tmp_path / "vmtable.csv"
    azure.write_text("a,s,d,0,3600,50,10,40,Interactive,2,4\nb,s,d,60,120,50,10,40,Unknown,>24,>64\n")
    replayed = json.loads(run("--trace", str(azure), "--format", "azure", "--cores", "32", "--memory", "131072", "--no-timings").stdout)
    assert replayed["outcome"]["arrivals"] == 2 and replayed["outcome"]["accepted"] == 2 and replayed["outcome"]["simulatedSeconds"] == 3600
    vms = tmp_path / "bitbrains"
    vms.mkdir()
    header = "Timestamp [ms];\tCPU cores;\tCPU capacity provisioned [MHZ];\tCPU usage [MHZ];\tCPU usage [%];\tMemory capacity provisioned [KB];\tMemory usage [KB];\tDisk read throughput [KB/s];\tDisk write throughput [KB/s];\tNetwork received throughput [KB/s];\tNetwork transmitted throughput [KB/s]\n"
    (vms / "1.csv").write_text(header + "".join(f"{1376314846 + 300 * i};\t2;\t5200;\t10;\t0.2;\t4194304;\t1000;\t0;\t0;\t0;\t0\n" for i in range(5)))
    bitbrains = json.loads(run("--trace", str(vms), "--format", "bitbrains", "--no-timings").stdout)["outcome"]
    assert bitbrains["arrivals"] == 1 and bitbrains["simulatedSeconds"] == 1200
    (vms / "2.csv").write_text("garbage\n")
    broken = run("--trace", str(vms), "--format", "bitbrains")
    assert broken.returncode == 65 and "2.csv" in broken.stderr
    google = tmp_path / "task_events.csv"
    google.write_text("600000000,,7,0,m,1,u,0,9,0.25,0.5,0,0\n900000000,,7,0,m,4,u,0,9,0.25,0.5,0,0\n")
    tasks = json.loads(run("--trace", str(google), "--format", "google", "--cores", "16", "--no-timings").stdout)["outcome"]
    assert tasks["arrivals"] == 1 and tasks["simulatedSeconds"] == 900
    google.write_text("600000000,,7,0,m,1,u,0,9,0.25\n")
    bad = run("--trace", str(google), "--format", "google")
    assert bad.returncode == 65 and "line 1" in bad.stderr


def test_the_csv_has_a_row_per_interval(tmp_path):
    rows = tmp_path / "run.csv"
    result = run("--hosts", "5", "--rate", "0.5", "--lifetime", "exponential:60", "--duration", "1000", "--horizon", "1000",
                 "--csv", str(rows), "--interval", "100", "--no-timings")
    assert result.returncode == 0, result.stderr
    lines = rows.read_text().splitlines()
    assert lines[0] == "time_s,running,active_hosts,accepted_total,rejected_total,core_allocation,memory_allocation,power_w"
    assert [float(line.split(",")[0]) for line in lines[1:]] == [float(t) for t in range(0, 1001, 100)]
    assert result.stderr == "", "no progress line when standard error is not a terminal"
    assert run("--interval", "0").returncode == 64


def test_a_power_model_adds_energy_and_bad_ones_are_refused():
    linear = json.loads(run("--hosts", "2", "--power", "linear:100:300", "--rate", "0.1", "--duration", "100", "--no-timings").stdout)
    assert linear["outcome"]["energyKWh"] > 0 and 200 <= linear["outcome"]["meanPowerWatts"] <= 600
    plain = json.loads(run("--hosts", "2", "--rate", "0.1", "--duration", "100", "--no-timings").stdout)
    assert "energyKWh" not in plain["outcome"]
    spec = run("--power", "specpower:" + ",".join(str(w) for w in range(100, 210, 10)), "--rate", "0.1", "--duration", "100", "--no-timings")
    assert spec.returncode == 0 and json.loads(spec.stdout)["outcome"]["meanPowerWatts"] > 0
    for bad in ("linear:300:100", "linear:1", "specpower:1,2,3", "quadratic:1:2", "linear:a:b", "specpower:" + ",".join(["-1"] * 11)):
        refused = run("--power", bad)
        assert refused.returncode == 64 and "--power" in refused.stderr, (bad, refused.stderr)
    assert run("--empty-hosts-off").returncode == 64


def test_plot_overlays_two_policies_on_one_workload(tmp_path):
    from xml.etree import ElementTree
    for policy in ("GREEDY", "ROUNDROBIN"):
        result = run("--hosts", "8", "--policy", policy, "--rate", "0.2", "--duration", "20000", "--power", "linear:90:250",
                     "--csv", str(tmp_path / f"{policy}.csv"), "--interval", "600", "--no-timings")
        assert result.returncode == 0, result.stderr
    plot = subprocess.run([str(SIM), "plot", "--out", str(tmp_path / "charts"), str(tmp_path / "GREEDY.csv"),
                           f"{tmp_path / 'ROUNDROBIN.csv'}=round robin"], capture_output=True, text=True, timeout=60)
    assert plot.returncode == 0, plot.stderr
    names = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert names == ["active-hosts.svg", "arrivals.svg", "power.svg", "utilization.svg"]
    svg = (tmp_path / "charts" / "active-hosts.svg").read_text()
    root = ElementTree.fromstring(svg)
    lines = root.findall("{http://www.w3.org/2000/svg}polyline")
    assert len(lines) == 2 and "GREEDY" in svg and "round robin" in svg
    # GREEDY packs onto fewer hosts than ROUNDROBIN spreads over: its line lies lower (larger y).
    def mean_y(line):
        ys = [float(p.split(",")[1]) for p in line.get("points").split()]
        return sum(ys) / len(ys)
    assert mean_y(lines[0]) > mean_y(lines[1])
    (tmp_path / "bad.csv").write_text("time_s,running\n1,2\n")
    bad = subprocess.run([str(SIM), "plot", "--out", str(tmp_path / "x"), str(tmp_path / "bad.csv")], capture_output=True, text=True)
    assert bad.returncode == 65 and "bad.csv" in bad.stderr
    missing = subprocess.run([str(SIM), "plot", str(tmp_path / "none.csv")], capture_output=True, text=True)
    assert missing.returncode == 64


def test_decisions_are_written_a_json_line_each(tmp_path):
    decisions = tmp_path / "decisions.jsonl"
    result = run("--hosts", "2", "--cores", "2", "--rate", "1", "--lifetime", "fixed:1000", "--duration", "10",
                 "--decisions", str(decisions), "--no-timings")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)["outcome"]
    lines = [json.loads(line) for line in decisions.read_text().splitlines()]
    assert len(lines) == outcome["arrivals"] and [d["arrival"] for d in lines] == list(range(1, len(lines) + 1))
    assert sum(d["node"] is None for d in lines) == sum(outcome["rejected"].values())
    assert {d["node"] for d in lines if d["node"]} <= {"h0", "h1"} and all(d["type"] == "m1.small" for d in lines)


def test_the_golden_results_come_out_byte_for_byte(tmp_path):
    """scripts/sim-golden writes them; after a change meant to alter them, it updates them."""
    root = pathlib.Path(__file__).resolve().parents[2]
    result = subprocess.run([str(root / "scripts" / "sim-golden"), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    golden = root / "tests" / "blackbox" / "data" / "sim-golden"
    names = sorted(p.name for p in golden.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir()) and "active-hosts.svg" in names
    for name in names:
        assert (tmp_path / name).read_bytes() == (golden / name).read_bytes(), f"{name} differs from its golden copy"


def test_a_day_of_the_cloud_is_replayed_from_its_event_log(tmp_path):
    """euca-cloud with EVENT_LOG writes each instance's life as it ends; euca-sim replays it."""
    from conftest import Cloud, states, wait_for
    log = tmp_path / "events.jsonl"
    cloud = Cloud(tmp_path / "var", env={"EVENT_LOG": str(log)}).start()
    try:
        ec2 = cloud.client()
        image = ec2.describe_images(Owners=["self"])["Images"][0]["ImageId"]
        first = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
        second = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.large")["Instances"][0]["InstanceId"]
        wait_for(lambda: set(states(ec2, first + [second]).values()) == {"running"}, what="instances running")
        # The last launched ends first: the log is in order of ending, not of launch.
        ec2.terminate_instances(InstanceIds=[second])
        wait_for(lambda: states(ec2, [second]) == {second: "terminated"}, what="terminated")
        ec2.terminate_instances(InstanceIds=first)
        wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == 3, what="three lines in the event log")
    finally:
        cloud.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["instance"] == second and lines[0]["name"] == "m1.large" and lines[0]["cores"] == 2
    assert {line["instance"] for line in lines[1:]} == set(first) and all(line["lifetime"] > 0 for line in lines)
    assert lines[0]["time"] > lines[1]["time"]
    unsorted = run("--trace", str(log), "--no-timings")
    assert unsorted.returncode == 65 and "line 2" in unsorted.stderr
    replayed = run("--trace", str(log), "--sort", "--hosts", "1", "--no-timings")
    assert replayed.returncode == 0, replayed.stderr
    outcome = json.loads(replayed.stdout)["outcome"]
    assert outcome["arrivals"] == 3 and outcome["accepted"] == 3 and outcome["departures"] == 3


def test_service_levels_refuse_end_and_preempt_by_each_accounts_terms(tmp_path):
    # Three accounts on one host of 4 cores: the lab may run two, the class's VMs are leased for
    # 100 s, and the admin's launches outrank both.
    trace = tmp_path / "day.jsonl"
    lines = [(0, "111111111111"), (1, "111111111111"), (2, "111111111111"), (3, "222222222222"), (4, "222222222222"), (50, "333333333333")]
    trace.write_text("".join(json.dumps({"time": t, "lifetime": 1000, "cores": 1, "memoryMiB": 256, "account": a}) + "\n" for t, a in lines))
    terms = tmp_path / "terms.json"
    terms.write_text(json.dumps({"111111111111": {"maxInstances": 2}, "222222222222": {"leaseSeconds": 100}, "333333333333": {"priority": 5}}))
    result = run("--trace", str(trace), "--hosts", "1", "--cores", "4", "--memory", "4096", "--terms", str(terms),
                 "--sla-review", "30", "--no-timings", "--decisions", str(tmp_path / "d.jsonl"))
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)["outcome"]
    assert outcome["rejected"] == {"sla:quota": 1}, outcome
    # The admin's launch at 50 finds the host full and ends the newest of the lowest priority
    # (the class's second VM); the class's first VM ends at the review at 120, its lease over.
    assert outcome["preempted"] == 1 and outcome["endedByReview"] == {"lease": 1} and outcome["accepted"] == 5
    assert outcome["departures"] == 5 and outcome["simulatedSeconds"] == 1050
    assert [json.loads(line)["node"] for line in (tmp_path / "d.jsonl").open()] == ["h0", "h0", None, "h0", "h0", "h0"]
    for args, words in [(["--sla", "fairshare"], "--sla names"), (["--terms", str(tmp_path / "none.json")], "--terms"),
                        (["--sla", "quota", "--sla-review", "0"], "--sla-review"), (["--accounts", "0"], "--accounts")]:
        refused = run(*args)
        assert refused.returncode == 64 and words in refused.stderr, (args, refused.stderr)
    terms.write_text('{"111111111111": {"maxInstances": "two"}}')
    assert run("--terms", str(terms)).returncode == 64


def read_png(path):
    """Checks a PNG's chunks and CRCs with Python's own zlib; returns (width, height, rows of RGB)."""
    import struct
    import zlib
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", None
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0], kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) == (8, 2, 0)
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + 3 * width)
    rows, stride = [], 3 * width
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        assert kind == 1  # Sub
        for x in range(3, stride):
            line[x] = (line[x] + line[x - 3]) & 255
        rows.append(bytes(line))
    return width, height, rows


def test_plot_draws_cdfs_and_png_that_other_decoders_read(tmp_path):
    common = ["--hosts", "20", "--cores", "8", "--memory", "8192", "--rate", "0.02", "--duration", "20000", "--policy", "POWERSAVE",
              "--types", "m1.small:3,c1.xlarge:1", "--lifetime", "exponential:900", "--power-down-after", "600"]
    for wake in ("30", "300"):
        result = run(*common, "--wake-delay", wake, "--cdf", str(tmp_path / f"wake{wake}.cdf"))
        assert result.returncode == 0, result.stderr
        lines = (tmp_path / f"wake{wake}.cdf").read_text().splitlines()
        assert lines[0] == "quantile,wait_s,decision_us" and len(lines) == 102
        waits = [float(line.split(",")[1]) for line in lines[1:]]
        assert waits == sorted(waits) and waits[0] == 0 and abs(waits[-1] - float(wake)) < 1e-6
        assert json.loads(result.stdout)["outcome"]["waitP99Seconds"] == waits[99]
    plotted = subprocess.run([str(SIM), "plot", "--png", "--out", str(tmp_path / "charts"), f"{tmp_path}/wake30.cdf=wake 30 s",
                              f"{tmp_path}/wake300.cdf=wake 300 s"], capture_output=True, text=True, timeout=120)
    assert plotted.returncode == 0, plotted.stderr
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "decision-cdf.png", "decision-cdf.svg", "wait-cdf.png", "wait-cdf.svg"]
    svg = (tmp_path / "charts" / "wait-cdf.svg").read_text()
    assert "wake 30 s" in svg and "wake 300 s" in svg and svg.count('class="series"') == 2
    width, height, rows = read_png(tmp_path / "charts" / "wait-cdf.png")
    assert (width, height) == (800, 420)
    pixels = {rows[y][x:x + 3] for y in range(height) for x in range(0, 3 * width, 3)}
    # White paper, black text, and both runs' colours (the first two of the chart's palette).
    assert rows[0][:3] == b"\xff\xff\xff" and b"\x00\x00\x00" in pixels
    assert bytes.fromhex("0072B2") in pixels and bytes.fromhex("D55E00") in pixels


def test_consolidation_migrates_and_saturation_is_measured(tmp_path):
    trace = tmp_path / "day.jsonl"
    # Twelve 1-core VMs a second apart, each using half its cores, on four 4-core hosts.
    trace.write_text("".join(json.dumps({"time": t, "lifetime": 3600, "cores": 1, "memoryMiB": 1024, "cpu": 0.5}) + "\n" for t in range(12)))
    base = ["--trace", str(trace), "--hosts", "4", "--cores", "4", "--memory", "16384", "--policy", "ROUNDROBIN", "--no-timings"]
    spread = json.loads(run(*base).stdout)["outcome"]
    assert spread["migrations"] == 0 and spread["pdm"] == 0 and spread["slatah"] == 0 and spread["peakActiveHosts"] == 4
    packed = json.loads(run(*base, "--migrate", "consolidate:600:0.9", "--overcommit", "2").stdout)["outcome"]
    # Every host is 3/8 allocated (overcommitted twice): the least loaded are emptied onto the others.
    assert packed["migrations"] > 0 and packed["meanActiveHosts"] < spread["meanActiveHosts"] and packed["capacityViolations"] == 0
    assert 0 < packed["pdm"] < 0.001 and packed["slav"] == packed["slatah"] * packed["pdm"]
    for args, words in [(["--migrate", "shuffle"], "--migrate is"), (["--migrate", "consolidate:0"], "--migrate:"),
                        (["--migrate", "consolidate:60:2"], "--migrate:"), (["--overcommit", "0.5"], "--overcommit"),
                        (["--migration-bandwidth", "0"], "--migration-bandwidth")]:
        refused = run(*args)
        assert refused.returncode == 64 and words in refused.stderr, (args, refused.stderr)
    trace.write_text('{"time": 0, "lifetime": 1, "cores": 1, "memoryMiB": 1, "cpu": 1.5}\n')
    bad = run("--trace", str(trace))
    assert bad.returncode == 65 and "cpu is a share" in bad.stderr


def test_azures_packing_trace_is_read_from_its_two_tables(tmp_path):
    # A hand-written excerpt in the published schema: VM type 10 on machines 1 and 2, type 11 on
    # machine 2 only; tenant 7's first VM was alive before collection began, tenant 8's has no end.
    (tmp_path / "vmType.csv").write_text(
        "id,vmTypeId,machineId,core,memory,hdd,ssd,nic\n1,10,2,0.25,0.125,0,0,0\n2,10,1,0.5,0.25,0,0,0\n3,11,2,1.0,0.5,0,0,0\n")
    (tmp_path / "vm.csv").write_text(
        "vmId,tenantId,vmTypeId,priority,starttime,endtime\n1,7,10,0,-0.5,0.5\n2,8,11,1,0.0,\n3,7,10,0,0.25,0.75\n")
    args = ["--trace", str(tmp_path), "--format", "azure-packing", "--cores", "16", "--memory", "65536", "--hosts", "2",
            "--no-timings", "--decisions", str(tmp_path / "d.jsonl")]
    every = run(*args)
    assert every.returncode == 0, every.stderr
    outcome = json.loads(every.stdout)["outcome"]
    # Rebased to the earliest start; the endless VM lives to the 90-day cap.
    assert outcome["arrivals"] == 3 and outcome["accepted"] == 3 and outcome["simulatedSeconds"] == 43200 + 90 * 86400
    assert [json.loads(line)["type"] for line in (tmp_path / "d.jsonl").open()] == ["8c-16384m-0g", "16c-32768m-0g", "8c-16384m-0g"]
    one = run(*args, "--machine", "1")
    assert json.loads(one.stdout)["outcome"]["arrivals"] == 2 and "1 VMs of types the machine does not list" in one.stderr
    # Tenants are accounts: a quota on tenant 7 refuses its second VM.
    (tmp_path / "terms.json").write_text('{"7": {"maxInstances": 1}}')
    limited = json.loads(run(*args, "--terms", str(tmp_path / "terms.json")).stdout)["outcome"]
    assert limited["rejected"] == {"sla:quota": 1}
    (tmp_path / "vm.csv").write_text("vmId,tenantId,vmTypeId,priority,starttime,endtime\n1,7,10,0,2.0,1.0\n")
    bad = run(*args)
    assert bad.returncode == 65 and "vm.csv: line 2" in bad.stderr, bad.stderr
    (tmp_path / "vmType.csv").write_text("id,vmTypeId,machineId,memory\n")
    assert "no core column" in run(*args).stderr


def test_hosts_of_several_sizes_come_from_a_file_or_googles_machine_events(tmp_path):
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("# two small, then one big\n2 4 8192\n1,16,65536,500  # the big one\n")
    trace = tmp_path / "day.jsonl"
    trace.write_text("".join(json.dumps({"time": t, "lifetime": 100, "cores": c, "memoryMiB": 1024}) + "\n" for t, c in [(0, 4), (1, 4), (2, 8)]))
    decisions = tmp_path / "d.jsonl"
    outcome = json.loads(run("--hosts-file", str(hosts), "--trace", str(trace), "--no-timings", "--decisions", str(decisions)).stdout)["outcome"]
    # GREEDY: a 4-core VM fills each small host; the 8-core one fits only the big host.
    assert outcome["hosts"] == 3 and outcome["accepted"] == 3
    assert [json.loads(line)["node"] for line in decisions.open()] == ["h0", "h1", "h2"]
    machines = tmp_path / "machine_events.csv"
    machines.write_text("0,5,0,p,0.5,0.25\n0,6,0,p,1,1\n0,7,0,p,,\n100,5,2,p,0.5,0.5\n200,8,0,p,0.5,0.25\n")
    google = json.loads(run("--google-machines", str(machines), "--cores", "16", "--memory", "65536", "--trace", str(trace),
                            "--no-timings").stdout)["outcome"]
    # Machines 5, 6 and 8 (7 gives no sizes; 5's update is not a new host): 8, 16 and 8 cores.
    assert google["hosts"] == 3 and google["accepted"] == 3
    hosts.write_text("2 4\n")
    bad = run("--hosts-file", str(hosts))
    assert bad.returncode == 65 and "line 1" in bad.stderr, bad.stderr
    machines.write_text("0,5,0,p,2,1\n")
    assert "CPUs and memory are fractions" in run("--google-machines", str(machines)).stderr
    both = run("--hosts-file", str(hosts), "--google-machines", str(machines))
    assert both.returncode == 64 and "exclude each other" in both.stderr
