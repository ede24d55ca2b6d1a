"""End of an N2N run: fine-tune the best students (CE + λ·KD), pick the final one, build the table.

The search scores students by validation accuracy after a short KD; the final students are re-trained
from scratch for ``finetune_epochs`` with CE + λ·L_KD (the author's recipe in github.com/anubhavashok/N2N
issues #9/#11), the
final one is chosen by the N2N reward on the *validation* split, and only its *test* accuracy is reported.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import torch

from envs.classifier import FitConfig, accuracy
from envs.compression.arch import describe, spec_from_json, spec_hash
from envs.compression.core import CompressionConfig, CompressionCore, student_seed
from envs.compression.network import check_and_flops
from envs.compression.reward import n2n_reward
from envs.compression.student import student_tensors


@dataclass
class Candidate:
    """A student found by the search (its reward used validation accuracy after the search-time KD)."""

    arch_hash: str
    spec_json: str
    reward: float
    params: int
    flops: int
    val_acc: float
    compression: float
    violated: bool
    stage: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Candidate:
        return cls(**d)


def _violates(c: CompressionConfig, core: CompressionCore, params: int, val_acc: float) -> bool:
    limit = c.size_limit(core.teacher_params)
    return (limit is not None and params > limit) or (
        c.acc_constraint is not None and val_acc < c.acc_constraint
    )


def finetune_fit_config(core: CompressionCore, cfg: Any) -> FitConfig:
    """The final fine-tune's recipe: Adam, CE + ``cfg.finetune_kd_weight``·KD, ``cfg.finetune_epochs``
    (default 10 × the search-time student epochs); ``cfg`` is the N2N learner's config."""
    c = core.cfg
    epochs = cfg.finetune_epochs if cfg.finetune_epochs is not None else 10 * c.student_epochs
    return FitConfig(
        epochs,
        cfg.finetune_lr,
        c.student_weight_decay,
        c.batch_size,
        "adam",
        True,
        ce_weight=1.0,
        kd_weight=cfg.finetune_kd_weight,
        augment=c.augment,
    )


def finetune_and_report(
    core: CompressionCore,
    candidates: list[Candidate],
    cfg: Any,
    env_name: str,
    stage1_best: Candidate | None,
    wall_time_before: float,
    started: float,
    rollouts: int,
    constraints: CompressionConfig,
    unconstrained: Candidate | None = None,
) -> dict[str, Any]:
    """Fine-tune the top ``cfg.finetune_top_k`` candidates; returns ``finish()``'s dict.

    ``unconstrained`` (the run's best student by the unpenalized reward) is fine-tuned too, when it is not
    among them, and reported as ``unconstrained_*`` so the effect of a constraint is visible (issue 19).
    """
    c = core.cfg
    fit_cfg = finetune_fit_config(core, cfg)
    tuned = []
    extra = [] if unconstrained is None else [unconstrained]
    todo = list(candidates[: cfg.finetune_top_k])
    todo += [u for u in extra if all(u.arch_hash != c.arch_hash for c in todo)]
    for k, cand in enumerate(todo):
        spec = spec_from_json(cand.spec_json)
        t0 = time.perf_counter()
        model = core.train_student(spec, fit_cfg, seed=student_seed(c.seed + 1, cand.arch_hash))
        val_acc = accuracy(model, core.x_val, core.y_val)
        test_acc = accuracy(model, core.x_test, core.y_test)
        reward = n2n_reward(cand.params, core.teacher_params, val_acc, core.teacher_val_acc)
        violated = _violates(constraints, core, cand.params, val_acc)
        print(
            f"N2N fine-tune {k + 1}/{len(todo)}: {cand.params} params "
            f"({cand.compression:.1f}x), val acc {val_acc:.4f}, reward {reward:.4f} "
            f"[{time.perf_counter() - t0:.0f}s]"
        )
        tuned.append((not violated, reward, cand, spec, model, val_acc, test_acc))
    wall = wall_time_before + time.perf_counter() - started
    base = {
        "teacher": c.teacher,
        "width": c.width,
        "data": c.data,
        "teacher_params": core.teacher_params,
        "teacher_flops": core.teacher_flops,
        "teacher_val_acc": core.teacher_val_acc,
        "teacher_test_acc": core.teacher_test_acc,
        "students_evaluated": core.students_trained,
        "rollouts": rollouts,
        "cache_hits": core.cache_hits,
        "wall_time_s": wall,
    }
    if not tuned:
        base["markdown"] = f"## N2N on {env_name}\n\nNo valid student was found ({rollouts} rollouts).\n"
        return base
    limit = constraints.size_limit(core.teacher_params)
    base["constraint"] = {
        "max_params": limit,
        "min_compression": constraints.min_compression,
        "acc_constraint": constraints.acc_constraint,
    }
    if unconstrained is not None:
        u = next(t for t in tuned if t[2].arch_hash == unconstrained.arch_hash)
        base |= {
            "unconstrained_params": u[2].params,
            "unconstrained_compression": u[2].compression,
            "unconstrained_val_acc": u[5],
            "unconstrained_test_acc": u[6],
            "unconstrained_reward": u[1],
        }
    in_top = {c.arch_hash for c in candidates[: cfg.finetune_top_k]}
    tuned = [t for t in tuned if t[2].arch_hash in in_top]
    if not tuned:
        base["markdown"] = f"## N2N on {env_name}\n\nNo valid student was found ({rollouts} rollouts).\n"
        return base
    ok, reward, cand, spec, model, val_acc, test_acc = max(tuned, key=lambda x: (x[0], x[1]))
    params, flops = check_and_flops(spec)
    result = {
        **base,
        "student_params": params,
        "student_flops": flops,
        "student_val_acc": val_acc,
        "student_test_acc": test_acc,
        "student_reward": reward,
        "student_stage": cand.stage,
        "student_meets_constraints": ok,
        "compression": core.teacher_params / params,
        "flops_reduction": core.teacher_flops / max(flops, 1),
        "test_acc_ratio": test_acc / max(core.teacher_test_acc, 1e-12),
        "best_student_arch": spec,
        "best_student_hash": spec_hash(spec),
        "search_best": [x.to_dict() | {"spec_json": None} for x in candidates[: cfg.finetune_top_k]],
    }
    result["markdown"] = _markdown(env_name, result, stage1_best, core, spec)
    result["artifacts"] = {"best_student": student_tensors(spec, model.to(torch.device("cpu")))}
    return result


