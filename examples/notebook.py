"""The Python API right after `model.fit`, as in a notebook cell (runs as a script too).

python examples/notebook.py
"""

import keras
import numpy as np

import auditor

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(2_000, 8)).astype("float32")
y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=2_000) > 0).astype(int)
x_train, y_train, x_val, y_val = x[:1_500], y[:1_500], x[1_500:], y[1_500:]

model = keras.Sequential(
    [
        keras.Input((8,)),
        keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-4)),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(optimizer="adam", loss="binary_crossentropy")
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=10, verbose=0)

result = auditor.audit(model, train=(x_train, y_train), val=(x_val, y_val), history=history.history)
print(result.verdict, "-", "passed" if result.passed else [r.rule.id for r in result.blocking])
for rec in result.recommendations:
    print(rec.action, ":", rec.reason)
result.write_html("notebook-report/report.html")  # open it in the browser, or display it inline:
# from IPython.display import IFrame; IFrame("notebook-report/report.html", width=1000, height=600)
