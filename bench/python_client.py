"""The Python client's bulk read against its baseline, in the same run.

`fv.get_batch_data()` of N rows x 20 features (default 1 000 000) into pandas, timed against
`pandas.read_csv` of the same rows from a local file. Target: within 2x the baseline. The rows
travel as the server's columns file of batch data (`/files/feature-views/<v>/<ver>/batch-data.columns`):
numbers, booleans and times as their bytes (numpy arrays without parsing), text as JSON arrays;
never as JSON records.

    /usr/bin/python3 bench/python_client.py [--rows 1000000] [--reps 3]

It starts its own server (clients/python/tests/support.py) on a temporary data directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path[:0] = [os.path.join(ROOT, "clients", "python"), os.path.join(ROOT, "clients", "python", "tests")]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import support  # noqa: E402
from granary import frames  # noqa: E402


def frame(rows: int) -> pd.DataFrame:
    """`id`, an event time, 10 doubles, 6 integers and 2 text columns: 20 features."""
    rng = np.random.default_rng(7)
    data: dict[str, object] = {"id": np.arange(rows, dtype=np.int64)}
    data["ts"] = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86_400 * 30, rows), unit="s")
    for i in range(10):
        data[f"d{i}"] = rng.random(rows)
    for i in range(6):
        data[f"i{i}"] = rng.integers(0, 1_000_000, rows, dtype=np.int64)
    for i in range(2):
        data[f"s{i}"] = rng.choice(np.array(["alpha", "beta", "gamma", "delta"], dtype=object), rows)
    return pd.DataFrame(data)


def timed(work, reps: int) -> tuple[float, object]:
    times = []
    result = None
    for _ in range(reps):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    project = support.login("bench")
    fs = project.get_feature_store()
    data = frame(args.rows)
    start = time.perf_counter()
    fg = fs.get_or_create_feature_group(name="bench_rows", version=1, primary_key=["id"], event_time="ts")
    fg.insert(data)
    inserted = time.perf_counter() - start
    fv = fs.get_or_create_feature_view(name="bench_view", version=1, query=fg.select_all())

    # The baseline: the same rows as a local CSV file, read by pandas with the same dtypes.
    local = os.path.join(tempfile.mkdtemp(prefix="bench-python-"), "rows.csv")
    expected = fv.get_batch_data()
    expected.to_csv(local, index=False)
    dtypes = {c: t for c, t in expected.dtypes.items() if str(t) != "datetime64[ns, UTC]"}
    times = [c for c, t in expected.dtypes.items() if str(t) == "datetime64[ns, UTC]"]

    def baseline() -> pd.DataFrame:
        out = pd.read_csv(local, dtype=dtypes)
        for c in times:
            out[c] = pd.to_datetime(out[c], utc=True)
        return out

    def csv_download() -> pd.DataFrame:
        # The same rows as the CSV download, typed as the client types CSV: the text route, for comparison.
        conn = fv._conn
        body = conn.download(conn.file_path("feature-views", fv.name, str(fv.version), "batch-data.csv"))
        return frames.frame_from_csv(body, {c: str(t) for c, t in types.items()})

    types = {f.name: f.type for f in fg.features}
    base_s, base_frame = timed(baseline, args.reps)
    client_s, client_frame = timed(fv.get_batch_data, args.reps)
    csv_s, csv_frame = timed(csv_download, args.reps)
    pd.testing.assert_frame_equal(client_frame, csv_frame)
    assert isinstance(client_frame, pd.DataFrame) and isinstance(base_frame, pd.DataFrame)
    assert len(client_frame) == args.rows, f"{len(client_frame)} rows, not {args.rows}"
    assert list(client_frame.columns) == list(base_frame.columns)
    ratio = client_s / base_s
    print(f"bench/python_client: {args.rows:,} rows x {len(client_frame.columns)} features; insert {inserted:.1f} s")
    print(f"  pandas.read_csv, local file (baseline)   {base_s:7.2f} s   (median of {args.reps})")
    print(f"  fv.get_batch_data() over HTTP            {client_s:7.2f} s   (median of {args.reps})")
    print(f"  the CSV download, typed alike            {csv_s:7.2f} s   (median of {args.reps}; ratio {csv_s / base_s:.2f})")
    print(f"  ratio {ratio:.2f}  target <= 2.0  {'ok' if ratio <= 2.0 else 'MISSED'}")


if __name__ == "__main__":
    main()