def _markdown(
    env_name: str, r: dict[str, Any], stage1: Candidate | None, core: CompressionCore, spec: Any
) -> str:
    rows = [
        "| network | params | compression | MACs / image | val acc | test acc |",
        "|---|---:|---:|---:|---:|---:|",
        f"| teacher {r['teacher']} (width {r['width']}) | {r['teacher_params']:,} | 1.0x | "
        f"{r['teacher_flops']:,} "
        f"| {r['teacher_val_acc']:.4f} | {r['teacher_test_acc']:.4f} |",
    ]
    if stage1 is not None:
        rows.append(
            f"| best stage-1 student (search KD) | {stage1.params:,} | {stage1.compression:.2f}x | "
            f"{stage1.flops:,} "
            f"| {stage1.val_acc:.4f} | – |"
        )
    rows.append(
        f"| **final student** (stage {r['student_stage']}, fine-tuned) | {r['student_params']:,} | "
        f"**{r['compression']:.2f}x** | {r['student_flops']:,} | {r['student_val_acc']:.4f} | "
        f"**{r['student_test_acc']:.4f}** |"
    )
    if "unconstrained_params" in r:
        rows.append(
            f"| best unconstrained student of the run (fine-tuned) | {r['unconstrained_params']:,} | "
            f"{r['unconstrained_compression']:.2f}x | – | {r['unconstrained_val_acc']:.4f} | "
            f"{r['unconstrained_test_acc']:.4f} |"
        )
    con = r.get("constraint", {})
    if con.get("max_params") or con.get("acc_constraint"):
        parts = [
            f"≤ {con['max_params']:,} params" if con.get("max_params") else "",
            f"≥ {con['min_compression']:g}x" if con.get("min_compression") else "",
            f"val acc ≥ {con['acc_constraint']}" if con.get("acc_constraint") else "",
        ]
        constraint = (
            f"- the final student was chosen under a constraint ({', '.join(p for p in parts if p)}; "
            f"violating "
            "students were penalized, annealed); the best unconstrained student of the same run is shown too"
        )
    else:
        constraint = "- no size or accuracy constraint was set"
    lines = [
        f"## N2N on {env_name} ({r['data']})",
        "",
        *rows,
        "",
        f"- test accuracy relative to the teacher: {100 * r['test_acc_ratio']:.2f}%; "
        f"reward C(2-C)·A/A_t on validation: {r['student_reward']:.4f}",
        constraint,
        f"- students trained: {r['students_evaluated']} for {r['rollouts']} rollouts "
        f"(cache hits {r['cache_hits']}); wall time {r['wall_time_s'] / 60:.1f} min",
        "- weights + architecture: `artifacts/best_student.safetensors`; reload with "
        "`envs.compression.load_student(path)`",
        "",
        "Final student architecture:",
        "```",
        describe(spec),
        "```",
        "",
    ]
    return "\n".join(lines)
