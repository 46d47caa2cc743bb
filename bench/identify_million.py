"""1:N identification over a million voiceprints: the index against exact search, same run.

    nice -n 10 .venv/bin/python bench/identify_million.py [--n 1000000] [--queries 1000]

Synthetic voiceprints in the space the index searches (GE2E embeddings after the long WCCN,
the embedding size read from the model's sidecar). Each of ``--n`` enrolled speakers has a
centre, a unit vector drawn from a Gaussian with the covariance of the 223 real cohort
speakers bundled with the back end (real embeddings fill about 37 effective dimensions of 256;
isotropic random vectors, which no graph or cell index handles, would be a test of nothing).
The voiceprint and each query are two looks at that centre, each with isotropic noise (WCCN
whitens the within-speaker variation, so isotropic is what it looks like there) of a size
that puts the cosine between them near ``--same-cosine`` (0.6 by default, the median
same-speaker cosine of the bundled clean and phone cohorts after WCCN).

Baseline, same run: exact search in numpy (the gallery matrix times the query, arg-max), which
also gives the ground truth. Reported: build time and RSS growth of ``VectorIndex``, per-query
time (p50/p95, one query at a time on one thread, as identify asks) of both, recall@1 of the
index against exact search at several ``nprobe``, the cost of incremental removal and
addition, and of saving and loading the index as the sealed (encrypted) file it persists as.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt
from cryptography.fernet import Fernet
from threadpoolctl import threadpool_limits

from voxguard.models import bundled_model_path
from voxguard.speaker.backend import load_backend
from voxguard.speaker.gallery import SpeakerGallery
from voxguard.speaker.index import NPROBE, VectorIndex
from voxguard.speaker.scoring import unit_rows
from voxguard.speaker.types import Voiceprint
from voxguard.store.crypto import VoiceprintCipher
from voxguard.store.sealed import read_sealed, write_sealed

Matrix = npt.NDArray[np.float32]
_BATCH = 100_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embedding_size() -> int:
    sidecar = json.loads((bundled_model_path("ge2e") / "ge2e.json").read_text())
    return int(sidecar["embedding_size"])


def centre_sampler(dim: int) -> Matrix:
    """A matrix L such that unit(g @ L.T), g standard normal, looks like real speakers."""
    arrays = np.load(bundled_model_path("ge2e") / "backend.npz")
    cohort = np.concatenate([arrays["cohort_clean"], arrays["cohort_phone"]])
    whitened = unit_rows(
        ((cohort - arrays["wccn_long_mean"]) @ arrays["wccn_long_transform"]).astype(np.float32)
    )
    if whitened.shape[1] != dim:
        raise SystemExit(f"cohort has {whitened.shape[1]} dimensions, the model {dim}")
    values, vectors = np.linalg.eigh(np.cov(whitened.T))
    values = np.maximum(values, values.max() * 1e-3)  # every direction keeps a little spread
    sampler: Matrix = (vectors * np.sqrt(values)).astype(np.float32)
    return sampler


def make_data(
    n: int, queries: int, dim: int, same_cosine: float, seed: int
) -> tuple[Matrix, Matrix, npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    sampler = centre_sampler(dim)
    # cos(c + s n1, c + s n2) ~ 1 / (1 + s^2) for a unit c and noise of norm about s.
    spread = float(np.sqrt(1 / same_cosine - 1))

    def look(centres: Matrix) -> Matrix:
        noise = rng.standard_normal(centres.shape, dtype=np.float32) / np.sqrt(dim)
        return unit_rows(centres + spread * noise)

    def centres(count: int, generator: np.random.Generator) -> Matrix:
        return unit_rows(generator.standard_normal((count, dim), dtype=np.float32) @ sampler.T)

    gallery = np.empty((n, dim), dtype=np.float32)
    sources = np.sort(rng.choice(n, size=queries, replace=False)).astype(np.int64)
    probe_centres = np.empty((queries, dim), dtype=np.float32)
    for start in range(0, n, _BATCH):
        stop = min(n, start + _BATCH)
        block = centres(stop - start, rng)
        gallery[start:stop] = look(block)
        wanted = (sources >= start) & (sources < stop)
        probe_centres[wanted] = block[sources[wanted] - start]
    order = rng.permutation(queries)
    sources, probe_centres = sources[order], probe_centres[order]
    return gallery, look(probe_centres), sources


def timed(
    call: Callable[[np.ndarray], int], queries: Matrix
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Each query's answer, wall time and CPU time of this thread (ms): the CPU time says what
    a query costs when other jobs share the machine, the wall time what a caller waited."""
    top, wall, cpu = [], [], []
    for query in queries:
        start, start_cpu = time.perf_counter(), time.thread_time()
        top.append(call(query))
        wall.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return top, np.array(wall) * 1000, np.array(cpu) * 1000


