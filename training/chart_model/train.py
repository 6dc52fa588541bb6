"""Train the chart model on corpus chunks, export it to ONNX, check OpenCV runs it the same.

    python -m training.chart_model.train --data DIR [DIR ...] --out model.onnx
        [--leave-out RENDERER,...] [--epochs 8] [--evaluate DIR]

Needs PyTorch and onnx (CPU builds are enough), which the package itself never
imports: `pip install torch onnx` in an environment of its own. The input is
exactly `trade_analysis.analysis.chart_model.input_tensor` of `model_input`; the
augmentations (colour channels swapped, themes inverted, brightness and contrast,
the chart upside down with up and down swapped) keep the label true.

`--leave-out` drops the charts of the named renderers from training, for a
leave-one-renderer-out figure; `--evaluate DIR` reads the chunks there (drawn with
`corpus renderers --evaluation`) with the exported model through OpenCV, as the
reader does, and prints how often trend and kind are right per renderer and kind.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from trade_analysis.analysis.chart_model import (
    INPUT_HEIGHT,
    INPUT_WIDTH,
    KINDS,
    TRENDS,
    ChartModel,
)
from trade_analysis.domain import Trend

UP, DOWN = TRENDS.index(Trend.UP), TRENDS.index(Trend.DOWN)


class Net(nn.Module):
    """A 4x4 patch stem, three strided 3x3 convolutions, a small dense head over the positions.

    The stem sees every pixel once at a quarter of the cost of a 3x3 stride-2 start,
    which matters more than depth: the model must stay within a couple of
    milliseconds a frame on one core.
    """

    def __init__(self) -> None:
        super().__init__()
        channels = (24, 32, 48, 64)
        layers: list[nn.Module] = [
            nn.Conv2d(3, channels[0], 4, stride=4, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        ]
        for before, after in itertools.pairwise(channels):
            layers += [
                nn.Conv2d(before, after, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(after),
                nn.ReLU(inplace=True),
            ]
        self.features = nn.Sequential(*layers)
        cells = (INPUT_HEIGHT // 32) * (INPUT_WIDTH // 32) * channels[-1]
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(cells, 96),
            nn.ReLU(inplace=True),
            nn.Linear(96, len(TRENDS) + len(KINDS)),
        )

    def forward(self, frame: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(frame))


def load(
    dirs: list[Path], leave_out: set[str]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images (uint8 NHWC), their background colours (as input_tensor takes them), labels."""
    images, backgrounds, trends, kinds = [], [], [], []
    for folder in dirs:
        for path in sorted(folder.glob("*.npz")):
            chunk = np.load(path)
            keep = ~np.isin(chunk["source"], list(leave_out))
            if not keep.any():
                continue
            kept = at_input_size(chunk["images"][keep])
            images.append(kept)
            backgrounds.append(np.median(kept.reshape(kept.shape[0], -1, 3), axis=1))
            trends.append(chunk["trend"][keep])
            kinds.append(chunk["kind"][keep])
    return (
        torch.from_numpy(np.concatenate(images)),
        torch.from_numpy(np.concatenate(backgrounds).astype(np.float32)),
        torch.from_numpy(np.concatenate(trends).astype(np.int64)),
        torch.from_numpy(np.concatenate(kinds).astype(np.int64)),
    )


def at_input_size(images: np.ndarray) -> np.ndarray:
    """Chunks drawn at another input size, scaled (by area, as model_input does) to this one."""
    if images.shape[1:3] == (INPUT_HEIGHT, INPUT_WIDTH):
        return images
    size = (INPUT_WIDTH, INPUT_HEIGHT)
    return np.stack([cv2.resize(image, size, interpolation=cv2.INTER_AREA) for image in images])


