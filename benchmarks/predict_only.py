"""The reference a user would write by hand: load the model, read the file, predict every row.

Usage: python benchmarks/predict_only.py MODEL SPLIT [SPLIT ...]    (Parquet or CSV files)
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow.csv as pcsv  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

model = keras.saving.load_model(sys.argv[1])
total = 0
for path in sys.argv[2:]:
    batches = (
        pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=16 << 20))
        if path.endswith(".csv")
        else pq.ParquetFile(path).iter_batches(batch_size=65_536)
    )
    for batch in batches:
        x = np.column_stack([batch.column(i).to_numpy() for i in range(batch.num_columns - 1)])
        total += len(model.predict(x, batch_size=8192, verbose=0))
print(total)