def row(name: str, wall: np.ndarray, cpu: np.ndarray, extra: str = "") -> str:
    p50, p95 = np.percentile(wall, [50, 95])
    cpu50 = np.percentile(cpu, 50)
    return f"| {name} | {p50:.2f} ms | {p95:.2f} ms | {cpu50:.2f} ms | {extra} |"


def whole_gallery(vectors: Matrix, probes: Matrix) -> None:
    """The identification gallery as a worker holds it: every scoring path's group (variant x
    WCCN) indexed, AS-norm statistics, built from voiceprints as the store hands them over."""
    backend = load_backend()
    n = len(vectors)

    def voiceprint(row: int) -> Voiceprint:
        vector = vectors[row]
        extra = {"phone": [float(x) for x in vector]}  # a phone variant, as enrollment stores
        return Voiceprint(vector, 1, 5.0, 1.0, backend.model_version, extra)

    cipher = VoiceprintCipher(Fernet.generate_key())
    tokens = [cipher.encrypt(voiceprint(i).to_bytes()) for i in range(min(n, 5000))]
    start = time.perf_counter()
    for token in tokens:
        Voiceprint.from_bytes(cipher.decrypt(token))
    per_item = (time.perf_counter() - start) / len(tokens)
    print(
        f"store -> gallery: decrypt + parse {per_item * 1e6:.0f} us per voiceprint "
        f"({per_item * n:.0f} s for {n:,}, the part of a full build that the persisted index saves "
        "besides the index build)"
    )
    batches = (
        {f"s{i}": voiceprint(i) for i in range(start, min(n, start + 5000))}
        for start in range(0, n, 5000)
    )
    before = rss_mb()
    start = time.perf_counter()
    gallery = SpeakerGallery.build(batches, backend)
    build_s = time.perf_counter() - start
    grown = rss_mb() - before
    snapshot = gallery.snapshot()
    size = sum(array.nbytes for array in snapshot.arrays.values())
    print(
        f"whole gallery of {n:,} ({len(snapshot.header['groups'])} indexes): built in "
        f"{build_s:.0f} s, RSS +{grown:.0f} MiB, snapshot {size / 2**20:.0f} MiB"
    )
    with threadpool_limits(limits=1):
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        for path in ("clean", "phone"):
            _, wall, cpu = timed(lambda q, p=path: len(gallery.rank(q, p, 5)), probes[:300])
            print(
                f"  rank top 5 on the {path} path (WCCN"
                f"{', AS-norm' if backend.path(path).cohort else ''}): "
                f"p50 {np.percentile(wall, 50):.2f} ms, p95 {np.percentile(wall, 95):.2f} ms, "
                f"CPU p50 {np.percentile(cpu, 50):.2f} ms"
            )
        faiss.omp_set_num_threads(threads)


