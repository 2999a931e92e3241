# %% [markdown]
# # Watching a network learn, live
#
# A small MLP learns the two moons. `glassnet.fit_iter` hands back the training state after
# every epoch, so the loop below can pause, redraw the decision boundary and the learning
# curves, and go on. The cells (`# %%`) open as a notebook in Jupyter (Jupytext) or VS Code,
# where the figure redraws in place; run as a plain script
# (`python examples/live_training.py`) it draws off screen and saves the last figure to
# `live_training.png`.
#
# Needs the `demo` extra: `pip install 'glassnet[demo]'` (scikit-learn for the data,
# matplotlib for the plots).

# %%
import matplotlib

try:  # in a Jupyter kernel, IPython's shell is the ZMQ one
    from IPython import get_ipython
    IN_NOTEBOOK = type(get_ipython()).__name__ == "ZMQInteractiveShell"
except ImportError:  # no IPython: a plain script
    IN_NOTEBOOK = False
if IN_NOTEBOOK:
    from IPython.display import clear_output, display
else:
    matplotlib.use("Agg")  # headless: draw off screen, save a PNG at the end

import matplotlib.pyplot as plt
from sklearn.datasets import make_moons

import glassnet
from glassnet import plot
from glassnet.optim import Adam

# %% [markdown]
# The data: 400 points in 2-D, two interleaved half-moons with some noise. The model:
# Dense(2 -> 16), tanh, Dense(16 -> 16), tanh, Dense(16 -> 2), whose two outputs are the
# logits of the classes.

# %%
X, y = make_moons(n_samples=400, noise=0.2, random_state=0)
model = glassnet.MLP([2, 16, 16, 2], activation="tanh", seed=0)
model  # in a notebook: the summary as a table

# %% [markdown]
# Train for 60 epochs with Adam (learning rate 0.01), 20 % of the points held out for
# validation. Every 10 epochs, redraw the boundary (left) and the loss and accuracy so far
# (right).

# %%
EPOCHS, EVERY = 60, 10
fig = plt.figure(figsize=(12, 4), layout="constrained")
boundary_ax = fig.add_subplot(1, 3, 1)
curve_axes = [fig.add_subplot(1, 3, 2), fig.add_subplot(1, 3, 3)]

for state in glassnet.fit_iter(model, X, y, epochs=EPOCHS, batch_size=32, seed=0,
                               optimizer=Adam(lr=0.01), validation_fraction=0.2):
    if state.epoch % EVERY and state.epoch != EPOCHS:
        continue
    for ax in (boundary_ax, *curve_axes):
        ax.clear()
    plot.decision_boundary(model, X, y, ax=boundary_ax, resolution=100)
    boundary_ax.set_title(f"epoch {state.epoch}: accuracy {state.logs['accuracy']:.1%}")
    plot.learning_curves(state.history, ax=curve_axes)
    if IN_NOTEBOOK:
        clear_output(wait=True)  # replace the last drawing instead of adding one below it
        display(fig)
if IN_NOTEBOOK:
    plt.close(fig)  # shown by display(): closed, so that Jupyter does not draw it once more

# %% [markdown]
# As a script, save the final figure (in a notebook it is on show above).

# %%
if not IN_NOTEBOOK:
    fig.savefig("live_training.png", dpi=80)
    print(f"epoch {state.epoch}: loss {state.logs['loss']:.4f}, "
          f"val_accuracy {state.logs['val_accuracy']:.1%}; saved live_training.png")
