#!/usr/bin/python3
"""Tables for Scripts/bench, from runs.tsv (label, workload, concurrency, round, the generator's JSON object).

    bench-report.py line ROUND < JSON                    one run, as a progress line
    bench-report.py compare RUNS META DIR [--password-concurrency C]
                                                          the comparison; writes DIR/concurrency.dat
    bench-report.py growth RUNS META DIR                  the growth table
    bench-report.py cache RUNS META DIR                   the credentials cache's table

Figures are medians over the rounds; two systems are compared as ratios Countersign / FreeRADIUS. A run whose
wrong + lost replies exceed 1% of its requests is flagged with "!" and listed under the table.
"""
import json
import statistics
import sys

FR, CS = "FreeRADIUS", "Countersign"


def bad(run):
    return run["wrong"] + run["lost"] > 0.01 * max(run["requests"], 1)


def line(round_):
    run = json.loads(sys.stdin.read())
    flag = "  ! %d wrong, %d lost" % (run["wrong"], run["lost"]) if bad(run) else ""
    cpu = "  cpu %5.1f us/req" % run["server_cpu_us"] if "server_cpu_us" in run else ""
    print("  %-12s %-8s c=%-4d round %s: %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  (%d/%d accepted)%s%s" % (
        run["label"], run["workload"], run["concurrency"], round_, run["throughput"], run["p50_ms"],
        run["p99_ms"], run["accepted"], run["requests"], cpu, flag))


def load(path):
    runs = []
    with open(path) as f:
        for row in f:
            label, workload, concurrency, round_, obj = row.rstrip("\n").split("\t", 4)
            run = json.loads(obj)
            run["_label"], run["_workload"], run["_concurrency"], run["_round"] = label, workload, int(concurrency), round_
            runs.append(run)
    return runs


class Table:
    def __init__(self, runs):
        self.runs = runs

    def select(self, label, workload, concurrency):
        return [r for r in self.runs
                if r["_label"] == label and r["_workload"] == workload and r["_concurrency"] == concurrency]

    def medians(self, label, workload, concurrency):
        runs = self.select(label, workload, concurrency)
        if not runs:
            return None
        return {
            "throughput": statistics.median(r["throughput"] for r in runs),
            "p50": statistics.median(r["p50_ms"] for r in runs),
            "p99": statistics.median(r["p99_ms"] for r in runs),
            "n": len(runs),
            "flag": "!" if any(bad(r) for r in runs) else "",
        }


def ratio(a, b):
    if not b:
        return "-"
    value = a / b
    if value >= 0.1:
        return "%.2f" % value
    return "%.3f" % value if value >= 0.001 else "%.1e" % value


def comparison_rows(table, workload, concurrencies):
    out = ["%6s | %10s %8s %8s | %10s %8s %8s | %10s %10s" % (
        "conc", "FR req/s", "p50 ms", "p99 ms", "CS req/s", "p50 ms", "p99 ms", "CS/FR thr", "CS/FR p99")]
    out.append("-" * len(out[0]))
    for c in concurrencies:
        fr, cs = table.medians(FR, workload, c), table.medians(CS, workload, c)
        if not fr or not cs:
            continue
        out.append("%6d | %10.0f %8.2f %8.2f | %10.0f %8.2f %8.2f | %10s %10s %s" % (
            c, fr["throughput"], fr["p50"], fr["p99"], cs["throughput"], cs["p50"], cs["p99"],
            ratio(cs["throughput"], fr["throughput"]), ratio(cs["p99"], fr["p99"]),
            (fr["flag"] + cs["flag"])[:1]))
    return out


def cpu_rows(table, concurrencies):
    """Server CPU time per answered request in the (a) runs: the median over the rounds, for both servers."""
    out = ["server CPU per login in (a), user + system time of the server process (/proc/PID/stat), median over the rounds",
           "%6s | %12s %12s | %10s" % ("conc", "FR us/login", "CS us/login", "CS/FR cpu")]
    out.append("-" * len(out[1]))
    for c in concurrencies:
        fr = [r["server_cpu_us"] for r in table.select(FR, "totp", c) if "server_cpu_us" in r]
        cs = [r["server_cpu_us"] for r in table.select(CS, "totp", c) if "server_cpu_us" in r]
        if fr and cs:
            f, k = statistics.median(fr), statistics.median(cs)
            out.append("%6d | %12.1f %12.1f | %10s" % (c, f, k, ratio(k, f)))
    return out


def flagged(runs):
    """The lines listing runs with too many wrong or lost replies, under a heading; none when there are none."""
    out = []
    for r in runs:
        if bad(r):
            out.append("  ! %s %s c=%d round %s: %d wrong, %d lost of %d (over 1%%: treat this figure with care)" % (
                r["_label"], r["_workload"], r["_concurrency"], r["_round"], r["wrong"], r["lost"], r["requests"]))
    return ["", "runs with more than 1% wrong or lost replies:"] + out if out else []


