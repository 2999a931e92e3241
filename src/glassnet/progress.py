"""Progress over the epochs, as a ``fit`` callback (needs the ``progress`` extra, tqdm).

On a terminal it is a tqdm bar whose postfix shows the latest loss and metrics. Where the
output is not a terminal (a log file, CI, a pipe), a bar redrawn with carriage returns is one
unreadable line, so it writes one line per epoch instead::

    epoch 3/10: loss=0.4127 accuracy=0.8867 val_loss=0.4412 val_accuracy=0.8711 (0.9 s)

In a Jupyter notebook the cell's output is not a terminal either, but it shows a bar well:
there the bar is ``tqdm.auto``'s, the notebook widget when ipywidgets is installed (else
tqdm's text bar, which Jupyter redraws in place). A file of the user's own (a log) still gets
lines.
"""

from __future__ import annotations

import sys
import time
from typing import IO

from .callbacks import Callback


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def _in_jupyter() -> bool:
    """Whether this runs in a Jupyter kernel: IPython's ``ZMQInteractiveShell``. IPython is
    looked up among the imported modules, never imported (a kernel has imported it)."""
    if "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class ProgressBar(Callback):
    """One bar over the epochs (one line per epoch when ``file`` is not a terminal, except for
    the cell's output in Jupyter).

    Parameters
    ----------
    epochs : int
        The epochs the run will take, for the bar's total.
    file : text stream, optional
        Where to write; standard error (tqdm's default) when None, looked up when training
        begins. In Jupyter, standard error and standard output (the cell's) get the bar,
        which the notebook widget draws under the cell whatever ``file`` says.
    **tqdm_kwargs
        Passed to ``tqdm`` (the bar only).
    """

    def __init__(self, epochs: int, file: IO[str] | None = None, **tqdm_kwargs) -> None:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("the progress bar needs tqdm: pip install 'glassnet[progress]'") from None
        self._tqdm, self.epochs, self.file, self.kwargs = tqdm, epochs, file, tqdm_kwargs
        self.bar = None
        self.stream: IO[str] | None = None  # set when writing lines instead of a bar

    def on_train_begin(self, state) -> None:
        file = sys.stderr if self.file is None else self.file
        self.bar = self.stream = None
        cell_output = file is sys.stderr or file is sys.stdout
        if _is_terminal(file) or (cell_output and _in_jupyter()):
            self.bar = self._tqdm(total=self.epochs, unit="epoch", file=file, **self.kwargs)
        else:
            self.stream, self.start = file, time.perf_counter()

    def on_epoch_end(self, state) -> None:
        shown = {k: f"{v:.4g}" for k, v in state.logs.items() if k != "lr"}
        if self.stream is not None:
            logs = " ".join(f"{k}={v}" for k, v in shown.items())
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"epoch {state.epoch}/{self.epochs}: {logs} ({elapsed:.1f} s)\n")
            self.stream.flush()
        elif self.bar is not None:
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

    def on_train_end(self, state) -> None:
        if self.bar is not None:
            self.bar.close()
