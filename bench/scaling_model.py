"""The data-parallel scaling model of docs/src/training.md, computed rather than guessed: bytes all-reduced per step
for the full-size X-Codec (transformers' XcodecModel defaults: DAC + hubert-base, 8 x 1024 codebooks of 1024 dims)
with xcodec's default discriminator (the MFD, 6 resolutions), FLOPs of one training step on one GPU (counted by
torch's FlopCounterMode on the real model; the MFD's convolutions by formula), and the efficiency at 8, 32 and
128 GPUs over 100 and 400 Gb/s links, for the step as `xcodec train` runs it: the gradient all-reduce after the
backward (one f32 buffer, ring algorithm, no overlap with compute) and the all-gather of the codebooks' inputs.

    $(../shared/tools/refenv.sh) bench/scaling_model.py [PER_GPU_BATCH (8)] [CROP_SECONDS (3)] [TFLOPS (100)]

TFLOPS is the sustained rate assumed for one GPU (100 = an H100 at about 20 % of its dense TF32 peak).
"""
import sys

import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode

assert transformers.__version__ == "5.24.0", transformers.__version__
batch = int(sys.argv[1]) if len(sys.argv) > 1 else 8
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3.0
tflops = float(sys.argv[3]) if len(sys.argv) > 3 else 100.0
rate = 16_000
samples = int(seconds * rate)

cfg = transformers.XcodecConfig()
model = transformers.XcodecModel(cfg).eval()
teacher = sum(p.numel() for p in model.semantic_model.parameters())
generator = sum(p.numel() for p in model.parameters()) - teacher


def mfd(hops=(32, 64, 128, 256, 512, 1024), widths=(64, 128, 256, 512, 512, 512)):
    """(parameters, forward FLOPs of one crop) of xcodec's MultiFrequencyDiscriminator (3x3 weight-normed convs)."""
    params = flops = 0
    for hop, h in zip(hops, widths):
        height, width = 2 * hop + 1, samples // hop + 1  # n_fft = 4 hop, centred frames; 2 channels (mag, log)
        for cin, cout, stride in [(2, h // 32, 1), (h // 32, h // 16, 2), (h // 16, h // 8, 1), (h // 8, h // 4, 2),
                                  (h // 4, h // 2, 1), (h // 2, h, 2), (h, 1, 1)]:
            height, width = (height - 1) // stride + 1, (width - 1) // stride + 1
            params += cin * cout * 9 + 2 * cout  # v, g and bias
            flops += 2 * 9 * cin * cout * height * width
    return params, flops


disc, disc_fwd_one = mfd()
x = torch.randn(batch, 1, samples)
with torch.no_grad():
    with FlopCounterMode(display=False) as counter:
        model(x)
    total_fwd = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        model.semantic_model(torch.randn(batch, samples))
    teacher_fwd = counter.get_total_flops()
gen_fwd = total_fwd - teacher_fwd
disc_fwd = disc_fwd_one * batch
# Teacher forward only; generator forward + backward (about 3x forward); discriminators: their own step on real and
# fake (2 x 3x) plus the generator's adversarial pass through them (3x, fake) and feature targets on real (1x).
step_flops = teacher_fwd + 3 * gen_fwd + 10 * disc_fwd
compute_s = step_flops / (tflops * 1e12)

grad_bytes = 4 * (generator + disc)
frames = samples // 320
gather_slice = 4 * batch * 1024 * frames  # the quantizer's input: 1024 dims x 50 frames/s per crop
hop_latency = 10e-6

print(f"per GPU: batch {batch} x {seconds:g} s; {tflops:g} TFLOP/s sustained")
print(f"trainable parameters: generator {generator / 1e6:.1f} M + MFD {disc / 1e6:.2f} M "
      f"(frozen teacher {teacher / 1e6:.1f} M) -> {grad_bytes / 1e6:.0f} MB of f32 gradients all-reduced per step")
print(f"forward GFLOPs per step: teacher {teacher_fwd / 1e9:.0f}, generator {gen_fwd / 1e9:.0f}, "
      f"MFD {disc_fwd / 1e9:.0f}; whole step {step_flops / 1e12:.2f} TFLOPs = {compute_s * 1e3:.0f} ms")
print(f"codebook inputs all-gathered per step: {gather_slice / 1e6:.1f} MB from each rank")
print(f"{'GPUs':>5} {'link':>9} {'all-reduce':>11} {'all-gather':>11} {'efficiency':>11}")
for gbit in (100, 400):
    link = gbit * 1e9 / 8
    for n in (8, 32, 128):
        reduce_s = 2 * (n - 1) / n * grad_bytes / link + 2 * (n - 1) * hop_latency
        gather_s = (n - 1) * gather_slice / link + (n - 1) * hop_latency
        eff = compute_s / (compute_s + reduce_s + gather_s)
        print(f"{n:>5} {gbit:>5} Gb/s {reduce_s * 1e3:>8.0f} ms {gather_s * 1e3:>8.0f} ms {eff * 100:>10.0f} %")
