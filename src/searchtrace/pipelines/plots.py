"""The dataset card's picture: requested vs achieved backtracks per split, and the measured
difficulty per split, as one PNG beside the data."""

from __future__ import annotations

import io
from typing import Any

from searchtrace.pipelines.storage import Location

PLOT_PATH = "plots/mix.png"


def write_mix_plot(dataset: Location, stats: dict[str, Any],
                   difficulties: dict[str, list[float]]) -> str:
    """Draw the k-mix and nodes-expanded histograms; returns the path inside the dataset."""
    # Imported here: only a finished build draws, and matplotlib is slow to load. A bare
    # Figure (no pyplot) has no global state, so concurrent builds in one process can draw.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.6))
    mix_axis, difficulty_axis = figure.subplots(1, 2)
    splits = list(stats["splits"])
    ks = sorted({int(k) for entry in stats["splits"].values() for k in entry["achieved_k"]})
    width = 0.8 / max(len(splits), 1)
    for offset, split in enumerate(splits):
        entry = stats["splits"][split]
        achieved = [entry["achieved_k"].get(k, entry["achieved_k"].get(str(k), 0)) for k in ks]
        positions = [i + offset * width for i in range(len(ks))]
        mix_axis.bar(positions, achieved, width, label=f"{split} achieved")
        requested = entry.get("requested_k")
        if requested:
            mix_axis.scatter(positions, [requested.get(k, requested.get(str(k), 0)) for k in ks],
                             marker="_", s=300, color="black", zorder=3)
    mix_axis.set_xticks([i + width * (len(splits) - 1) / 2 for i in range(len(ks))],
                        [str(k) for k in ks])
    mix_axis.set_xlabel("backtracks per row (k); black: requested")
    mix_axis.set_ylabel("rows")
    mix_axis.legend(fontsize=8)
    for split in splits:  # the same order, and so the same colours, as the bars
        difficulty_axis.hist(difficulties.get(split, []), bins=30, alpha=0.6, label=split)
    difficulty_axis.set_xlabel("nodes expanded by the reference DFS")
    difficulty_axis.set_ylabel("rows")
    difficulty_axis.legend(fontsize=8)
    figure.suptitle(f"{stats['name']}: {stats['task']}")
    figure.tight_layout()
    path = dataset / PLOT_PATH
    path.parent.mkdir(exist_ok=True)
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=90)
    path.write_bytes(image.getvalue())
    return PLOT_PATH
