"""A tqdm progress bar over epochs, as a ``fit`` callback (needs the ``progress`` extra)."""

from __future__ import annotations

from .callbacks import Callback


class ProgressBar(Callback):
    """One bar over the epochs, its postfix showing the latest loss and metrics."""

    def __init__(self, epochs: int, **tqdm_kwargs) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("the progress bar needs tqdm: pip install 'glassnet[progress]'") from None
        self._tqdm, self.epochs, self.kwargs = tqdm, epochs, tqdm_kwargs
        self.bar = None

    def on_train_begin(self, state) -> None:
        self.bar = self._tqdm(total=self.epochs, unit="epoch", **self.kwargs)

    def on_epoch_end(self, state) -> None:
        shown = {k: f"{v:.4g}" for k, v in state.logs.items() if k != "lr"}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, state) -> None:
        if self.bar is not None:
            self.bar.close()