def one_index(
    gallery: Matrix,
    probes: Matrix,
    sources: npt.NDArray[np.int64],
    nprobes: list[int],
    persist: bool,
) -> None:
    """One ``VectorIndex`` against exact numpy search: build, queries, changes, persistence."""
    before = rss_mb()
    start = time.perf_counter()
    index = VectorIndex(
        gallery.shape[1]
    )  # the shipped threshold and nprobe; every core for the build
    index.add(np.arange(len(gallery), dtype=np.int64), gallery)
    build_s = time.perf_counter() - start
    grown = rss_mb() - before
    kind = f"inverted file, {index.cells} cells, float16" if index.approximate else "exact"
    print(
        f"index build: {build_s:.1f} s ({kind}); RSS +{grown:.0f} MiB "
        f"(vectors alone {gallery.nbytes / 2**20:.0f} MiB); peak RSS {peak_rss_mb():.0f} MiB"
    )

    lines = [
        "| search | p50 | p95 | CPU p50 | recall@1 vs exact |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    threads = faiss.omp_get_max_threads()
    with threadpool_limits(limits=1):
        faiss.omp_set_num_threads(1)
        exact_top, exact_ms, exact_cpu = timed(lambda q: int(np.argmax(gallery @ q)), probes)
        exact = np.array(exact_top)
        own = float(np.mean(exact == sources))
        lines.append(
            row("exact, numpy (baseline)", exact_ms, exact_cpu, f"1 (own voiceprint: {own:.3f})")
        )
        results = {}
        for nprobe in nprobes:
            index.nprobe = nprobe
            top, ms, cpu = timed(lambda q: index.search(q, 1)[0][0], probes)
            recall = float(np.mean(np.array(top) == exact))
            results[nprobe] = (np.percentile(ms, 50), recall)
            name = f"VectorIndex, nprobe {nprobe}" + (" (shipped)" if nprobe == NPROBE else "")
            lines.append(row(name, ms, cpu, f"{recall:.3f}"))
        index.nprobe = NPROBE
        faiss.omp_set_num_threads(threads)
    print("\n".join(lines))
    p50, recall = results.get(NPROBE, (float("nan"), float("nan")))
    exact_p50 = float(np.percentile(exact_ms, 50))
    print(
        f"shipped nprobe {NPROBE}: {p50:.2f} ms p50, {exact_p50 / p50:.0f}x faster than exact; "
        f"recall@1 {recall:.3f} (targets: < 5 ms, >= 0.99)"
    )

    changed = sources[: min(1000, len(sources))]
    start = time.perf_counter()
    index.remove(changed)
    remove_ms = (time.perf_counter() - start) * 1000 / len(changed)
    start = time.perf_counter()
    for label in changed:
        index.add(np.array([label]), gallery[label][None, :])
    add_ms = (time.perf_counter() - start) * 1000 / len(changed)
    print(
        f"incremental: remove {len(changed)} in one call {remove_ms:.3f} ms each, "
        f"add one at a time {add_ms:.3f} ms each"
    )

    if persist:
        cipher = VoiceprintCipher(Fernet.generate_key())
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "index.sealed"
            start = time.perf_counter()
            size = write_sealed(path, cipher, {"n": len(gallery)}, {"index": index.to_bytes()})
            save_s = time.perf_counter() - start
            start = time.perf_counter()
            _, arrays = read_sealed(path, cipher)
            restored = VectorIndex.from_bytes(arrays["index"], index.trained_for)
            load_s = time.perf_counter() - start
            same_answers = all(restored.search(q, 1) == index.search(q, 1) for q in probes[:100])
        print(
            f"persist: sealed file {size / 2**20:.0f} MiB, save {save_s:.1f} s, "
            f"load {load_s:.1f} s, reloaded answers identical: {same_answers}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="enrolled voiceprints")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--same-cosine", type=float, default=0.6)
    parser.add_argument("--nprobe", type=int, nargs="+", default=[64, 96, NPROBE, 192])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--skip-persist", action="store_true", help="no save/load timing")
    parser.add_argument(
        "--gallery-n",
        type=int,
        default=None,
        help="voiceprints in the whole-gallery step (default: --n; 0 skips it)",
    )
    args = parser.parse_args()

    dim = embedding_size()
    start = time.perf_counter()
    gallery, probes, sources = make_data(args.n, args.queries, dim, args.same_cosine, args.seed)
    print(
        f"{args.n:,} voiceprints x {dim} float32 ({gallery.nbytes / 2**20:.0f} MiB), "
        f"{args.queries} queries, made in {time.perf_counter() - start:.1f} s"
    )
    same = float(np.mean(np.sum(gallery[sources] * probes, axis=1)))
    print(f"mean cosine query/own voiceprint {same:.3f} (asked {args.same_cosine})")

    one_index(gallery, probes, sources, args.nprobe, not args.skip_persist)
    gallery_n = args.n if args.gallery_n is None else args.gallery_n
    if gallery_n:
        whole_gallery(gallery[:gallery_n], probes)


if __name__ == "__main__":
    main()
