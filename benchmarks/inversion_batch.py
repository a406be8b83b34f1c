"""Per-image cost of model inversion: one image at a time vs a batch of 16.

Run: ``python benchmarks/inversion_batch.py``. The batched optimisation is what
``sparsepriv_nb.inversion.invert`` does for a whole batch.
"""

import time

import sparsepriv_nb as spn

if __name__ == "__main__":
    ds = spn.data.load_dataset("digits")
    X = ds.X[:16]
    for arch, shape, layer in (("mlp", (1, 8, 8), "fc2"), ("lenet5", (1, 8, 8), "conv2")):
        model = spn.models.build_model(arch, input_shape=shape, num_classes=10, seed=0)
        spn.train.fit(model, (ds.X[:500], ds.y[:500]), epochs=5, progress=False)
        t = time.perf_counter()
        for i in range(4):
            spn.inversion.invert(model, layer, X[i:i + 1], steps=300, progress=False)
        single = (time.perf_counter() - t) / 4
        t = time.perf_counter()
        spn.inversion.invert(model, layer, X, steps=300, progress=False)
        batched = (time.perf_counter() - t) / 16
        print(f"{arch:6} {layer:5}: one at a time {single * 1000:7.1f} ms/image, batch of 16 "
              f"{batched * 1000:6.1f} ms/image ({single / batched:4.1f}x)")
