"""Generates the trainer parity fixtures: STFT, mel filterbanks, PQMF, the generator losses and the three
discriminators under the least-squares GAN losses.

Pinned reference environment (../shared/tools/refenv.sh): torch 2.15.0, transformers 5.24.0,
safetensors 0.8.0, numpy 2.4.6, scipy 1.17.1. Run from the repository root:

    $(../shared/tools/refenv.sh) tests/reference/gen_losses.py

The reference code is not pip-installable in that environment (and torchaudio / librosa / audiotools are not
in it), so the modules below restate the originals layer for layer, with torch doing the arithmetic:

- ParallelWaveGAN `parallel_wavegan/losses/stft_loss.py` (kan-bayashi/ParallelWaveGAN@86740373) and X-Codec's
  copy in `losses/basic_loss.py`, `losses/generator_loss.py` (zhenye234/xcodec@a2e52d30): STFT losses.
  `torch.stft(return_complex=False)` is spelled `view_as_real(torch.stft(return_complex=True))`.
- X-Codec `modules/commons/pqmf.py`: PQMF with its 2/4/6/8-band cut-offs; `scipy.signal.kaiser` is
  `scipy.signal.windows.kaiser` in scipy 1.17.
- X-Codec `modules/discriminators/frequency_discriminator.py` + `modules/commons/torch_stft.py`
  (`TorchSTFT`, `MelScale`, `create_fb_matrix`): the multi-frequency discriminator, including its
  `nn.Sequential(LeakyReLU(0.2, inplace=True), ReflectionPad2d, weight_norm(Conv2d))` layers.
- HiFi-GAN `models.py` (jik876/hifi-gan@4769534d): `DiscriminatorP`, `generator_loss`, `discriminator_loss`.
- EnCodec `encodec/msstftd.py` (facebookresearch/encodec@0e2d0aed): `DiscriminatorSTFT`; torchaudio's
  `Spectrogram(normalized=True, center=False, power=None)` is `torch.stft(...) / window.pow(2).sum().sqrt()`.
- DAC `dac/nn/loss.py` `MelSpectrogramLoss` with audiotools' `AudioSignal.stft/mel_spectrogram`
  (descriptinc/audiotools@348ebf20): Hann window (scipy periodic = torch periodic), `center=True`,
  `torch.abs` magnitude, librosa `filters.mel` bank.
- librosa is not installed, so librosa's `filters.mel(htk=False, norm="slaney")` is computed here by its
  formula in numpy (`slaney_mel` below: `fft_frequencies`, `mel_frequencies`, ramps, `enorm`); checked once to
  equal librosa 0.11.0's output bit for bit (max abs difference 0.0) on these and larger banks (16 kHz 2048/320,
  44.1 kHz 1024/80) in a scratch environment.

Writes tests/fixtures/losses/discriminators.safetensors (tiny seeded discriminators, keys named as the Rust
`Discriminators` module names them) and tests/fixtures/losses/losses_parity.safetensors.
"""
import math
import os
import re
import sys

import numpy as np
import safetensors
import scipy
import scipy.signal
import torch
import torch.nn as nn
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file

assert torch.__version__.startswith("2.15"), torch.__version__
assert transformers.__version__ == "5.24.0", transformers.__version__
assert np.__version__ == "2.4.6", np.__version__
assert scipy.__version__ == "1.17.1", scipy.__version__
assert safetensors.__version__ == "0.8.0", safetensors.__version__

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "losses")

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)

SR = 16000
BATCH, SAMPLES = 2, 2400
# Sub-sampled views of large activations keep the fixtures small: every `step`-th element of the flattened
# tensor, step = ceil(numel / KEEP) (the Rust test takes the same elements).
KEEP = 128

fx = {}


def keep(name, t):
    flat = t.detach().reshape(-1)
    step = max(1, math.ceil(flat.numel() / KEEP))
    fx[name] = flat[::step].clone()
    fx[name + ".shape"] = torch.tensor(list(t.shape), dtype=torch.int64)


