"""The paper's face quality: a VAE's reconstruction probability (Baert et al. 2021, section 4).

A convolutional VAE trained only on good faces (the CelebA subset) encodes a
64×64 grey crop to an isotropic Gaussian posterior N(μ_z, σ_z); L = 10 latent
samples are decoded to per-pixel Gaussians N(μ_x, σ_x). The quality is

    log RP(x) = log (1/L Σ_l N(x | μ_x^l, σ_x^l))
              = logsumexp_l (Σ_pixels log N(x_p | μ_x^l_p, σ_x^l_p)) − log L,

with pixels scaled to [0, 1]. The average is over whole-image densities (a
log-mean-exp of summed log-likelihoods); averaging per-pixel densities, as
some public code does, underflows and measures something else.

Scores are deterministic: the L draws of ε ~ N(0, I) are a buffer fixed once
(seed 0) and saved with the weights, and the model runs in eval mode (batch
norm uses its running statistics), so a crop's score does not depend on the
other crops in its batch.
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from sealshot.errors import REINSTALL, ModelError, loading_model
from sealshot.quality.base import FaceBatch
from sealshot.quality.registry import register
from sealshot.quality.vae_config import VAEConfig

IMAGE_SIZE = 64
SHIPPED_WEIGHTS = "vae.pt"
WEIGHTS_ENV = "SEALSHOT_VAE_WEIGHTS"  # a model from `sealshot train vae` to use instead of the shipped one
_WEIGHTS_PACKAGE = "sealshot.quality.weights"
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _block(conv: nn.Module, channels: int) -> nn.Sequential:
    return nn.Sequential(conv, nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, inplace=True))


class FaceVAE(nn.Module):
    """Encoder: 5×(conv, BN, LeakyReLU) + FC → μ_z, log σ_z². Decoder: FC + 5×(transposed conv, BN, LeakyReLU) → μ_x, σ_x."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or VAEConfig()
        if len(config.encoder_channels) != 5 or len(config.decoder_channels) != 5:
            raise ValueError("the paper's VAE has five encoder and five decoder blocks")
        self.bottom = IMAGE_SIZE // 2**5
        channels_in = [1, *config.encoder_channels[:-1]]
        self.encoder = nn.Sequential(
            *[_block(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), c_out) for c_in, c_out in zip(channels_in, config.encoder_channels)]
        )
        flat = config.encoder_channels[-1] * self.bottom**2
        self.fc_mu = nn.Linear(flat, config.latent_dim)
        self.fc_log_var = nn.Linear(flat, config.latent_dim)

        first = config.decoder_channels[0]
        self.fc_decode = nn.Linear(config.latent_dim, first * self.bottom**2)
        decoder_in = [first, *config.decoder_channels[:-1]]
        self.decoder = nn.Sequential(
            *[
                _block(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), c_out)
                for c_in, c_out in zip(decoder_in, config.decoder_channels)
            ]
        )
        self.head = nn.Conv2d(config.decoder_channels[-1], 2, 1)  # per-pixel μ_x logit and σ_x pre-activation

        self.phase_output = False  # set by ``inference_copy``: the decoder's last block leaves its 2×2 phases unshuffled
        generator = torch.Generator().manual_seed(config.epsilon_seed)
        self.register_buffer("epsilon", torch.randn(config.samples, config.latent_dim, generator=generator))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: ``(N, 1, 64, 64)`` in [0, 1] → μ_z, log σ_z², each ``(N, latent_dim)``."""
        h = self.encoder(x * 2.0 - 1.0).flatten(1)
        return self.fc_mu(h), self.fc_log_var(h).clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z``: ``(M, latent_dim)`` → per-pixel μ_x in (0, 1) and σ_x ≥ min_sigma, each ``(M, 1, 64, 64)``."""
        if self.phase_output:
            raise RuntimeError("decode() needs the training-form model; an inference copy only computes log RP")
        h = F.leaky_relu(self.fc_decode(z), 0.2).view(-1, self.config.decoder_channels[0], self.bottom, self.bottom)
        out = self.head(self.decoder(h)).contiguous()  # contiguous μ and σ planes: fast element-wise ops
        mu = torch.sigmoid(out[:, :1])
        sigma = self.config.min_sigma + F.softplus(out[:, 1:])
        return mu, sigma

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One reparameterised sample per input (training): μ_x, σ_x, μ_z, log σ_z²."""
        mu_z, log_var_z = self.encode(x)
        z = mu_z + torch.randn_like(mu_z) * torch.exp(0.5 * log_var_z)
        mu_x, sigma_x = self.decode(z)
        return mu_x, sigma_x, mu_z, log_var_z

    def log_reconstruction_probability(self, x: torch.Tensor) -> torch.Tensor:
        """log RP per input, ``(N,)``, with the fixed ε draws; all L samples go through the decoder as one batch."""
        mu_z, log_var_z = self.encode(x)
        samples, n = self.epsilon.shape[0], x.shape[0]
        z = mu_z.unsqueeze(0) + self.epsilon.unsqueeze(1) * torch.exp(0.5 * log_var_z).unsqueeze(0)  # (L, N, d)
        if self.phase_output:
            log_likelihood = self._phase_log_likelihood(x, z.reshape(samples * n, -1)).view(samples, n)
        else:
            mu_x, sigma_x = self.decode(z.reshape(samples * n, -1))
            log_likelihood = gaussian_log_likelihood(x.repeat(samples, 1, 1, 1), mu_x, sigma_x).view(samples, n)
        return torch.logsumexp(log_likelihood, dim=0) - math.log(samples)

    def _phase_log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Σ_pixels log N(x | μ_x, σ_x) for each z, with the last block's output left as 2×2 phases.

        Pixel (2m + a, 2n + b) of the image is phase a·2 + b at (m, n); the input is rearranged the same way.
        """
        h = F.leaky_relu(self.fc_decode(z), 0.2).view(-1, self.config.decoder_channels[0], self.bottom, self.bottom)
        phases = self.decoder(h)  # (M, 4·C, H/2, W/2)
        m, _, height, width = phases.shape
        features = phases.permute(0, 2, 3, 1).reshape(m, height, width, 4, -1)  # (M, H/2, W/2, phase, C)
        weight, bias = self.head.weight[:, :, 0, 0], self.head.bias
        mu = torch.sigmoid(features @ weight[0] + bias[0])  # (M, H/2, W/2, phase)
        sigma = self.config.min_sigma + F.softplus(features @ weight[1] + bias[1])
        n = x.shape[0]
        target = x.reshape(n, height, 2, width, 2).permute(0, 1, 3, 2, 4).reshape(n, height, width, 4)
        target = target.repeat(m // n, 1, 1, 1)
        per_pixel = -0.5 * ((target - mu) / sigma) ** 2 - torch.log(sigma) - _LOG_SQRT_2PI
        return per_pixel.flatten(1).sum(1)


def gaussian_log_likelihood(x: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Σ over pixels of log N(x | μ, σ), one value per image."""
    per_pixel = -0.5 * ((x - mu) / sigma) ** 2 - torch.log(sigma) - _LOG_SQRT_2PI
    return per_pixel.flatten(1).sum(1)


def kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per input."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)


def _folded(conv: nn.Conv2d | nn.ConvTranspose2d, norm: nn.BatchNorm2d) -> nn.Module:
    """A copy of ``conv`` with the eval-mode batch norm that follows it folded into its weights and bias."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    folded = copy.deepcopy(conv)
    out_axis = 1 if isinstance(conv, nn.ConvTranspose2d) else 0
    shape = [1, 1, 1, 1]
    shape[out_axis] = -1
    bias = conv.bias if conv.bias is not None else torch.zeros_like(norm.running_mean)
    folded.weight = nn.Parameter(conv.weight * scale.view(shape))
    folded.bias = nn.Parameter(norm.bias + (bias - norm.running_mean) * scale)
    return folded


class SubPixelConvTranspose(nn.Module):
    """A stride-2, kernel-4, padding-1 transposed convolution rewritten as a 3×3 convolution and a pixel shuffle.

    Output pixel (2m + a, 2n + b) of the transposed convolution sees input rows m−1..m+1 through
    kernel taps that depend only on the phase (a, b), so one ordinary convolution with 4× the output
    channels (one group per phase, unused taps zero) followed by ``pixel_shuffle(2)`` gives the same
    result. Ordinary convolutions have fast CPU kernels (oneDNN); transposed ones often do not.
    """

    # kernel tap of the transposed convolution used by phase a at input offset d = −1, 0, +1 (None: unused)
    _TAPS = {0: (3, 1, None), 1: (None, 2, 0)}

    def __init__(self, transposed: nn.ConvTranspose2d, shuffle: bool = True) -> None:
        super().__init__()
        self.shuffle = shuffle
        if transposed.kernel_size != (4, 4) or transposed.stride != (2, 2) or transposed.padding != (1, 1) or transposed.groups != 1:
            raise ValueError("only kernel 4, stride 2, padding 1 transposed convolutions are supported")
        weight = transposed.weight.detach()  # (in, out, 4, 4)
        c_in, c_out = weight.shape[:2]
        # output channels ordered (a, b, o), so that in channels-last memory each phase is one contiguous block
        kernel = torch.zeros(2, 2, c_out, c_in, 3, 3, dtype=weight.dtype)
        for a, rows in self._TAPS.items():
            for b, cols in self._TAPS.items():
                for dy, ky in enumerate(rows):
                    for dx, kx in enumerate(cols):
                        if ky is not None and kx is not None:
                            kernel[a, b, :, :, dy, dx] = weight[:, :, ky, kx].T
        bias = transposed.bias.detach() if transposed.bias is not None else torch.zeros(c_out, dtype=weight.dtype)
        self.out_channels = c_out
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, 1, 1)
        self.conv.weight = nn.Parameter(kernel.reshape(4 * c_out, c_in, 3, 3))
        self.conv.bias = nn.Parameter(bias.repeat(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.shuffle:  # (N, 4·C, H, W), channels ordered (a, b, o): the phases side by side
            return self.conv(x)
        y = self.conv(x).permute(0, 2, 3, 1)  # (N, H, W, a·b·o); a free view when x is channels-last
        n, h, w, _ = y.shape
        y = y.reshape(n, h, w, 2, 2, self.out_channels).permute(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, self.out_channels)
        return y.permute(0, 3, 1, 2)  # NCHW shape, channels-last memory


@torch.no_grad()
def inference_copy(model: FaceVAE) -> FaceVAE:
    """An inference copy of ``model``: batch norms folded into the convolutions and transposed
    convolutions rewritten as sub-pixel convolutions. Same outputs (to float rounding), faster on CPU."""
    fused = copy.deepcopy(model).eval()
    for blocks in (fused.encoder, fused.decoder):
        for block in blocks:
            if isinstance(block[1], nn.BatchNorm2d):
                block[0] = _folded(block[0], block[1])
                block[1] = nn.Identity()
            if isinstance(block[0], nn.ConvTranspose2d):
                block[0] = SubPixelConvTranspose(block[0], shuffle=block is not fused.decoder[-1])
    # The 1×1 head and the per-pixel likelihood do not care where a pixel sits, so the largest
    # tensor is never shuffled: the likelihood is summed over the four phases instead (see
    # ``FaceVAE._phase_log_likelihood``).
    fused.phase_output = True
    return fused


def weights_fingerprint(model: nn.Module) -> str:
    """A short hash of every weight and buffer: score caches keyed by it go stale when the weights change."""
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().to(torch.float32 if value.is_floating_point() else value.dtype).contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_vae(model: FaceVAE, path: Path, half: bool = True, extra: dict[str, Any] | None = None) -> None:
    """Save config, weights (float16 unless ``half`` is False; BN statistics stay float32) and the ε buffer."""
    state = {}
    for key, value in model.state_dict().items():
        if half and value.is_floating_point() and "running_" not in key and key != "epsilon":
            value = value.half()
        state[key] = value.detach().clone()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.config), "state_dict": state, "extra": extra or {}}, path)