def compare(path, meta, folder, password_concurrency):
    runs = load(path)
    table = Table(runs)
    out = ["Countersign / FreeRADIUS on loopback", ""]
    out += [line.rstrip("\n") for line in open(meta)]
    out.append("")
    ceiling_runs = [r for r in runs if r["_label"] == "reflector"]
    ceiling = statistics.median(r["throughput"] for r in ceiling_runs) if ceiling_runs else None
    if ceiling_runs:
        out.append("generator ceiling (reflector answering everything, workload a, concurrency %d): %.0f req/s, "
                   "p50 %.2f ms, p99 %.2f ms (median of %d runs: %s req/s)" % (
                       ceiling_runs[0]["_concurrency"], ceiling,
                       statistics.median(r["p50_ms"] for r in ceiling_runs),
                       statistics.median(r["p99_ms"] for r in ceiling_runs), len(ceiling_runs),
                       ", ".join("%.0f" % r["throughput"] for r in ceiling_runs)))
        out.append("")

    concurrencies = sorted({r["_concurrency"] for r in runs if r["_workload"] == "totp" and r["_label"] == FR})
    out.append("(a) second-factor-only TOTP (User-Password is the code)")
    out += comparison_rows(table, "totp", concurrencies)
    out.append("")

    out += cpu_rows(table, concurrencies)
    out.append("")

    out.append("(b) password + appended code, Countersign at its default password-hash cost")
    out += comparison_rows(table, "password", [password_concurrency])
    b = table.medians(CS, "password", password_concurrency)
    a_conc = min(concurrencies, key=lambda c: abs(c - password_concurrency)) if concurrencies else None
    a = table.medians(CS, "totp", a_conc) if a_conc is not None else None
    if a and b and a["throughput"] and b["throughput"]:
        per_b, per_a = 1 / b["throughput"], 1 / a["throughput"]
        out.append("hash share (estimate): %.1f%% of Countersign's time per login in (b) is the password hash "
                   "((b) %.2f ms per login - (a) %.2f ms per login at concurrency %d, over (b))" % (
                       100 * (per_b - per_a) / per_b, 1000 * per_b, 1000 * per_a, a_conc))
    lost = sum(r["lost"] for r in table.select(CS, "password", password_concurrency))
    if lost:
        out.append("lost in (b): %d requests still waiting for their password hash when the generator stopped "
                   "waiting for a reply (its timeout)" % lost)
    out.append("")

    out.append("(c) Status-Server")
    out += comparison_rows(table, "status", sorted({r["_concurrency"] for r in runs if r["_workload"] == "status"}))
    out.append("")
    out.append("conc: concurrency (requests in flight); req/s: completed requests per second; p50/p99: latency;")
    out.append("CS/FR thr above 1: Countersign answers more per second; CS/FR p99 below 1: its p99 latency is lower.")
    out += flagged(runs)
    print("\n".join(out))

    with open(folder + "/concurrency.dat", "w") as dat:
        dat.write("# workload (a), median throughput (requests/s) over the rounds\n")
        if ceiling is not None:
            dat.write("# generator ceiling: %.1f\n" % ceiling)
        dat.write("# concurrency FreeRADIUS Countersign\n")
        for c in concurrencies:
            fr, cs = table.medians(FR, "totp", c), table.medians(CS, "totp", c)
            if fr and cs:
                dat.write("%d %.1f %.1f\n" % (c, fr["throughput"], cs["throughput"]))


def growth(path, meta, folder):
    runs = load(path)
    table = Table(runs)
    out = ["Countersign: workload (a) against a small and a large store", ""]
    out += [line.rstrip("\n") for line in open(meta)]
    out.append("")
    concurrency = runs[0]["_concurrency"] if runs else 0
    small = table.medians("users-1000", "totp", concurrency)
    large = table.medians("users-1000000", "totp", concurrency)
    out.append("%-18s %10s %8s %8s" % ("store", "req/s", "p50 ms", "p99 ms"))
    for name, m in (("1,000 users", small), ("1,000,000 users", large)):
        if m:
            out.append("%-18s %10.0f %8.2f %8.2f %s" % (name, m["throughput"], m["p50"], m["p99"], m["flag"]))
    if small and large:
        out.append("")
        out.append("throughput ratio 1,000,000 / 1,000 users: %s   p99 ratio: %s" % (
            ratio(large["throughput"], small["throughput"]), ratio(large["p99"], small["p99"])))
    out += flagged(runs)
    print("\n".join(out))


def cache(path, meta, folder):
    runs = [r for r in load(path) if r["_round"] != "warm"]
    table = Table(runs)
    out = ["Countersign: returning users with and without the credentials cache", ""]
    out += [line.rstrip("\n") for line in open(meta)]
    out.append("")
    concurrency = runs[0]["_concurrency"] if runs else 0
    out.append("%-28s %10s %8s %8s %12s" % ("store.credentials_cache", "req/s", "p50 ms", "p99 ms", "cpu us/login"))
    figures = {}
    for label, name in (("cached", "100000 (the default)"), ("uncached", "0 (off)")):
        m = table.medians(label, "totp", concurrency)
        cpu = [r["server_cpu_us"] for r in table.select(label, "totp", concurrency) if "server_cpu_us" in r]
        if m:
            figures[label] = (m, statistics.median(cpu) if cpu else None)
            out.append("%-28s %10.0f %8.2f %8.2f %12s %s" % (
                name, m["throughput"], m["p50"], m["p99"], "%.1f" % figures[label][1] if cpu else "-", m["flag"]))
    if len(figures) == 2 and figures["cached"][1] and figures["uncached"][1]:
        (on, on_cpu), (off, off_cpu) = figures["cached"], figures["uncached"]
        out.append("")
        out.append("cached / uncached: throughput %s, p99 %s, cpu per login %s" % (
            ratio(on["throughput"], off["throughput"]), ratio(on["p99"], off["p99"]), ratio(on_cpu, off_cpu)))
    out += flagged(runs)
    print("\n".join(out))


def main():
    command = sys.argv[1]
    if command == "line":
        line(sys.argv[2])
    elif command == "compare":
        password_concurrency = 16
        if "--password-concurrency" in sys.argv:
            password_concurrency = int(sys.argv[sys.argv.index("--password-concurrency") + 1])
        compare(sys.argv[2], sys.argv[3], sys.argv[4], password_concurrency)
    elif command == "growth":
        growth(sys.argv[2], sys.argv[3], sys.argv[4])
    elif command == "cache":
        cache(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
