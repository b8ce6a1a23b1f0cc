"""An input pipeline that keeps the accelerator fed: a cached Parquet file and parallel DataLoader workers.

Workers pay off when each item costs CPU (decoding a JPEG, augmenting it); for rows
already in memory as tensors, ``num_workers=0`` is faster, since every batch would
cross a process boundary for nothing.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, RandomSampler

FEATURES = ["amount_log", "amount_z", "hour_sin", "hour_cos"]
PREPROCESS_VERSION = "v2"  # bump when preprocess() changes, to invalidate old caches


def make_raw_events(n: int = 2_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3.0, 1.0, n),
            "hour": rng.integers(0, 24, n),
            "label": rng.integers(0, 2, n),
        }
    )


def preprocess(raw: pd.DataFrame) -> pd.DataFrame:
    """The expensive, whole-dataset step: done once, offline, not per batch."""
    amount_log = np.log1p(raw["amount"])
    angle = 2 * np.pi * raw["hour"] / 24
    return pd.DataFrame(
        {
            "amount_log": amount_log,
            "amount_z": (amount_log - amount_log.mean()) / amount_log.std(),
            "hour_sin": np.sin(angle),
            "hour_cos": np.cos(angle),
            "label": raw["label"],
        }
    )


def fingerprint(raw: pd.DataFrame) -> str:
    rows = pd.util.hash_pandas_object(raw, index=False).to_numpy().tobytes()
    return hashlib.sha256(rows + PREPROCESS_VERSION.encode()).hexdigest()[:16]


class FeatureDataset(Dataset):
    """Rows of a feature table, already tensors in memory: no per-item work to parallelize."""

    def __init__(self, table: pd.DataFrame):
        self.x = torch.tensor(table[FEATURES].to_numpy(np.float32))
        self.y = torch.tensor(table["label"].to_numpy(np.int64))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def make_jpegs(n: int = 256, size: int = 160, seed: int = 0) -> list[bytes]:
    """Small encoded photos, as an image dataset stores them (smooth gradients plus noise)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size)
    images = []
    for _ in range(n):
        base = np.stack(
            [np.add.outer(ramp, ramp) / 2, np.add.outer(ramp, -ramp) / 2 + 128, np.tile(ramp, (size, 1))], -1
        )
        pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


class JpegDataset(Dataset):
    """Encoded images: every item costs CPU to decode and resize, which workers run in parallel."""

    def __init__(self, images: list[bytes], labels: list[int], side: int = 128):
        self.images, self.labels, self.side = images, labels, side

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = Image.open(io.BytesIO(self.images[i])).convert("RGB")
        image = image.resize((self.side, self.side), Image.Resampling.BILINEAR)
        pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
        return pixels.permute(2, 0, 1), torch.tensor(self.labels[i])


# region loader
def cached_features(raw: pd.DataFrame, cache_dir: Path) -> pd.DataFrame:
    """Preprocess once; then read a Parquet cache keyed on data+code."""
    path = cache_dir / f"features-{fingerprint(raw)}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        preprocess(raw).to_parquet(tmp, index=False)
        tmp.rename(path)  # atomic: never a half-written cache
    return pq.read_table(path, columns=[*FEATURES, "label"]).to_pandas()


def make_loader(
    dataset: Dataset,
    batch_size: int = 64,
    num_workers: int = 2,
    seed: int = 0,
) -> DataLoader:
    parallel = num_workers > 0
    # The sampler owns its generator: one order with or without workers.
    order = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=RandomSampler(dataset, generator=order),
        num_workers=num_workers,  # decode in parallel with the step
        prefetch_factor=4 if parallel else None,  # batches per worker
        persistent_workers=parallel,  # no worker start-up every epoch
        pin_memory=torch.cuda.is_available(),  # async copies to GPU
        drop_last=True,  # equal shapes: no recompiles, stable BatchNorm
    )
    # endregion


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        loader = make_loader(FeatureDataset(cached_features(make_raw_events(), Path(tmp))), num_workers=0)
        for epoch in range(2):
            print(epoch, sum(len(y) for _, y in loader), "examples")