def augment(
    batch: torch.Tensor, background: torch.Tensor, trend: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 NHWC -> float NCHW centred on each image's background, augmented, labels kept true.

    Colours are mixed by one affine map per image (channels swapped, the theme
    inverted, contrast and brightness changed), applied to the background too, so
    it need not be measured again; a third of the charts are turned upside down,
    with up and down swapped.
    """
    count, height, width = batch.shape[:3]
    pixels = batch.permute(0, 3, 1, 2).reshape(count, 3, -1).float()
    order = torch.rand(count, 3, generator=generator).argsort(1)
    swap = torch.eye(3)[order]  # a permutation matrix per image
    sign = torch.where(torch.rand(count, generator=generator) < 0.25, -1.0, 1.0)
    contrast = (0.75 + 0.45 * torch.rand(count, generator=generator)) * sign
    offset = 128 + (-20 + 40 * torch.rand(count, generator=generator)) - 128 * contrast
    mix = swap * contrast[:, None, None]
    pixels = torch.baddbmm(offset[:, None, None].expand(-1, 3, 1), mix, pixels)
    background = torch.bmm(mix, background[:, :, None]).squeeze(2) + offset[:, None]
    frame = ((pixels - background[:, :, None]) / 255.0).reshape(count, 3, height, width)
    flip = torch.rand(count, generator=generator) < 0.3
    frame = torch.where(flip[:, None, None, None], frame.flip(2), frame)
    swapped = torch.where(trend == UP, DOWN, torch.where(trend == DOWN, UP, trend))
    return frame, torch.where(flip, swapped, trend)


def centred(pixels: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
    """As chart_model.input_tensor: each colour against the image's median colour, over 255."""
    return (pixels - background[:, :, None, None]) / 255.0


def train(
    images: torch.Tensor,
    backgrounds: torch.Tensor,
    trends: torch.Tensor,
    kinds: torch.Tensor,
    epochs: int,
    seed: int,
    kind_weight: float = 0.5,
) -> Net:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = Net()
    batch = 64
    steps = epochs * (images.shape[0] // batch)
    optimiser = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    loss_of = nn.CrossEntropyLoss(label_smoothing=0.05)
    started = time.monotonic()
    step = 0
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(images.shape[0], generator=generator)
        running, right = 0.0, 0
        for start in range(0, images.shape[0] - batch + 1, batch):
            index = order[start : start + batch]
            frame, trend = augment(images[index], backgrounds[index], trends[index], generator)
            logits = net(frame)
            loss = loss_of(logits[:, : len(TRENDS)], trend) + kind_weight * loss_of(
                logits[:, len(TRENDS) :], kinds[index]
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            step += 1
            running += float(loss.detach())
            right += int((logits[:, : len(TRENDS)].argmax(1) == trend).sum())
            if step % 100 == 0:
                print(
                    f"epoch {epoch} step {step}/{steps} loss {running / 100:.3f} "
                    f"trend right {right / (100 * batch):.1%} ({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
                running, right = 0.0, 0
    return net.eval()


def export(net: Net, path: Path) -> None:
    example = torch.zeros(1, 3, INPUT_HEIGHT, INPUT_WIDTH)
    torch.onnx.export(
        net,
        (example,),
        str(path),
        input_names=["frame"],
        output_names=["logits"],
        opset_version=13,
        dynamo=False,
    )


def evaluate(model: ChartModel, folder: Path) -> None:
    """Trend and kind right per renderer and kind, read through OpenCV as the reader does."""
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    confusion: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((3, 3), int))
    for path in sorted(folder.glob("*.npz")):
        chunk = np.load(path)
        images = at_input_size(chunk["images"])
        for image, trend, kind, source in zip(
            images, chunk["trend"], chunk["kind"], chunk["source"], strict=True
        ):
            reading = model.read(image)
            counts = tally[(str(source), KINDS[kind])]
            counts[0] += 1
            counts[1] += reading.trend == TRENDS[trend]
            counts[2] += reading.kind == KINDS[kind]
            confusion[str(source)][trend, TRENDS.index(reading.trend)] += 1
    by_source: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (source, kind), (count, trend_right, kind_right) in sorted(tally.items()):
        print(f"{source:20s} {kind:8s} trend {trend_right}/{count}  kind {kind_right}/{count}")
        total = by_source[source]
        total[0] += count
        total[1] += trend_right
        total[2] += kind_right
    for source, (count, trend_right, kind_right) in by_source.items():
        print(
            f"{source:20s} all      trend {trend_right / count:.1%}  kind {kind_right / count:.1%}"
            f"  confusion (rows truth up/down/none) {confusion[source].tolist()}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--leave-out", default="")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--evaluate", type=Path)
    parser.add_argument(
        "--kind-weight", type=float, default=0.5, help="the kind's share of the loss"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    leave_out = {name for name in args.leave_out.split(",") if name}
    images, backgrounds, trends, kinds = load(args.data, leave_out)
    print(
        f"{images.shape[0]} charts; trends {torch.bincount(trends).tolist()}, "
        f"kinds {torch.bincount(kinds).tolist()}; left out: {sorted(leave_out) or 'none'}"
    )
    net = train(images, backgrounds, trends, kinds, args.epochs, args.seed, args.kind_weight)
    export(net, args.out)
    model = ChartModel(args.out.read_bytes())
    check = images[:16].numpy()
    with torch.no_grad():
        expected = net(centred(images[:16].permute(0, 3, 1, 2).float(), backgrounds[:16])).numpy()
    for image, logits in zip(check, expected, strict=True):
        reading = model.read(image)
        assert reading.trend == TRENDS[int(np.argmax(logits[:3]))], "OpenCV disagrees with torch"
    print(f"exported {args.out} ({args.out.stat().st_size} bytes); OpenCV agrees with torch")
    if args.evaluate is not None:
        evaluate(model, args.evaluate)


if __name__ == "__main__":
    main()
