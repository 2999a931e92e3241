"""Train a small network on XOR with glassnet's engine, one page, top to bottom.

Run: python examples/xor_from_scratch.py
"""

import numpy as np

import glassnet
from glassnet.losses import CrossEntropy

# The data: four points, label = x0 XOR x1.
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
y = np.array([0, 1, 1, 0])

# The model: Dense(2 -> 8), tanh, Dense(8 -> 2). It outputs logits z, shape (4, 2).
model = glassnet.MLP([2, 8, 2], activation="tanh", dtype="float64", seed=0)
loss = CrossEntropy()  # softmax + cross-entropy on logits: dL/dz = (softmax(z) - onehot(y)) / n
learning_rate = 0.5

for step in range(1, 501):
    z = model.forward(X)                      # forward: z = tanh(X W1 + b1) W2 + b2
    value, dz = loss.value_and_grad(z, y)     # the loss and its gradient at the output
    model.backward(dz)                        # backprop fills every layer's dW, db
    model.flat_params -= learning_rate * model.flat_grads   # gradient descent, all at once
    if step % 100 == 0:
        accuracy = np.mean(z.argmax(axis=1) == y) * 100
        print(f"step {step:3d}  loss {value:.4f}  accuracy {accuracy:.0f}%")

print(model.summary())
