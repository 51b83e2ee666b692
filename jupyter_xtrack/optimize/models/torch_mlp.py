"""A multi-layer perceptron in torch with early stopping, as a scikit-learn estimator.

It trains on the GPU when one is visible (`device="auto"`) and on the CPU otherwise, and
records where it ran in `device_`. torch is imported only when it is fitted, so this module
costs nothing where torch is absent (`available()` says so).
"""

from __future__ import annotations

import time
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


def available() -> bool:
    """True when torch is installed (checked without importing it: that takes seconds)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when torch sees a GPU, else "cpu"; other names pass through."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _TorchMLP(BaseEstimator):
    """Shared fitting loop; see TorchMLPClassifier and TorchMLPRegressor."""

    _classifier = False

    def __init__(
        self,
        hidden: int = 128,
        layers: int = 2,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int = 10,
        validation_fraction: float = 0.1,
        max_time_s: float | None = None,
        device: str = "auto",
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.max_time_s = max_time_s
        self.device = device
        self.random_state = random_state

    def _network(self, n_in: int, n_out: int) -> Any:
        import torch.nn as nn

        mods: list[Any] = []
        width = n_in
        for _ in range(max(1, int(self.layers))):
            mods += [nn.Linear(width, int(self.hidden)), nn.ReLU(), nn.Dropout(float(self.dropout))]
            width = int(self.hidden)
        mods.append(nn.Linear(width, n_out))
        return nn.Sequential(*mods)

    def fit(self, X: Any, y: Any) -> _TorchMLP:  # noqa: N803 - scikit-learn's names
        import numpy as np
        import torch

        started = time.monotonic()
        torch.manual_seed(int(self.random_state))
        rng = np.random.default_rng(int(self.random_state))
        device = resolve_device(self.device)
        self.device_ = device
        X = np.asarray(X, dtype="float32")
        if self._classifier:
            self.classes_, target = np.unique(np.asarray(y), return_inverse=True)
            n_out = len(self.classes_)
            yt = torch.as_tensor(target, dtype=torch.long)
            loss_fn: Any = torch.nn.CrossEntropyLoss()
        else:
            yv = np.asarray(y, dtype="float32")
            self.y_mean_, self.y_std_ = float(yv.mean()), float(yv.std() or 1.0)
            yt = torch.as_tensor((yv - self.y_mean_) / self.y_std_).unsqueeze(1)
            n_out = 1
            loss_fn = torch.nn.MSELoss()
        Xt = torch.as_tensor(X)
        order = rng.permutation(len(X))
        n_val = int(len(X) * self.validation_fraction) if len(X) >= 50 else 0
        val_idx, tr_idx = order[:n_val], order[n_val:]
        Xtr, ytr = Xt[tr_idx].to(device), yt[tr_idx].to(device)
        Xva, yva = Xt[val_idx].to(device), yt[val_idx].to(device)
        net = self._network(X.shape[1], n_out).to(device)
        opt = torch.optim.AdamW(net.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        best_loss, best_state, waited = float("inf"), None, 0
        batch = max(8, int(self.batch_size))
        self.n_epochs_ = 0
        for _epoch in range(int(self.max_epochs)):
            net.train()
            perm = torch.randperm(len(Xtr), device=device)
            for start in range(0, len(Xtr), batch):
                idx = perm[start:start + batch]
                opt.zero_grad()
                loss = loss_fn(net(Xtr[idx]), ytr[idx])
                loss.backward()
                opt.step()
            self.n_epochs_ += 1
            if n_val:
                net.eval()
                with torch.no_grad():
                    val = float(loss_fn(net(Xva), yva))
                if val < best_loss - 1e-6:
                    best_loss, waited = val, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    waited += 1
                    if waited >= int(self.patience):
                        break
            if self.max_time_s is not None and time.monotonic() - started > self.max_time_s:
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        self.net_ = net.to("cpu").eval()
        self.n_features_in_ = X.shape[1]
        return self

    def _forward(self, X: Any) -> Any:
        import numpy as np
        import torch

        with torch.no_grad():
            return self.net_(torch.as_tensor(np.asarray(X, dtype="float32"))).numpy()


class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """An MLP classifier (softmax outputs) with early stopping on a validation split."""

    _classifier = True

    def predict_proba(self, X: Any) -> Any:  # noqa: N803
        import numpy as np

        logits = self._forward(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> Any:  # noqa: N803
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    """An MLP regressor (standardized target) with early stopping on a validation split."""

    def predict(self, X: Any) -> Any:  # noqa: N803
        return self._forward(X)[:, 0] * self.y_std_ + self.y_mean_
