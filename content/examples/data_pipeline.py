"""An input pipeline that keeps the accelerator fed: a cached Parquet file and parallel DataLoader workers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import torch
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
    """Rows of a feature table; per-item work (decoding, augmentation) runs in the workers."""

    def __init__(self, table: pd.DataFrame):
        self.x = torch.tensor(table[FEATURES].to_numpy(np.float32))
        self.y = torch.tensor(table["label"].to_numpy(np.int64))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


# region loader
def cached_features(raw: pd.DataFrame, cache_dir: Path) -> pd.DataFrame:
    """Preprocess once; later runs read the columnar Parquet cache keyed by data + code version."""
    path = cache_dir / f"features-{fingerprint(raw)}.parquet"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        preprocess(raw).to_parquet(tmp, index=False)
        tmp.rename(path)  # atomic: a crashed run never leaves a half-written cache
    return pq.read_table(path, columns=[*FEATURES, "label"]).to_pandas()


def make_loader(table: pd.DataFrame, batch_size: int = 64, num_workers: int = 2, seed: int = 0) -> DataLoader:
    dataset, parallel = FeatureDataset(table), num_workers > 0
    return DataLoader(
        dataset,
        batch_size=batch_size,
        # The sampler owns its generator, so the order is the same with or without (persistent) workers.
        sampler=RandomSampler(dataset, generator=torch.Generator().manual_seed(seed)),
        num_workers=num_workers,  # load batches in parallel with the training step
        prefetch_factor=4 if parallel else None,  # batches queued ahead per worker
        persistent_workers=parallel,  # no worker start-up cost every epoch
        pin_memory=torch.cuda.is_available(),  # page-locked memory: async host-to-GPU copies
        drop_last=True,  # equal batch shapes (no recompiles, stable BatchNorm)
    )
    # endregion


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        loader = make_loader(cached_features(make_raw_events(), Path(tmp)))
        for epoch in range(2):
            print(epoch, sum(len(y) for _, y in loader), "examples")
