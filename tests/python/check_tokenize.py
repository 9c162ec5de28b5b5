"""pyarrow reads `xcodec tokenize`'s Parquet parts as documented, and their codes equal `xcodec encode`'s .npy.

Run by .ci/run after the Rust tests: `python tests/python/check_tokenize.py target/release/xcodec`
(needs pyarrow and numpy; .ci/run installs them in a venv). Exits non-zero on any mismatch.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "tests/fixtures/tiny_xcodec_hubert"


def run(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def main(xcodec):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = REPO / "tests/data"
        manifest = tmp / "m.jsonl"
        clips = sorted(p for p in data.iterdir() if p.suffix != ".md")
        manifest.write_text("".join(f'{{"path": "{p}", "speaker": "s{i}"}}\n' for i, p in enumerate(clips)))
        run(xcodec, "tokenize", "--model", MODEL, "--rows-per-part", "2", "-o", tmp / "ds", f"@{manifest}")
        run(xcodec, "encode", "--model", MODEL, "-o", tmp / "npy", data)

        table = pq.read_table(tmp / "ds" / "data")
        assert table.num_rows == len(clips), table.num_rows
        schema = table.schema
        assert schema.field("codes").type == pa.list_(pa.list_(pa.uint16())), schema.field("codes").type
        assert schema.field("speaker").type == pa.string()
        meta = schema.metadata
        for key in [b"xcodec.model", b"xcodec.config_sha256", b"xcodec.bandwidth_kbps", b"xcodec.n_q"]:
            assert key in meta, (key, meta.keys())
        assert meta[b"xcodec.errors"] == b"[]", meta[b"xcodec.errors"]
        for row in table.to_pylist():
            codes = np.array(row["codes"], dtype=np.uint16)
            want = np.load(tmp / "npy" / (Path(row["path"]).stem + ".npy"))
            assert codes.shape == (row["n_q"], row["frames"]) == want.shape, (row["path"], codes.shape, want.shape)
            assert np.array_equal(codes, want), row["path"]
            assert abs(row["duration_s"] - row["num_samples"] / row["sample_rate"]) < 1e-9
            assert row["speaker"] == f"s{clips.index(Path(row['path']))}"
    print(f"pyarrow {pa.__version__}: {len(clips)} rows read, codes equal encode's .npy")


if __name__ == "__main__":
    main(sys.argv[1])
