"""The reward oracle shared by both N2N envs: data, teacher, student training, reward and its cache.

One :class:`CompressionCore` exists per process and configuration (:func:`get_core`), so the removal env,
the shrink env, the evaluation env and every worker process of the pool reuse one teacher and one cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import torch

from envs.classifier import FitConfig, accuracy, fit, predict_logits
from envs.compression.arch import Spec, descriptor_scale, spec_hash, teacher_spec
from envs.compression.network import build, check_and_flops
from envs.compression.reward import DEGENERATE_REWARD, constrained_reward, n2n_reward
from envs.compression.teachers import load_or_train_teacher

#: Data sets whose loaders take ``size`` / ``channels`` (``image_size`` / ``image_channels`` below).
RESIZABLE_DATA = ("digits", "fashion_mnist", "animal_mnist")


@dataclass
class CompressionConfig:
    """Keyword arguments of the N2N envs (``gym.make(id, **kwargs)``); see the env docstrings."""

    teacher: str = "resnet34"
    width: float = 1.0  # channel multiplier of the teacher (1.0 = the paper's networks)
    data: str = "digits"
    data_root: str | None = None
    image_size: int = 32  # RESIZABLE_DATA only: resized side length
    image_channels: int = 3  # RESIZABLE_DATA only: 1 or 3
    data_seed: int = 0  # seeds the train/val(/test) split
    train_subset: int | None = None  # seeded subset sizes (None = all)
    val_subset: int | None = None
    seed: int = 0  # teacher init/training seed; student seeds derive from it and the architecture hash
    teacher_epochs: int = 30
    teacher_lr: float = 0.05  # SGD, Nesterov momentum 0.9, cosine schedule
    teacher_path: str | None = None  # user weights for the teacher; skips training
    cache_dir: str | None = None  # teacher cache (default ~/.cache/pgsuite/teachers)
    student_epochs: int = 5  # KD epochs per student (paper: 5)
    student_lr: float = 5e-4  # Adam (paper: 5e-4)
    student_weight_decay: float = 5e-4
    student_ce_weight: float = 0.0  # optional + λ·CE during the search (official: 0)
    batch_size: int = 128
    augment: str = "none"  # none | crop | crop_flip
    min_outputs: int = 10  # floor of shrunk filter counts (official: 10)
    size_constraint: int | None = None  # max student params; violating it is penalized (annealed)
    min_compression: float | None = None  # same as size_constraint = teacher params / min_compression
    acc_constraint: float | None = None  # min student validation accuracy in [0, 1]
    anneal_iterations: int = 15  # ε(e) = clip((1 − e/15)^4, 0, 1)
    threads: int = 1  # torch threads per process that trains students

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> CompressionConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ValueError(f"unknown N2N env argument(s) {unknown}; valid: {', '.join(sorted(names))}")
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """Identity of the reward oracle: every field except the constraints (which only shape rewards)."""
        oracle = {k: v for k, v in self.to_dict().items() if k not in CONSTRAINT_FIELDS}
        return json.dumps(oracle, sort_keys=True, default=str)

    def size_limit(self, teacher_params: int) -> int | None:
        """Max student params allowed by ``size_constraint`` and ``min_compression`` (None: no limit)."""
        limits = [self.size_constraint] if self.size_constraint else []
        if self.min_compression:
            limits.append(int(teacher_params / self.min_compression))
        return min(limits) if limits else None


#: Fields that only change how rewards are penalized, not how students are trained and scored.
CONSTRAINT_FIELDS = ("size_constraint", "min_compression", "acc_constraint", "anneal_iterations")


def student_seed(root: int, arch_hash: str) -> int:
    """Seed of a student's initialisation and batch order: same architecture → same reward."""
    return int(hashlib.sha1(f"{root}:{arch_hash}".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


class CompressionCore:
    """Data, teacher and the student oracle for one :class:`CompressionConfig`."""

    def __init__(self, cfg: CompressionConfig) -> None:
        from envs.data import load_dataset

        self.cfg = cfg
        torch.set_num_threads(max(1, cfg.threads))
        resizable = cfg.data in RESIZABLE_DATA
        extra = {"size": cfg.image_size, "channels": cfg.image_channels} if resizable else {}
        ds = load_dataset(cfg.data, root=cfg.data_root, seed=cfg.data_seed, **extra)
        train = ds.train.subset(cfg.train_subset, cfg.data_seed) if cfg.train_subset else ds.train
        val = ds.val.subset(cfg.val_subset, cfg.data_seed) if cfg.val_subset else ds.val
        self.num_classes = ds.num_classes
        self.x_train, self.y_train = torch.from_numpy(train.images), torch.from_numpy(train.labels)
        self.x_val, self.y_val = torch.from_numpy(val.images), torch.from_numpy(val.labels)
        self.x_test, self.y_test = torch.from_numpy(ds.test.images), torch.from_numpy(ds.test.labels)
        self.teacher_spec = teacher_spec(cfg.teacher, cfg.width, ds.image_shape, ds.num_classes)
        fields = {
            "arch": cfg.teacher,
            "width": cfg.width,
            "data": cfg.data,
            "data_root": cfg.data_root,
            "extra": extra,
            "data_seed": cfg.data_seed,
            "train_subset": cfg.train_subset,
            "seed": cfg.seed,
            "epochs": cfg.teacher_epochs,
            "lr": cfg.teacher_lr,
            "batch_size": cfg.batch_size,
            "augment": cfg.augment,
        }
        teacher_fit = FitConfig(
            cfg.teacher_epochs, cfg.teacher_lr, 5e-4, cfg.batch_size, "sgd", True, augment=cfg.augment
        )
        self.teacher, self.teacher_info = load_or_train_teacher(
            self.teacher_spec,
            fields,
            self.x_train,
            self.y_train,
            teacher_fit,
            cfg.cache_dir,
            cfg.teacher_path,
        )
        self.teacher_params, self.teacher_flops = check_and_flops(self.teacher_spec)
        self.teacher_val_acc = accuracy(self.teacher, self.x_val, self.y_val)
        self.teacher_test_acc = accuracy(self.teacher, self.x_test, self.y_test)
        if self.teacher_val_acc <= 0:
            raise ValueError("the teacher has 0 validation accuracy; train it longer (teacher_epochs)")
        self.teacher_logits = predict_logits(self.teacher, self.x_train) if cfg.augment == "none" else None
        self.scale = descriptor_scale(self.teacher_spec)
        #: Reward cache: architecture hash → raw result (params, flops, val_acc, degenerate, reason).
        self.cache: dict[str, dict[str, Any]] = {}
        self.cache_hits = 0
        self.students_trained = 0

    # -- one student ----------------------------------------------------------------------------------
    def search_fit_config(self) -> FitConfig:
        c = self.cfg
        return FitConfig(
            c.student_epochs,
            c.student_lr,
            c.student_weight_decay,
            c.batch_size,
            "adam",
            False,
            ce_weight=c.student_ce_weight,
            kd_weight=1.0,
            augment=c.augment,
        )

    def train_student(
        self, spec: Spec, fit_cfg: FitConfig | None = None, seed: int | None = None
    ) -> torch.nn.Module:
        """Fresh student (re-initialised, as in the official ``resetModel``) trained by KD from the
        teacher."""
        seed = student_seed(self.cfg.seed, spec_hash(spec)) if seed is None else seed
        with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG stream untouched
            torch.manual_seed(seed)
            model = build(spec)
        fit(
            model,
            self.x_train,
            self.y_train,
            fit_cfg or self.search_fit_config(),
            seed,
            teacher_logits=self.teacher_logits,
            teacher=self.teacher,
        )
        return model

    def score_student(self, spec: Spec) -> dict[str, Any]:
        """Train one student and measure its validation accuracy (what a worker process runs)."""
        start = time.perf_counter()
        try:
            model = self.train_student(spec)
        except FloatingPointError as err:
            return {"val_acc": 0.0, "seconds": time.perf_counter() - start, "error": str(err)}
        return {"val_acc": accuracy(model, self.x_val, self.y_val), "seconds": time.perf_counter() - start}

    # -- rewards ----------------------------------------------------------------------------------------
    def precheck(self, spec: Spec, parent_params: int) -> dict[str, Any]:
        """Params, FLOPs and degeneracy without training (meta-device forward)."""
        try:
            params, flops = check_and_flops(spec)
        except (RuntimeError, ValueError) as err:
            return {
                "params": -1,
                "flops": -1,
                "degenerate": True,
                "reason": f"forward fails: {str(err)[:160]}",
            }
        if params >= parent_params:
            return {"params": params, "flops": flops, "degenerate": True, "reason": "params >= parent's"}
        return {"params": params, "flops": flops, "degenerate": False, "reason": ""}

    def reward(
        self, result: dict[str, Any], iteration: int, constraints: CompressionConfig | None = None
    ) -> tuple[float, dict[str, Any]]:
        """R and the info dict of one raw result; the annealed penalty applies when a constraint of
        ``constraints`` (default: this core's config) is violated."""
        constraints = constraints or self.cfg
        size_limit = constraints.size_limit(self.teacher_params)
        info = {
            "arch_hash": result["hash"],
            "params": int(result["params"]),
            "flops": int(result["flops"]),
            "val_acc": float(result.get("val_acc", 0.0)),
            "degenerate": bool(result["degenerate"]),
            "reason": result["reason"],
            "compression": 0.0,
            "acc_ratio": 0.0,
            "constraint_violated": False,
        }
        if result["degenerate"]:
            info["is_success"] = False
            return DEGENERATE_REWARD, info
        info["compression"] = self.teacher_params / max(1, result["params"])
        info["acc_ratio"] = info["val_acc"] / self.teacher_val_acc
        r = n2n_reward(result["params"], self.teacher_params, info["val_acc"], self.teacher_val_acc)
        violated = (size_limit is not None and result["params"] > size_limit) or (
            constraints.acc_constraint is not None and info["val_acc"] < constraints.acc_constraint
        )
        info["constraint_violated"] = violated
        info["is_success"] = not violated
        return constrained_reward(r, violated, iteration, constraints.anneal_iterations), info

    def evaluate(
        self,
        specs: list[Spec],
        parent_params: int,
        iteration: int = 0,
        pool: Any = None,
        constraints: CompressionConfig | None = None,
    ) -> list[tuple[float, dict[str, Any]]]:
        """Rewards and infos of ``specs``: cache hits are free, the others are trained by ``pool``
        (:mod:`envs.compression.pool`; in this process if None), all of them at once."""
        results: list[dict[str, Any] | None] = []
        todo: dict[str, Spec] = {}
        failed: dict[str, dict[str, Any]] = {}
        for spec in specs:
            h = spec_hash(spec)
            pre = self.precheck(spec, parent_params)
            if pre["degenerate"]:
                results.append({"hash": h, **pre})
            elif h in self.cache:
                self.cache_hits += 1
                results.append({"hash": h, **self.cache[h]})
            else:
                results.append(None)
                todo.setdefault(h, spec)
        if todo:
            hashes = list(todo)
            scored = (
                pool.train(list(todo.values()))
                if pool is not None
                else [self.score_student(todo[h]) for h in hashes]
            )
            for h, score in zip(hashes, scored, strict=True):
                pre = self.precheck(todo[h], parent_params)
                if "failed" in score:  # the pool could not score it (issue 18): −1, not cached
                    failed[h] = {**pre, "val_acc": 0.0, "degenerate": True, "reason": score["failed"]}
                    continue
                self.cache[h] = {**pre, "val_acc": float(score["val_acc"])}
                self.students_trained += 1
        out = []
        for spec, res in zip(specs, results, strict=True):
            h = spec_hash(spec)
            res = res if res is not None else {"hash": h, **(failed[h] if h in failed else self.cache[h])}
            out.append(self.reward(res, iteration, constraints))
        return out

    # -- cache state (saved by learners for exact resume) -------------------------------------------
    def cache_state(self) -> dict[str, Any]:
        return {
            "entries": {h: dict(v) for h, v in self.cache.items()},
            "hits": self.cache_hits,
            "trained": self.students_trained,
        }

    def load_cache_state(self, state: dict[str, Any]) -> None:
        self.cache = {h: dict(v) for h, v in state["entries"].items()}
        self.cache_hits, self.students_trained = int(state["hits"]), int(state["trained"])


_CORES: dict[str, CompressionCore] = {}


def get_core(cfg: CompressionConfig) -> CompressionCore:
    """The process-wide core for ``cfg``'s oracle (built, its teacher trained or loaded, on first use);
    configs that differ only in their constraints share one core and one reward cache."""
    key = cfg.key()
    if key not in _CORES:
        _CORES[key] = CompressionCore(cfg)
    return _CORES[key]