def load_vae(path: Path | None = None) -> FaceVAE:
    """Load a saved VAE (the shipped weights by default) in eval mode, float32."""
    if path is None:
        with resources.as_file(resources.files(_WEIGHTS_PACKAGE) / SHIPPED_WEIGHTS) as shipped:
            return _load_vae(shipped, REINSTALL)
    return _load_vae(path, "train it again (`sealshot train vae`) or point $SEALSHOT_VAE_WEIGHTS at a good file")


def _load_vae(path: Path, remedy: str) -> FaceVAE:
    with loading_model("The VAE", path, remedy):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = FaceVAE(VAEConfig.from_dict(checkpoint["config"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()})
    return model.eval()


class VAEWeightsUnavailable(ModelError):
    """The VAE weight file named by ``$SEALSHOT_VAE_WEIGHTS`` does not exist."""


def default_vae() -> FaceVAE:
    """The model behind ``vae`` and ``vae-ratio``: ``$SEALSHOT_VAE_WEIGHTS`` when set, else the shipped weights."""
    chosen = os.environ.get(WEIGHTS_ENV)
    if chosen and not Path(chosen).is_file():
        raise VAEWeightsUnavailable(f"{WEIGHTS_ENV}={chosen} is not a file")
    return load_vae(Path(chosen) if chosen else None)


def gray_to_tensor(gray: np.ndarray) -> torch.Tensor:
    """``(N, 64, 64)`` uint8 → ``(N, 1, 64, 64)`` float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(gray, dtype=np.uint8)).float().div_(255.0).unsqueeze(1)


@dataclass
class VAEQuality:
    """Quality method ``vae``: log RP of the aligned 64×64 grey crop; higher is better."""

    model: FaceVAE = field(default_factory=default_vae)
    batch_size: int = 16  # crops per pass (×L decoder samples); small chunks stay in cache and run faster on CPU
    name: str = "vae"
    version: str = field(init=False, default="")  # weights fingerprint, part of score-cache keys

    def __post_init__(self) -> None:
        self.version = weights_fingerprint(self.model)
        # Same function, faster on CPU: batch norm folded into the convolutions, channels-last tensors.
        self.model = inference_copy(self.model).to(memory_format=torch.channels_last)

    @torch.inference_mode()
    def score(self, faces: FaceBatch) -> np.ndarray:
        gray = np.asarray(faces.gray)
        if gray.ndim != 3 or gray.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"the VAE needs (N, 64, 64) grey crops, got {gray.shape}")
        scores = [
            self.model.log_reconstruction_probability(gray_to_tensor(gray[start : start + self.batch_size]).contiguous(memory_format=torch.channels_last))
            .double()
            .numpy()
            for start in range(0, len(gray), self.batch_size)
        ]
        return np.concatenate(scores) if scores else np.zeros(0)


@register("vae", "the paper's VAE: log reconstruction probability of the 64x64 grey crop (L=10, fixed draws)")
def _factory() -> VAEQuality:
    return VAEQuality()


def png_code_length_nats(gray: np.ndarray) -> float:
    """Length of the lossless PNG (zlib level 9) encoding of one 8-bit grey crop, in nats."""
    import cv2

    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(gray, dtype=np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise ValueError("PNG encoding failed")
    return float(len(encoded)) * 8.0 * math.log(2.0)


@dataclass
class VAEComplexityRatio:
    """Quality method ``vae-ratio`` (our addition, not the paper's): log RP corrected for input complexity.

    log RP rewards simple crops: smoother, darker or lower-contrast crops get a *higher*
    likelihood (bench/results/vae_scores.md). Following Serrà et al. (ICLR 2020, "Input
    complexity and out-of-distribution detection with likelihood-based generative models"), the
    score is a log-likelihood ratio in nats between the VAE and a generic lossless image
    coder (PNG) for the same 8-bit crop:

        log P_vae(x) − log P_png(x) = (log RP(x) − 4096 · ln 255) + L_png(x) · ln 2

    (the VAE density on [0, 1] pixels times the 1/255 bin width of each of the 4096 pixels).
    Positive: the face model explains the crop better than a generic coder. It falls with blur,
    downscaling and darkening, but rises with added noise, which a generic coder cannot compress.
    """

    vae: VAEQuality = field(default_factory=VAEQuality)
    name: str = "vae-ratio"

    @property
    def version(self) -> str:
        return self.vae.version

    def score(self, faces: FaceBatch) -> np.ndarray:
        log_rp = self.vae.score(faces)
        bin_width = IMAGE_SIZE * IMAGE_SIZE * math.log(255.0)
        return log_rp - bin_width + np.array([png_code_length_nats(g) for g in np.asarray(faces.gray)])


@register("vae-ratio", "log RP of the VAE minus the log-probability of a PNG coder (complexity-corrected, Serra et al. 2020); nats")
def _ratio_factory() -> VAEComplexityRatio:
    return VAEComplexityRatio()
