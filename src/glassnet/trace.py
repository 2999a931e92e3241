"""The step-by-step trace: the notebook's prints, emitted only when ``verbose=True``.

Library code never prints on its own; functions that accept ``verbose`` call these, which
write to ``stream`` (standard output unless another text stream is given).
"""

from __future__ import annotations

import sys
from typing import Sequence, TextIO


def emit(*lines: str, stream: TextIO | None = None) -> None:
    """Write each line to ``stream`` (default: the current ``sys.stdout``)."""
    out = stream if stream is not None else sys.stdout
    for line in lines:
        print(line, file=out)


def initialised(layer_sizes: Sequence[int], activation: str) -> None:
    emit(f"Initialized network with layer sizes: {layer_sizes}",
         f"Activation function: {activation}",
         f"Number of layers: {len(layer_sizes) - 1}")


def backward_start(batch_size: int, num_layers: int, dZ_shape: tuple[int, ...]) -> None:
    emit("Starting backpropagation...",
         f"Batch size: {batch_size}, Number of layers: {num_layers}",
         f"Output layer gradient dZ shape: {dZ_shape}")


def backward_output_layer(index: int, dW_shape: tuple[int, ...], db_shape: tuple[int, ...]) -> None:
    emit(f"Output layer (index {index}): dW shape = {dW_shape}, db shape = {db_shape}")


def backward_hidden_layer(index: int, dZ_shape: tuple[int, ...], dW_shape: tuple[int, ...],
                          db_shape: tuple[int, ...]) -> None:
    emit(f"Layer {index}: dZ shape = {dZ_shape}, dW shape = {dW_shape}, db shape = {db_shape}")


def backward_done() -> None:
    emit("Backpropagation complete!")


def training_step(step: int, loss: float, accuracy: float) -> None:
    emit(f"Step {step:2d}: Loss = {loss:.6f}, Accuracy = {accuracy:5.1f}%")


def table(text: str) -> None:
    """Print a ready-made table (a model summary, a gradcheck report)."""
    emit(text)