# ---------------------------------------------------------------- audio
t = torch.arange(SAMPLES, dtype=torch.float64) / SR
real = torch.zeros(BATCH, 1, SAMPLES, dtype=torch.float64)
for b in range(BATCH):
    for _ in range(6):
        f0 = float(torch.empty(1).uniform_(80, 6000))
        amp = float(torch.empty(1).uniform_(0.05, 0.3))
        real[b, 0] += amp * torch.sin(2 * math.pi * f0 * t + float(torch.rand(1)) * 6.28)
# Broadband noise keeps most STFT bins well above ParallelWaveGAN's 1e-7 power floor. The first frame is centred
# on the reflect-padding mirror point, so its spectrum is real and crosses zero: the log-magnitude gradient
# (~ 1/|X|) of its near-zero bins is ill-conditioned in float32. With 0.02 noise, torch f32 was 8e-5 and burn
# f32 3e-4 off the f64 gradient there; with 0.05 the f32 implementations agree within 3e-5.
real += 0.05 * torch.randn_like(real)
fake = 0.8 * real + 0.05 * torch.randn_like(real) + 0.1 * torch.tanh(3 * real)
real, fake = real.float(), fake.float()
fx["audio.real"] = real
fx["audio.fake"] = fake


# ---------------------------------------------------------------- STFT magnitude (ParallelWaveGAN `stft`)
def pwg_stft(x, fft_size, hop_size, win_length, window):
    x_stft = torch.view_as_real(torch.stft(x, fft_size, hop_size, win_length, window, return_complex=True))
    real_, imag = x_stft[..., 0], x_stft[..., 1]
    return torch.sqrt(torch.clamp(real_**2 + imag**2, min=1e-7)).transpose(2, 1)


fx["stft.magnitude"] = pwg_stft(real[:, 0, :1000], 256, 100, 200, torch.hann_window(200))


# ---------------------------------------------------------------- mel filterbanks
def hz_to_mel(f):
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def slaney_mel(sr, n_fft, n_mels, fmin=0.0, fmax=None):
    """librosa.filters.mel(sr=, n_fft=, n_mels=, fmin=, fmax=) with htk=False, norm="slaney", float32."""
    fmax = float(sr) / 2 if fmax is None else fmax
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def create_fb_matrix(n_freqs, f_min, f_max, n_mels, sample_rate):
    """X-Codec torch_stft.create_fb_matrix(norm=None): HTK triangles clamped to [1e-6, 1], (n_freqs, n_mels)."""
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = 2595.0 * math.log10(1.0 + (f_min / 700.0))
    m_max = 2595.0 * math.log10(1.0 + (f_max / 700.0))
    m_pts = torch.linspace(m_min, m_max, n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down_slopes = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up_slopes = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down_slopes, up_slopes), 1e-6, 1)


for sr, n_fft, n_mels, fmin, fmax in [(16000, 256, 20, 0.0, None), (16000, 32, 5, 0.0, None), (24000, 256, 24, 50.0, 9000.0)]:
    fx[f"mel.slaney.{sr}.{n_fft}.{n_mels}"] = torch.from_numpy(slaney_mel(sr, n_fft, n_mels, fmin, fmax))
fx["mel.htk.16000.33"] = create_fb_matrix(33, 0.0, 8000.0, 33, 16000).T.contiguous()


