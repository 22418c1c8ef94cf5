"""A learned process verifier: a logistic probe on the policy's hidden states at step ends.

Every step end of a sample is one training row labelled with the sample's final correctness
(outcome supervision, as in value-model PRMs); the score of a step is the probe's P(correct)
there, and the outcome score is the score at the last step.

Cross-fitted by problem: problems are split into K folds; the rows of fold k are scored by a
probe trained on the other folds only, so no problem is scored by a probe that saw its labels.
Inside each training set the L2 penalty is picked from a small grid on an inner 80/20 split
of its problems (by AUC), then the probe is refitted on the whole training set. Features are
standardised with the training rows' mean and standard deviation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from workbench.auc import auc

L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)


def _fit(x: torch.Tensor, y: torch.Tensor, l2: float) -> torch.Tensor:
    """L2-penalised logistic regression by L-BFGS; returns [d + 1] weights (bias last)."""
    w = torch.zeros(x.shape[1] + 1, device=x.device, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=200, tolerance_grad=1e-6,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = x @ w[:-1] + w[-1]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
        loss = loss + 0.5 * l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach()


def _moments(train: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return train.mean(0), train.std(0).clamp_min(1e-6)


def _standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    mu, sd = _moments(train)
    return [(t - mu) / sd for t in (train, *others)]


@dataclass(frozen=True)
class ProbeResult:
    """Cross-fitted scores (one per row), the held-out AUC, the penalty chosen per fold, and
    each fold's probe (`mean`, `std`, `weights` [folds, d(+1)]; P = sigmoid(((x - mean) / std)
    @ weights[:-1] + weights[-1])) with `fold_of` mapping a group to the fold it was held out
    in, so a later search scores a problem only with the probe that never saw its labels."""

    scores: np.ndarray
    auc: float
    l2_per_fold: tuple[float, ...]
    folds: int
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    fold_of: dict


def crossfit_probe(features: np.ndarray, labels: np.ndarray, groups: np.ndarray, *,
                   folds: int = 5, seed: int = 0, device: str = "cpu") -> ProbeResult:
    """Score every row with a probe trained on the other folds' problems (`groups`)."""
    rng = np.random.default_rng(seed)
    uniq = np.unique(groups)
    perm = rng.permutation(uniq)
    fold_of = {g: i % folds for i, g in enumerate(perm)}
    fold = np.array([fold_of[g] for g in groups])
    x_all = torch.tensor(features, dtype=torch.float32, device=device)
    y_all = torch.tensor(labels, dtype=torch.float32, device=device)
    scores = np.zeros(len(labels))
    chosen = []
    mus, sds, ws = [], [], []
    for k in range(folds):
        test = fold == k
        train = ~test
        # inner split of the training problems: choose the penalty
        train_groups = perm[[fold_of[g] != k for g in perm]]
        inner_val = set(train_groups[: max(1, len(train_groups) // 5)].tolist())
        is_val = np.array([g in inner_val for g in groups]) & train
        is_fit = train & ~is_val
        best, best_auc = L2_GRID[0], -1.0
        if is_fit.any() and is_val.any():
            xf, xv = _standardise(x_all[is_fit], x_all[is_val])
            for l2 in L2_GRID:
                w = _fit(xf, y_all[is_fit], l2)
                a = auc((xv @ w[:-1] + w[-1]).cpu().numpy(), labels[is_val])
                if np.isfinite(a) and a > best_auc:
                    best, best_auc = l2, a
        chosen.append(best)
        mu, sd = _moments(x_all[train])
        w = _fit((x_all[train] - mu) / sd, y_all[train], best)
        scores[test] = torch.sigmoid(((x_all[test] - mu) / sd) @ w[:-1] + w[-1]).cpu().numpy()
        mus.append(mu.cpu().numpy())
        sds.append(sd.cpu().numpy())
        ws.append(w.cpu().numpy())
    return ProbeResult(scores=scores, auc=auc(scores, labels), l2_per_fold=tuple(chosen),
                       folds=folds, mean=np.stack(mus), std=np.stack(sds), weights=np.stack(ws),
                       fold_of=fold_of)


@dataclass(frozen=True)
class FittedProbes:
    """The fold probes a probe stage kept (`probe.npz`), to score new states of its problems:
    a problem is scored by the probe of the fold it was held out in, which never saw its labels
    (a problem the probe stage never saw is scored by fold 0: no fold saw its labels either)."""

    mean: np.ndarray  # [folds, d]
    std: np.ndarray  # [folds, d]
    weights: np.ndarray  # [folds, d + 1], bias last
    layer: int
    fold_of: dict[str, int]

    @classmethod
    def load(cls, path: str) -> FittedProbes:
        with np.load(path) as z:
            return cls(mean=z["mean"].astype(np.float64), std=z["std"].astype(np.float64),
                       weights=z["weights"].astype(np.float64), layer=int(z["layer"]),
                       fold_of={str(p): int(f) for p, f in zip(z["problem_ids"], z["fold"],
                                                               strict=True)})

    def score(self, states: np.ndarray, problem_ids: list[str]) -> np.ndarray:
        """P(correct) of each row of `states` [n, d], by its problem's held-out fold probe."""
        f = np.array([self.fold_of.get(str(p), 0) for p in problem_ids], dtype=np.int64)
        x = (np.asarray(states, np.float64) - self.mean[f]) / self.std[f]
        z = (x * self.weights[f, :-1]).sum(axis=1) + self.weights[f, -1]
        return 1.0 / (1.0 + np.exp(-z))
