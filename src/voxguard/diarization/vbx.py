"""Bayesian HMM resegmentation of window embeddings (VBx).

The model of Landini, Profant, Diez and Burget, "Bayesian HMM clustering of x-vector sequences
(VBx) in speaker diarization: theory, implementation and analysis on standard tasks" (Computer
Speech & Language, 2022): each speaker is a hidden state of an HMM over the window sequence;
a window stays with the speaker of the window before it with probability ``loop_p`` and
otherwise jumps to speaker s with probability ``pi[s]``. In a PLDA space where the
within-speaker covariance is the identity and the between-speaker one is ``diag(phi)``, each
speaker's latent mean gets a Gaussian posterior, and variational Bayes alternates that
posterior with the forward-backward responsibilities. ``fa`` scales the acoustic
log-likelihoods (overlapping windows are not independent), ``fb`` the speaker prior. Speakers
that explain nothing end with ``pi`` near zero and no window: the resegmentation can merge a
voice split in two, and moves windows between speakers, but never adds a speaker.

Each recording's windows are centred on their own mean first, so that what a channel (a
phone line, a crowd) does to every voice alike is not taken for a speaker.

The PLDA space ships as ``models/diar_plda`` (``plda.npz``: transform, phi; sidecar
``diar_plda.json`` with the sha256 of the npz), fitted on diarization windows of training
conversations by ``voxguard.training.diar_plda``. Serving needs only numpy.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from voxguard.audio.types import FloatArray
from voxguard.diarization.clustering import relabel
from voxguard.errors import ModelMismatch
from voxguard.models import bundled_model_path, check_sha256, load_optional, read_model_files

NAME = "diar_plda"
ARRAYS = "plda.npz"
FORMAT = 1


@dataclass(frozen=True)
class Plda:
    """``x -> (x - the recording's mean) @ transform``: within-speaker covariance I, between
    ``diag(phi)``, the directions in descending order of ``phi``."""

    transform: FloatArray  # (dim, d)
    phi: FloatArray  # (d,), descending
    model_version: str = ""

    def project(
        self, embeddings: FloatArray, dims: int | None = None, centre: bool = True
    ) -> FloatArray:
        """One recording's windows (T, dim) in the first ``dims`` directions (None: all),
        centred on their mean first unless ``centre`` is False."""
        offset = embeddings.mean(axis=0) if centre else 0.0
        centred = embeddings.astype(np.float64) - offset
        projected: FloatArray = centred @ self.transform[:, :dims]
        return projected

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, transform=self.transform, phi=self.phi)
        return buffer.getvalue()

    @classmethod
    def from_files(cls, model_dir: Path) -> Plda:
        """Read and check ``model_dir``: ``ModelUnavailable`` when a file is missing,
        ``ModelMismatch`` when the arrays and the sidecar disagree."""
        arrays_path = model_dir / ARRAYS
        sidecar, raw = read_model_files(
            arrays_path,
            model_dir / f"{NAME}.json",
            "diarization PLDA",
            f"diarization PLDA missing in {model_dir}: run python -m "
            "voxguard.training.diar_plda train or reinstall.",
        )
        try:
            expected, version = str(sidecar["arrays_sha256"]), int(sidecar["format"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelMismatch(f"diarization PLDA sidecar is incomplete: {exc}") from exc
        if version != FORMAT:
            raise ModelMismatch(f"diarization PLDA format {version}, this code reads {FORMAT}.")
        check_sha256(raw, expected, arrays_path)
        with np.load(io.BytesIO(raw)) as data:
            plda = cls(
                data["transform"].astype(np.float64),
                data["phi"].astype(np.float64),
                str(sidecar.get("model_version", "")),
            )
        if plda.phi.shape != plda.transform.shape[1:] or (plda.phi <= 0).any():
            raise ModelMismatch("diarization PLDA arrays have inconsistent shapes or phi <= 0.")
        return plda


@lru_cache(maxsize=4)
def _cached(model_dir: Path) -> Plda:
    return Plda.from_files(model_dir)


def load_plda(model_dir: str | None = None) -> Plda | None:
    """The PLDA in ``model_dir`` (None: the bundled one), read once per folder; None (with a
    warning, once) when it is missing, so that the diarizer skips the resegmentation."""
    folder = Path(model_dir) if model_dir else bundled_model_path(NAME)
    return load_optional(folder, _cached, "no VBx resegmentation")


@dataclass(frozen=True)
class VbxParams:
    fa: float = 0.3
    fb: float = 17.0
    loop_p: float = 0.99
    dims: int | None = None  # the PLDA's leading directions used (None: all)
    init_smoothing: float = 7.0
    max_iterations: int = 20
    epsilon: float = 1e-4


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    # scipy.special.logsumexp gives the same values but, called twice per window in the
    # forward-backward loop, makes a resegmentation about six times slower.
    top = values.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out: np.ndarray = np.log(np.exp(values - top).sum(axis=axis, keepdims=True)) + top
    return np.squeeze(out, axis=axis)


def forward_backward(
    log_likelihood: np.ndarray, transitions: np.ndarray, initial: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Posterior state probabilities (T, S), the total log-likelihood, and the log forward and
    backward variables, of an HMM in log space."""
    frames, states = log_likelihood.shape
    log_tr = np.log(np.maximum(transitions, 1e-300))
    forward = np.empty((frames, states))
    backward = np.zeros((frames, states))
    forward[0] = log_likelihood[0] + np.log(np.maximum(initial, 1e-300))
    for t in range(1, frames):
        forward[t] = log_likelihood[t] + _logsumexp(forward[t - 1][:, None] + log_tr, axis=0)
    for t in range(frames - 2, -1, -1):
        backward[t] = _logsumexp(log_tr + (log_likelihood[t + 1] + backward[t + 1])[None], 1)
    total = float(_logsumexp(forward[-1], axis=0))
    posterior = np.exp(forward + backward - total)
    return posterior, total, forward, backward


def vbx(
    x: np.ndarray, phi: np.ndarray, gamma: np.ndarray, params: VbxParams
) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities (T, S) and speaker priors (S,) after variational Bayes, from the
    projected windows ``x`` (T, d), the between-speaker variances ``phi`` and initial
    responsibilities ``gamma``."""
    dim = x.shape[1]
    speakers = gamma.shape[1]
    pi = np.full(speakers, 1.0 / speakers)
    constant = -0.5 * ((x**2).sum(axis=1) + dim * np.log(2 * np.pi))
    rho = x * np.sqrt(phi)
    ratio = params.fa / params.fb
    previous = -np.inf
    for _ in range(params.max_iterations):
        counts = gamma.sum(axis=0)  # (S,)
        inv_l = 1.0 / (1.0 + ratio * counts[:, None] * phi[None, :])  # (S, d)
        alpha = ratio * inv_l * (gamma.T @ rho)  # (S, d)
        log_p = params.fa * (
            rho @ alpha.T - 0.5 * ((inv_l + alpha**2) @ phi)[None, :] + constant[:, None]
        )
        transitions = params.loop_p * np.eye(speakers) + (1 - params.loop_p) * pi[None, :]
        gamma, total, forward, backward = forward_backward(log_p, transitions, pi)
        # Expected entries into each speaker by a jump (not a loop), plus the first window.
        jumps = np.exp(
            _logsumexp(forward[:-1], axis=1)[:, None] + log_p[1:] + backward[1:] - total
        ).sum(axis=0)
        pi = gamma[0] + (1 - params.loop_p) * pi * jumps
        pi /= pi.sum()
        elbo = total + 0.5 * params.fb * float((np.log(inv_l) - inv_l - alpha**2 + 1).sum())
        if elbo - previous < params.epsilon:
            break
        previous = elbo
    return gamma, pi


def resegment(
    embeddings: FloatArray, labels: np.ndarray, plda: Plda, params: VbxParams | None = None
) -> np.ndarray:
    """``labels`` (one per window, 0..S-1, windows in time order) after VBx, relabelled
    0..S'-1 in order of first appearance; as they were for fewer than two windows."""
    params = params or VbxParams()
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size < 2:
        return labels
    speakers = int(labels.max()) + 1
    onehot = np.eye(speakers)[labels] * params.init_smoothing
    gamma = np.exp(onehot - _logsumexp(onehot, axis=1)[:, None])
    x = plda.project(embeddings, params.dims)
    gamma, _ = vbx(x, plda.phi[: x.shape[1]], gamma, params)
    return relabel(np.asarray(gamma.argmax(axis=1), dtype=np.int64))