# ---------------------------------------------------------------- PQMF (X-Codec modules/commons/pqmf.py)
def design_prototype_filter(taps=62, cutoff_ratio=0.142, beta=9.0):
    omega_c = np.pi * cutoff_ratio
    with np.errstate(invalid="ignore"):
        h_i = np.sin(omega_c * (np.arange(taps + 1) - 0.5 * taps)) / (np.pi * (np.arange(taps + 1) - 0.5 * taps))
    h_i[taps // 2] = np.cos(0) * cutoff_ratio
    return h_i * scipy.signal.windows.kaiser(taps + 1, beta)


class PQMF(nn.Module):
    def __init__(self, subbands=4, taps=62, cutoff_ratio=0.142, beta=9.0):
        super().__init__()
        cutoff_ratio = {8: 0.07949452, 6: 0.10032791, 4: 0.13, 2: 0.25}.get(subbands, cutoff_ratio)
        h_proto = design_prototype_filter(taps, cutoff_ratio, beta)
        h_analysis = np.zeros((subbands, len(h_proto)))
        h_synthesis = np.zeros((subbands, len(h_proto)))
        for k in range(subbands):
            arg = (2 * k + 1) * (np.pi / (2 * subbands)) * (np.arange(taps + 1) - (taps / 2))
            h_analysis[k] = 2 * h_proto * np.cos(arg + (-1) ** k * np.pi / 4)
            h_synthesis[k] = 2 * h_proto * np.cos(arg - (-1) ** k * np.pi / 4)
        self.register_buffer("analysis_filter", torch.from_numpy(h_analysis).float().unsqueeze(1))
        self.register_buffer("synthesis_filter", torch.from_numpy(h_synthesis).float().unsqueeze(0))
        updown_filter = torch.zeros((subbands, subbands, subbands)).float()
        for k in range(subbands):
            updown_filter[k, k, 0] = 1.0
        self.register_buffer("updown_filter", updown_filter)
        self.subbands = subbands
        self.pad_fn = nn.ConstantPad1d(taps // 2, 0.0)

    def analysis(self, x):
        x = F.conv1d(self.pad_fn(x), self.analysis_filter)
        return F.conv1d(x, self.updown_filter, stride=self.subbands)

    def synthesis(self, x):
        x = F.conv_transpose1d(x, self.updown_filter * self.subbands, stride=self.subbands)
        return F.conv1d(self.pad_fn(x), self.synthesis_filter)


pqmf = PQMF(6)
fx["pqmf.analysis_filter"] = pqmf.analysis_filter
fx["pqmf.synthesis_filter"] = pqmf.synthesis_filter
bands = pqmf.analysis(real[:, :, :601])
fx["pqmf.bands"] = bands
fx["pqmf.synthesis"] = pqmf.synthesis(bands)


# ---------------------------------------------------------------- generator losses
class STFTLoss(nn.Module):
    def __init__(self, fft_size, hop_size, win_size):
        super().__init__()
        self.fft_size, self.hop_size, self.win_size = fft_size, hop_size, win_size
        self.register_buffer("window", torch.hann_window(win_size))

    def forward(self, predicts, targets):
        p = pwg_stft(predicts, self.fft_size, self.hop_size, self.win_size, self.window)
        t_ = pwg_stft(targets, self.fft_size, self.hop_size, self.win_size, self.window)
        sc = torch.norm(t_ - p, p="fro") / torch.norm(t_, p="fro")
        mag = F.l1_loss(torch.log(p), torch.log(t_))
        return sc, mag


class MultiResolutionSTFTLoss(nn.Module):
    def __init__(self, fft_sizes, win_sizes, hop_sizes):
        super().__init__()
        self.loss_layers = nn.ModuleList(STFTLoss(f, h, w) for f, w, h in zip(fft_sizes, win_sizes, hop_sizes))

    def forward(self, fake_signals, true_signals):
        sc, mag = zip(*(layer(fake_signals, true_signals) for layer in self.loss_layers))
        return sum(sc) / len(sc), sum(mag) / len(mag)


def with_grad(name, fn):
    """Stores fn(fake) (a tuple of scalars) under name.<i> and d(sum)/d fake under name.grad."""
    x = fake.clone().requires_grad_(True)
    values = fn(x)
    sum(values).backward()
    for i, v in enumerate(values):
        fx[f"{name}.{i}"] = v.detach().reshape(1)
    fx[f"{name}.grad"] = x.grad.detach()


full = MultiResolutionSTFTLoss([512, 1024, 2048], [480, 960, 1200], [120, 240, 300])
with_grad("loss.mrstft", lambda x: full(x.squeeze(1), real.squeeze(1)))

sub_pqmf = PQMF(6)
sub = MultiResolutionSTFTLoss([128, 256, 256], [80, 120, 200], [20, 40, 50])


def subband_loss(x):
    xs, ys = sub_pqmf.analysis(x), sub_pqmf.analysis(real)
    size = xs.size(-1)
    return sub(xs.view(-1, size), ys.view(-1, size))


with_grad("loss.subband", subband_loss)


def dac_mel(x, n_mels, window_length, fmin=0.0, fmax=None):
    """audiotools AudioSignal.mel_spectrogram(n_mels, window_length=w, hop_length=w // 4, window_type="hann")."""
    window = torch.from_numpy(scipy.signal.get_window("hann", window_length)).float()
    stft = torch.stft(x.reshape(-1, x.shape[-1]), n_fft=window_length, hop_length=window_length // 4,
                      window=window, return_complex=True, center=True)
    magnitude = torch.abs(stft)  # [batch, bins, frames]
    basis = torch.from_numpy(slaney_mel(SR, 2 * (magnitude.shape[1] - 1), n_mels, fmin, fmax))
    return (magnitude.transpose(1, 2) @ basis.T).transpose(1, 2)


def mel_loss(x, n_mels, windows, clamp_eps=1e-5, mag_weight=1.0, log_weight=1.0, pow=2.0):
    loss = 0.0
    for n, w in zip(n_mels, windows):
        xm, ym = dac_mel(x, n, w), dac_mel(real, n, w)
        loss += log_weight * F.l1_loss(xm.clamp(clamp_eps).pow(pow).log10(), ym.clamp(clamp_eps).pow(pow).log10())
        loss += mag_weight * F.l1_loss(xm, ym)
    return loss


DAC_MELS, DAC_WINDOWS = [5, 10, 20, 40, 80, 160, 320], [32, 64, 128, 256, 512, 1024, 2048]
# DAC's training config (conf/base.yml): pow 1, mag_weight 0.
with_grad("loss.mel_dac", lambda x: (mel_loss(x, DAC_MELS, DAC_WINDOWS, pow=1.0, mag_weight=0.0),))
# Every term on, with pow 2 (MelSpectrogramLoss's own defaults), three scales.
with_grad("loss.mel_full", lambda x: (mel_loss(x, [20, 40, 80], [128, 256, 1024], mag_weight=0.5, pow=2.0),))


# ---------------------------------------------------------------- discriminators
class TorchSTFT(nn.Module):
    """X-Codec modules/commons/torch_stft.TorchSTFT (transform only)."""

    def __init__(self, fft_size, hop_size, win_size, normalized=False, domain="linear", mel_scale=False,
                 ref_level_db=20, min_level_db=-100, sample_rate=24000):
        super().__init__()
        self.fft_size, self.hop_size, self.win_size = fft_size, hop_size, win_size
        self.ref_level_db, self.min_level_db = ref_level_db, min_level_db
        self.window = torch.hann_window(win_size)
        self.normalized, self.domain = normalized, domain
        n = fft_size // 2 + 1
        self.fb = create_fb_matrix(n, 0.0, float(sample_rate // 2), n, sample_rate) if mel_scale else None

    def transform(self, x):
        x_stft = torch.view_as_real(torch.stft(x, self.fft_size, self.hop_size, self.win_size, self.window,
                                               normalized=self.normalized, return_complex=True))
        real_, imag = x_stft[..., 0], x_stft[..., 1]
        mag = torch.sqrt(torch.clamp(real_**2 + imag**2, min=1e-7))
        if self.fb is not None:
            mag = torch.matmul(mag.transpose(1, 2), self.fb).transpose(1, 2)
        log_mag = 20 * torch.log10(mag) - self.ref_level_db
        log_mag = torch.clamp((log_mag - self.min_level_db) / -self.min_level_db, 0, 1)
        if self.domain == "log":
            return log_mag
        if self.domain == "linear":
            return mag
        return torch.cat((mag, log_mag), dim=1)


class FrequenceDiscriminator(nn.Module):
    def __init__(self, in_channels, hidden_channels=512):
        super().__init__()
        h = hidden_channels
        widths = [(in_channels, h // 32, 1), (h // 32, h // 16, 2), (h // 16, h // 8, 1), (h // 8, h // 4, 2),
                  (h // 4, h // 2, 1), (h // 2, h, 2), (h, 1, 1)]
        layers = []
        for i, (cin, cout, s) in enumerate(widths):
            conv = nn.utils.weight_norm(nn.Conv2d(cin, cout, kernel_size=(3, 3), stride=(s, s)))
            pre = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Sequential(*pre, nn.ReflectionPad2d((1, 1, 1, 1)), conv))
        self.discriminator = nn.ModuleList(layers)

    def forward(self, x):
        hiddens = []
        for layer in self.discriminator:
            x = layer(x)
            hiddens.append(x)
        return x, hiddens[:-1]


class MultiFrequencyDiscriminator(nn.Module):
    def __init__(self, hop_lengths, hidden_channels, domain="double", mel_scale=True, sample_rate=16000):
        super().__init__()
        self.stfts = [TorchSTFT(x * 4, x, x * 4, normalized=True, domain=domain, mel_scale=mel_scale,
                                sample_rate=sample_rate) for x in hop_lengths]
        self.domain = domain
        cin = 2 if domain == "double" else 1
        self.discriminators = nn.ModuleList(FrequenceDiscriminator(cin, c) for c in hidden_channels)

    def forward(self, y):
        y = y.view(-1, y.shape[-1])
        outs, fmaps = [], []
        for stft, layer in zip(self.stfts, self.discriminators):
            mag = stft.transform(y)
            if self.domain == "double":
                mag = torch.stack(torch.chunk(mag, 2, dim=1), dim=1)
            else:
                mag = mag.unsqueeze(1)
            out, fmap = layer(mag)
            outs.append(out)
            fmaps.append(fmap)
        return outs, fmaps


LRELU_SLOPE = 0.1


class DiscriminatorP(nn.Module):
    def __init__(self, period, channels, kernel_size=5, stride=3):
        super().__init__()
        self.period = period
        pad = (kernel_size - 1) // 2
        convs, cin = [], 1
        for i, c in enumerate(channels):
            s = 1 if i == len(channels) - 1 else stride
            convs.append(nn.utils.weight_norm(nn.Conv2d(cin, c, (kernel_size, 1), (s, 1), padding=(pad, 0))))
            cin = c
        self.convs = nn.ModuleList(convs)
        self.conv_post = nn.utils.weight_norm(nn.Conv2d(cin, 1, (3, 1), 1, padding=(1, 0)))

    def forward(self, x):
        fmap = []
        b, c, t = x.shape
        if t % self.period != 0:
            n_pad = self.period - (t % self.period)
            x = F.pad(x, (0, n_pad), "reflect")
            t = t + n_pad
        x = x.view(b, c, t // self.period, self.period)
        for layer in self.convs:
            x = F.leaky_relu(layer(x), LRELU_SLOPE)
            fmap.append(x)
        x = self.conv_post(x)
        fmap.append(x)
        return x, fmap  # HiFi-GAN returns torch.flatten(x, 1, -1); the losses below only average it


class MultiPeriodDiscriminator(nn.Module):
    def __init__(self, periods, channels):
        super().__init__()
        self.discriminators = nn.ModuleList(DiscriminatorP(p, channels) for p in periods)

    def forward(self, y):
        outs = [d(y) for d in self.discriminators]
        return [o for o, _ in outs], [f for _, f in outs]


class NormConv2d(nn.Module):
    def __init__(self, *args, norm="none", **kwargs):
        super().__init__()
        conv = nn.Conv2d(*args, **kwargs)
        self.conv = nn.utils.weight_norm(conv) if norm == "weight_norm" else conv

    def forward(self, x):
        return self.conv(x)


def get_2d_padding(kernel_size, dilation=(1, 1)):
    return (((kernel_size[0] - 1) * dilation[0]) // 2, ((kernel_size[1] - 1) * dilation[1]) // 2)


class DiscriminatorSTFT(nn.Module):
    def __init__(self, filters, n_fft, hop_length, win_length, kernel_size=(3, 9), dilations=(1, 2, 4),
                 stride=(1, 2), norm="weight_norm"):
        super().__init__()
        self.n_fft, self.hop_length, self.win_length = n_fft, hop_length, win_length
        self.activation = nn.LeakyReLU(negative_slope=0.2)
        self.convs = nn.ModuleList()
        self.convs.append(NormConv2d(2, filters, kernel_size=kernel_size, padding=get_2d_padding(kernel_size)))
        for d in dilations:
            self.convs.append(NormConv2d(filters, filters, kernel_size=kernel_size, stride=stride, dilation=(d, 1),
                                         padding=get_2d_padding(kernel_size, (d, 1)), norm=norm))
        k0 = (kernel_size[0], kernel_size[0])
        self.convs.append(NormConv2d(filters, filters, kernel_size=k0, padding=get_2d_padding(k0), norm=norm))
        self.conv_post = NormConv2d(filters, 1, kernel_size=k0, padding=get_2d_padding(k0), norm=norm)

    def spec_transform(self, x):
        """torchaudio Spectrogram(n_fft, hop, win, hann_window, normalized=True, center=False, power=None)."""
        window = torch.hann_window(self.win_length)
        shape = x.shape
        spec = torch.stft(x.reshape(-1, shape[-1]), self.n_fft, self.hop_length, self.win_length, window,
                          center=False, normalized=False, onesided=True, return_complex=True)
        spec = spec.reshape(shape[:-1] + spec.shape[-2:])
        return spec / window.pow(2.0).sum().sqrt()

    def forward(self, x):
        fmap = []
        z = self.spec_transform(x)  # [B, 1, F, T]
        z = torch.cat([z.real, z.imag], dim=1)
        z = z.permute(0, 1, 3, 2)  # rearrange 'b c w t -> b c t w'
        for layer in self.convs:
            z = self.activation(layer(z))
            fmap.append(z)
        return self.conv_post(z), fmap


class MultiScaleSTFTDiscriminator(nn.Module):
    def __init__(self, filters, n_ffts, hop_lengths, win_lengths):
        super().__init__()
        self.discriminators = nn.ModuleList(DiscriminatorSTFT(filters, n_fft=n, win_length=w, hop_length=h)
                                            for n, h, w in zip(n_ffts, hop_lengths, win_lengths))

    def forward(self, x):
        outs = [d(x) for d in self.discriminators]
        return [o for o, _ in outs], [f for _, f in outs]


# Tiny shapes (the Rust test builds the same from DiscriminatorConfig).
discs = {
    "mfd": MultiFrequencyDiscriminator([64, 128, 256], [32, 32, 32]),
    "mpd": MultiPeriodDiscriminator([2, 3, 5, 7, 11], [4, 8, 8, 16, 16]),
    "msstft": MultiScaleSTFTDiscriminator(4, [256, 512, 128], [64, 128, 32], [256, 400, 100]),
}

def redraw_discriminator(d):
    """Re-draws every parameter so that activations are O(1) and no layer is near-identity or near-zero."""
    with torch.no_grad():
        for name, p in d.named_parameters():
            if name.endswith("weight_g"):
                p.copy_(torch.rand_like(p) * 0.5 + 0.75)
            elif name.endswith("bias"):
                p.copy_(torch.randn_like(p) * 0.1)
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p[0].numel()))


for d in discs.values():
    redraw_discriminator(d)


def rust_name(kind, name):
    name = name.replace(".conv.", ".")  # EnCodec's NormConv2d wrapper
    if kind == "mfd":
        name = re.sub(r"discriminator\.(\d+)\.\d+\.", r"discriminator.\1.", name)  # drop the Sequential index
    return f"{kind}.{name}"


weights = {}
for kind, d in discs.items():
    for name, p in d.named_parameters():
        weights[rust_name(kind, name)] = p.detach().contiguous()
assert len(weights) == sum(len(list(d.parameters())) for d in discs.values())


def lsgan_g(outs):  # X-Codec MSEGLoss: mean over sub-discriminators
    return sum(F.mse_loss(o, torch.ones_like(o)) for o in outs) / len(outs)


def lsgan_d(real_outs, fake_outs):  # X-Codec MSEDiscriminatorLoss
    return sum(F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f))
               for r, f in zip(real_outs, fake_outs)) / len(real_outs)


def feature_match(real_f, fake_f):  # X-Codec FeatureMatchLoss
    loss, n = 0, 0
    for fr, ff in zip(real_f, fake_f):
        for r, f in zip(fr, ff):
            loss = loss + F.l1_loss(f, r.detach())
            n += 1
    return loss / n


CHECKED = {  # parameter gradients compared in Rust: first and last convs of the first and last sub-discriminator
    "mfd": ["discriminators.0.discriminator.0.1.weight_g", "discriminators.0.discriminator.0.1.weight_v",
            "discriminators.2.discriminator.6.2.bias", "discriminators.2.discriminator.6.2.weight_v"],
    "mpd": ["discriminators.0.convs.0.weight_g", "discriminators.0.convs.0.weight_v",
            "discriminators.4.conv_post.bias", "discriminators.4.conv_post.weight_v"],
    "msstft": ["discriminators.0.convs.0.conv.weight", "discriminators.0.convs.1.conv.weight_g",
               "discriminators.2.conv_post.conv.bias", "discriminators.2.conv_post.conv.weight_v"],
}

for kind, d in discs.items():
    x = fake.clone().requires_grad_(True)
    real_outs, real_f = d(real)
    fake_outs, fake_f = d(x)
    for i, (o, fs) in enumerate(zip(real_outs, real_f)):
        keep(f"{kind}.{i}.logits", o)
        for j, f in enumerate(fs):
            keep(f"{kind}.{i}.features.{j}", f)
    adv = lsgan_g(fake_outs)
    fm = feature_match(real_f, fake_f)
    (adv + fm).backward()
    fx[f"{kind}.loss.adv_g"] = adv.detach().reshape(1)
    fx[f"{kind}.loss.fm"] = fm.detach().reshape(1)
    fx[f"{kind}.grad.audio"] = x.grad.detach()

    d.zero_grad()
    real_outs, _ = d(real)
    fake_outs, _ = d(fake.detach())
    loss_d = lsgan_d(real_outs, fake_outs)
    loss_d.backward()
    fx[f"{kind}.loss.d"] = loss_d.detach().reshape(1)
    params = dict(d.named_parameters())
    for name in CHECKED[kind]:
        fx[f"{kind}.grad.{rust_name(kind, name)}"] = params[name].grad.detach()

os.makedirs(OUT, exist_ok=True)
save_file(weights, os.path.join(OUT, "discriminators.safetensors"))
save_file({k: v.contiguous() for k, v in fx.items()}, os.path.join(OUT, "losses_parity.safetensors"))
print("wrote", len(fx), "fixtures and", len(weights), "weights", file=sys.stderr)
