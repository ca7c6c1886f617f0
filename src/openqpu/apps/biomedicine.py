"""Biomedicine: a quantum-kernel classifier of breast tumours, its kernel estimated on the cloud.

Wisconsin diagnostic breast cancer data (569 tumours, 30 features, malignant or
benign; shipped with scikit-learn) are standardised and reduced by PCA to one
feature per qubit. The kernel ``k(x, x') = |<0|U(x')^dagger U(x)|0>|^2`` is the
probability of all zeros after ``U(x)`` then ``U(x')^dagger``, sampled through
``SamplerV2`` (up to 100 kernel entries per job); ``SVC(kernel="precomputed")``
learns from it and is compared with a classical RBF SVM on the same split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from qiskit.circuit import ParameterVector, QuantumCircuit

from openqpu.apps.common import Progress, new_figure
from openqpu.qiskit import OpenQPUBackend, SamplerV2

#: Kernel entries per job (the server's default limit of circuits per job).
BATCH = 100


def feature_map(num_features: int, name: str = "x", *, reps: int = 2) -> QuantumCircuit:
    """An IQP feature map (Havlicek et al., Nature 567, 209 (2019)): ``reps`` times H on
    every qubit, ``rz(2 x_i)`` and ``rzz(2 x_i x_{i+1})`` along a line."""
    x = ParameterVector(name, num_features)
    circuit = QuantumCircuit(num_features, name=f"U({name})")
    for _ in range(reps):
        circuit.h(range(num_features))
        for i in range(num_features):
            circuit.rz(2 * x[i], i)
        for i in range(num_features - 1):
            circuit.rzz(2 * x[i] * x[i + 1], i, i + 1)
    return circuit


def kernel_circuit(num_features: int) -> QuantumCircuit:
    """``U(x)`` then ``U(y)^dagger``, measured; parameters ``x[...]`` then ``y[...]``."""
    circuit = feature_map(num_features, "x").compose(feature_map(num_features, "y").inverse())
    circuit.measure_all()
    return circuit


def prepared_data(
    num_features: int, num_train: int, num_test: int, *, bandwidth: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A stratified split, standardised, PCA-reduced and scaled to [-bandwidth, bandwidth].

    Every transformation is fitted on the training rows only.

    Returns:
        ``(train_features, test_features, train_labels, test_labels)``; features have
        shape (rows, num_features), labels are 0 (malignant) or 1 (benign).
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    features, labels = load_breast_cancer(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, train_size=num_train, test_size=num_test, stratify=labels,
        random_state=seed,
    )  # fmt: skip
    reduce = make_pipeline(StandardScaler(), PCA(num_features), MinMaxScaler((-1, 1)))
    train = reduce.fit_transform(x_train)
    test = np.clip(reduce.transform(x_test), -1, 1)
    return bandwidth * train, bandwidth * test, y_train, y_test


def estimate_kernel(
    backend: OpenQPUBackend,
    pairs: np.ndarray,
    *,
    shots: int,
    seed: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """P(0...0) of the kernel circuit for each row ``[x..., y...]`` of ``pairs`` (shape (m, 2d)).

    All jobs are queued first, then collected in order (``progress`` steps per job).
    """
    circuit = kernel_circuit(pairs.shape[1] // 2)
    sampler = SamplerV2(backend, default_shots=shots, seed=seed)
    jobs = [sampler.run([(circuit, pairs[i : i + BATCH])]) for i in range(0, len(pairs), BATCH)]
    zeros = "0" * circuit.num_qubits
    values = []
    for job in jobs:
        data = job.result()[0].data.meas
        values += [data.get_counts(i).get(zeros, 0) / shots for i in range(data.shape[0])]
        if progress is not None:
            progress.step(f"{len(values)}/{len(pairs)} entries")
    return np.array(values)


def run(
    backend: OpenQPUBackend,
    *,
    num_features: int = 4,
    num_train: int = 100,
    num_test: int = 100,
    bandwidth: float = 0.5,
    shots: int = 1000,
    seed: int = 7,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train and test the quantum-kernel SVM and a classical RBF SVM on the same split.

    Returns:
        A JSON-ready summary: both accuracies, the sizes, the number of kernel
        entries and jobs, and the training kernel (for the plot).
    """
    from sklearn.svm import SVC

    train, test, y_train, y_test = prepared_data(
        num_features, num_train, num_test, bandwidth=bandwidth, seed=seed
    )
    upper = np.triu_indices(num_train, k=1)
    pairs = np.concatenate(
        [
            np.hstack([train[upper[0]], train[upper[1]]]),
            np.hstack([np.repeat(test, num_train, axis=0), np.tile(train, (num_test, 1))]),
        ]
    )
    values = estimate_kernel(backend, pairs, shots=shots, seed=seed, progress=progress)
    k_train = np.eye(num_train)  # k(x, x) = 1 exactly
    k_train[upper] = values[: len(upper[0])]
    k_train = k_train + np.triu(k_train, k=1).T
    k_test = values[len(upper[0]) :].reshape(num_test, num_train)
    quantum = SVC(kernel="precomputed").fit(k_train, y_train)
    classical = SVC(kernel="rbf").fit(train, y_train)
    quantum_accuracy = float(quantum.score(k_test, y_test))
    classical_accuracy = float(classical.score(test, y_test))
    order = np.argsort(y_train, kind="stable")
    return {
        "app": "biomedicine",
        "device": backend.name,
        "data_set": "Wisconsin diagnostic breast cancer (scikit-learn)",
        "num_features": num_features,
        "num_train": num_train,
        "num_test": num_test,
        "bandwidth": bandwidth,
        "shots": shots,
        "seed": seed,
        "kernel_entries": len(pairs),
        "num_jobs": -(-len(pairs) // BATCH),
        "quantum_accuracy": quantum_accuracy,
        "classical_accuracy": classical_accuracy,
        "difference": quantum_accuracy - classical_accuracy,
        "train_kernel_by_label": k_train[np.ix_(order, order)].round(4).tolist(),
        "train_labels_sorted": y_train[order].tolist(),
    }


def plot(summary: dict[str, Any]) -> Any:
    """The training kernel (rows sorted by label) and the two accuracies."""
    figure, (left, right) = new_figure()
    image = left.imshow(
        np.array(summary["train_kernel_by_label"]),
        cmap="viridis",
        vmin=0,
        vmax=1,
        interpolation="nearest",
    )
    figure.colorbar(image, ax=left)
    malignant = summary["train_labels_sorted"].count(0)
    left.axhline(malignant - 0.5, color="w")
    left.axvline(malignant - 0.5, color="w")
    left.set_title(f"quantum kernel on {summary['device']} (malignant | benign)")
    names = ["quantum kernel SVM", "classical RBF SVM"]
    accuracies = [summary["quantum_accuracy"], summary["classical_accuracy"]]
    right.bar(names, accuracies, color=["tab:purple", "tab:gray"])
    for i, value in enumerate(accuracies):
        right.annotate(f"{value:.3f}", (i, value), ha="center", va="bottom")
    title = f"{summary['num_train']} train / {summary['num_test']} test tumours"
    right.set(ylim=(0, 1.05), ylabel="test accuracy", title=title)
    return figure
