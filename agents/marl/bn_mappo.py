"""BN-MAPPO: MAPPO with a Bayesian-network joint policy over a (learned, context-aware) DAG.

Chen & Zhang, "Context-Aware Bayesian Network Actor-Critic Methods for Cooperative MARL", ICML 2023
(arXiv 2306.01920); official code github.com/dchen48/BNPG @ b7cf8b2 (``BN_MAPPO_*/onpolicy``). Extends the
PPO core (:mod:`agents.core.ppo`) with

* a centralised critic V(s) on the global state (``use_centralized_V``) and GAE;
* the clipped surrogate applied per agent factor log π^i(a^i | o^i, a^{Pa_i}) (paper Sec. 4, PG-BN);
* the rollout's DAG sample *stored* and re-relaxed with its own Gumbel noise when computing the ratio, so
  old and new log-probs use the same DAG (the official ``evaluate_actions`` re-samples a second DAG);
* the sparsity penalty α·|open_ratio − threshold|, threshold 1 → 0 from 40 % to 70 % of training and α
  ramped after 70 % (official SMAC version, ``r_mappo.py`` / ``smac_runner.py``), reaching a (nearly) empty
  DAG for decentralised execution;
* exact J/J* by enumeration for envs with an ``exact_model()`` (coordination and matrix games; official
  ``coordination_game/cg.py: get_poa``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.core.env_factory import EnvFactory
from agents.core.ppo import PPO, PPOConfig
from agents.core.seeding import derive_seed
from envs.marl.exact import price_of_anarchy
from policies.bayes_net import BayesNetJointPolicy
from policies.critics import CentralValue
from policies.dag import DAGSample, open_ratio

_DAG_KEYS = ("order", "perm", "edges", "perm_noise", "edge_noise")


@dataclass
class BNMAPPOConfig(PPOConfig):
    """BN-MAPPO hyperparameters on top of :class:`PPOConfig` (official ``onpolicy/config.py`` defaults)."""

    graph: str | None = None  # empty | full | random | random(p) | learned; None → learned
    graph_p: float = 0.5  # edge probability of `random`
    anneal: bool | None = None  # sparsity annealing; None → anneal_default (the env's choice)
    anneal_default: bool = False
    anneal_horizon: int | None = None  # env steps the schedule spans; None → the run's total steps
    alpha: float = 0.1  # α₀ (6h_vs_8z: 0.1, MMM2: 0.05)
    alpha_max: float = 1.0  # the code's `initial_alpha` (1 for 6h_vs_8z, 0.5 otherwise)
    num_decay: int = 40
    hidden: int = 64
    parent_input: str = "joint"  # joint | trunk | head (official additive input); see policies/bayes_net.py
    dag_hidden: int = 64
    temperature: float = 1.0
    noise_factor: float = 1.0
    sinkhorn_iters: int = 20
    # Initial P(edge present) of the learned DAG (issue 15: start dense, as the sparsity schedule does);
    # None → PyTorch init, ≈ ½ per edge (official code).
    edge_prior: float | None = 0.99


def sparsity_schedule(update: int, total_updates: int, alpha0: float, alpha_max: float, num_decay: int = 40):
    """(threshold, α) in force at PPO update ``update`` of ``total_updates`` (code ``smac_runner.py``).

    From update 0.4·E on, every ``max(int(0.6E/num_decay/2), 1)`` updates the threshold drops by 1/num_decay
    (floor 0); from 0.7·E on, every ``max(int(0.2E/num_decay/2), 1)`` updates α grows by
    (alpha_max − α₀)/interval (cap 1). Pure function of the update index, so resumes are exact.
    """

    def events(start: float, interval: int) -> int:  # multiples of `interval` in [ceil(start), update]
        first = math.ceil(start)
        if update < first:
            return 0
        return update // interval - (first - 1) // interval if first > 0 else update // interval + 1

    e = max(int(total_updates), 1)
    decay_interval = max(int(0.6 * e / num_decay / 2), 1)
    alpha_interval = max(int(0.2 * e / num_decay / 2), 1)
    threshold = max(1.0 - events(0.4 * e, decay_interval) / num_decay, 0.0)
    alpha = min(alpha0 + events(0.7 * e, alpha_interval) * (alpha_max - alpha0) / alpha_interval, 1.0)
    return threshold, alpha


class BNMAPPO(PPO):
    """BN-MAPPO learner on a cooperative PettingZoo ``ParallelEnv`` (``env.kind: parallel``)."""

    Config = BNMAPPOConfig
    observation_spaces = ("vector",)
    action_spaces = ("discrete",)
    env_kinds = ("parallel",)

    def __init__(self, cfg: BNMAPPOConfig, env: EnvFactory, seed: int, device: str = "cpu") -> None:
        super().__init__(cfg, env, seed, device)
        if env.cfg.kind != "parallel":
            raise ValueError(
                f"bn-mappo needs a PettingZoo env (env.kind: parallel), got kind {env.cfg.kind!r}"
            )
        self.envs = [env.make() for _ in range(env.cfg.num_envs)]
        probe = self.envs[0]
        self.agent_names = list(probe.possible_agents)
        spaces = [
            (probe.observation_space(a).shape, getattr(probe.action_space(a), "n", None))
            for a in self.agent_names
        ]
        if len(set(spaces)) != 1 or spaces[0][1] is None or len(spaces[0][0]) != 1:
            raise ValueError(
                f"bn-mappo needs identical flat Box observations and Discrete actions per agent; got {spaces}"
            )
        self.n_agents, self.obs_dim, self.n_actions = len(self.agent_names), spaces[0][0][0], spaces[0][1]
        probe.reset(seed=0)
        self.state_dim = int(np.asarray(probe.state()).size)
        self.anneal = cfg.anneal if cfg.anneal is not None else cfg.anneal_default
        dag_kwargs = {
            "hidden": cfg.dag_hidden,
            "temperature": cfg.temperature,
            "noise_factor": cfg.noise_factor,
            "sinkhorn_iters": cfg.sinkhorn_iters,
            "edge_prior": cfg.edge_prior,
        }
        self.policy = BayesNetJointPolicy(
            self.n_agents,
            self.obs_dim,
            self.n_actions,
            self.state_dim,
            cfg.graph,
            cfg.graph_p,
            cfg.hidden,
            dag_kwargs,
            cfg.parent_input,
        ).to(device)
        self.critic = CentralValue(self.state_dim, cfg.hidden).to(device)
        self.setup_optimizers()
        self._recent_returns: list[float] = []
        self._reset_envs(derive_seed(seed, "train"))

    # -- PPO hooks -------------------------------------------------------------------------------------
    def actor_parameters(self) -> Iterable[nn.Parameter]:
        return self.policy.parameters()  # the DAG generator trains with the actor's Adam (official code)

    def critic_parameters(self) -> Iterable[nn.Parameter]:
        return self.critic.parameters()

    def _reset_envs(self, root: int) -> None:
        self._obs, self._state = [], []
        for k, e in enumerate(self.envs):
            obs, _ = e.reset(seed=derive_seed(root, k))
            self._obs.append(self._stack(obs))
            self._state.append(np.asarray(e.state(), dtype=np.float32))
        self._ep_return = np.zeros(len(self.envs))
        self._ep_length = np.zeros(len(self.envs), dtype=np.int64)

    def on_segment_end(self, segment: int) -> None:
        # Env states cannot be checkpointed: restart every env at each checkpoint boundary, identically
        # in uninterrupted and resumed runs (agents/core/base.py, resume exactness).
        self._reset_envs(derive_seed(self.seed, "segment", segment))

    def _stack(self, obs: dict[str, Any]) -> np.ndarray:
        return np.stack([np.asarray(obs[a], dtype=np.float32) for a in self.agent_names])

    def _tensor(self, x: Any) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), dtype=torch.float32, device=self.device)

    def schedule(self) -> tuple[float, float]:
        """Current (threshold, α) of the sparsity annealing."""
        horizon = self.cfg.anneal_horizon or getattr(self, "total_steps", None) or self.num_steps or 1
        total_updates = max(int(horizon) // (len(self.envs) * self.cfg.n_steps), 1)
        return sparsity_schedule(
            self.num_updates, total_updates, self.cfg.alpha, self.cfg.alpha_max, self.cfg.num_decay
        )

    @torch.no_grad()
    def collect_rollout(self) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        t_len, n_env = self.cfg.n_steps, len(self.envs)
        keys = (
            "obs",
            "state",
            "actions",
            "log_prob",
            "values",
            "rewards",
            "terminated",
            "ends",
            "next_state",
        )
        buf: dict[str, list] = {k: [] for k in (*keys, *_DAG_KEYS)}
        open_ratios, finished = [], []
        for _ in range(t_len):
            obs, state = self._tensor(self._obs), self._tensor(self._state)
            actions, log_prob, dag = self.policy.act(obs, state)
            open_ratios.append(float(open_ratio(dag.adj)))
            values = self.critic(state)
            rewards, terms, ends, next_states = [], [], [], []
            for k, e in enumerate(self.envs):
                act = {a: int(actions[k, i]) for i, a in enumerate(self.agent_names)}
                next_obs, rew, term, trunc, _ = e.step(act)
                reward = float(
                    np.mean([rew[a] for a in self.agent_names])
                )  # team reward (identical in CG/Aloha)
                terminated = all(term.get(a, False) for a in self.agent_names)
                done = terminated or all(trunc.get(a, False) for a in self.agent_names) or not e.agents
                next_states.append(np.asarray(e.state(), dtype=np.float32))
                self._ep_return[k] += reward
                self._ep_length[k] += 1
                if done:
                    finished.append((self._ep_return[k], self._ep_length[k]))
                    self._ep_return[k], self._ep_length[k] = 0.0, 0
                    next_obs, _ = e.reset()
                self._obs[k] = self._stack(next_obs)
                self._state[k] = np.asarray(e.state(), dtype=np.float32)
                rewards.append(reward), terms.append(float(terminated)), ends.append(float(done))
            step = (obs, state, actions, log_prob, values, rewards, terms, ends, next_states)
            for key, value in zip(keys, step, strict=True):
                buf[key].append(value if torch.is_tensor(value) else self._tensor(value))
            for key in _DAG_KEYS:
                buf[key].append(getattr(dag, key))
        self.num_steps += t_len * n_env
        data = {k: torch.stack(v) for k, v in buf.items()}  # (T, N, ...)
        next_values = self.critic(data["next_state"])
        advantages, returns = self.targets(
            data["rewards"], data["values"], next_values, data["terminated"], data["ends"]
        )
        batch = {k: data[k].flatten(0, 1) for k in ("obs", "state", "actions", *_DAG_KEYS)}
        batch.update(
            old_log_prob=data["log_prob"].flatten(0, 1),
            old_values=data["values"].flatten(0, 1),
            advantages=advantages.flatten(0, 1),
            returns=returns.flatten(0, 1),
        )
        self._recent_returns = ([float(r) for r, _ in finished] + self._recent_returns)[:20]
        metrics = {"charts/open_ratio": float(np.mean(open_ratios))}
        if finished:
            metrics["charts/episodic_return"] = float(np.mean([r for r, _ in finished]))
            metrics["charts/episodic_length"] = float(np.mean([n for _, n in finished]))
        if self.anneal and self.policy.graph == "learned":
            metrics["charts/threshold"], metrics["charts/alpha"] = self.schedule()
        return batch, metrics

    def evaluate_minibatch(self, mb: dict[str, torch.Tensor]) -> dict[str, Any]:
        dag = DAGSample(adj=torch.empty(0), **{k: mb[k] for k in _DAG_KEYS})
        dag.adj = dag.edges * (
            dag.perm.transpose(-1, -2) @ torch.triu(torch.ones_like(dag.perm[0]), 1) @ dag.perm
        )
        log_prob, entropy, adj = self.policy.evaluate(mb["obs"], mb["state"], mb["actions"], dag)
        out: dict[str, Any] = {
            "log_prob": log_prob,
            "entropy": entropy,
            "values": self.critic(mb["state"]),
        }
        if self.anneal and self.policy.graph == "learned":
            threshold, alpha = self.schedule()
            ratio = open_ratio(adj)
            sparsity = alpha * (ratio - threshold).abs()  # α·|open_ratio − threshold| (official r_mappo.py)
            out["aux_loss"] = sparsity
            out["aux_metrics"] = {"losses/sparsity_loss": sparsity.detach()}
        return out

    # -- acting and evaluation ------------------------------------------------------------------------
    @torch.no_grad()
    def act(self, obs: Any, deterministic: bool = True) -> dict[str, int]:
        """Joint action for ``obs`` = (per-agent obs dict, global state) or a dict whose concatenation is
        the state."""
        if isinstance(obs, tuple):
            obs, state = obs
        else:
            state = np.concatenate([np.asarray(obs[a], dtype=np.float32).ravel() for a in self.agent_names])
            if state.size != self.state_dim:
                raise ValueError(
                    "act() needs (obs_dict, env.state()) for this env: its state is not the concatenated obs"
                )
        actions, _, _ = self.policy.act(
            self._tensor(self._stack(obs))[None], self._tensor(state)[None], deterministic
        )
        return {a: int(actions[0, i]) for i, a in enumerate(self.agent_names)}

    def exact_metrics(self) -> dict[str, float]:
        """J/J* of the stochastic joint policy (deterministic DAG), of its greedy version, and
        decentralised."""
        env = getattr(self.envs[0], "unwrapped", self.envs[0])
        if not hasattr(env, "exact_model"):
            return {}
        model = env.exact_model()
        obs, ctx = self._tensor(model["obs"]), self._tensor(model["state"])
        out = {
            k: v
            for k, v in price_of_anarchy(
                model, self.policy.joint_action_probs(obs, ctx).cpu().numpy()
            ).items()
        }
        pi_dec = self.policy.joint_action_probs(obs, ctx, decentralized=True).cpu().numpy()
        out["j_over_jstar_decentralized"] = price_of_anarchy(model, pi_dec)["j_over_jstar"]
        if self.policy.graph == "learned":  # the mixture over sampled DAGs that training actually executes
            pi_mix = (
                self.policy.joint_action_probs(obs, ctx, n_dag_samples=64, sample_dags=True).cpu().numpy()
            )
            out["j_over_jstar_sampled_dags"] = price_of_anarchy(model, pi_mix)["j_over_jstar"]
        actions, _, _ = self.policy.act(obs, ctx, deterministic=True)
        index = (actions.cpu().numpy() * self.n_actions ** np.arange(self.n_agents)[::-1]).sum(-1)
        out["j_over_jstar_greedy"] = price_of_anarchy(model, np.eye(model["reward"].shape[1])[index])[
            "j_over_jstar"
        ]
        out["optimal"] = float(out["j_over_jstar_greedy"] >= 0.99)
        return out

    @torch.no_grad()
    def evaluate(self, episodes: int, seed: int) -> list[dict[str, Any]]:
        """PettingZoo episodes with greedy actions and the deterministic DAG, plus the same episode executed
        decentralised (all edges dropped); exact J/J* extras where the env has a model."""
        env = self.env_factory.make()
        exact = self.exact_metrics()
        results = []
        for k in range(episodes):
            episode: dict[str, Any] = dict(exact)
            for decentralized in (False, True):
                obs, _ = env.reset(seed=derive_seed(seed, "eval", k))
                total, length, ratios = 0.0, 0, []
                while env.agents:
                    o, s = self._tensor(self._stack(obs))[None], self._tensor(env.state())[None]
                    actions, _, dag = self.policy.act(o, s, deterministic=True, decentralized=decentralized)
                    ratios.append(float(open_ratio(dag.adj)))
                    obs, rew, _, _, _ = env.step(
                        {a: int(actions[0, i]) for i, a in enumerate(self.agent_names)}
                    )
                    total += float(np.mean([rew[a] for a in self.agent_names]))
                    length += 1
                if decentralized:
                    episode["return_decentralized"] = total
                else:
                    episode.update({"return": total, "length": length, "open_ratio": float(np.mean(ratios))})
            results.append(episode)
        env.close()
        return results

    # -- state ----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.state_dict(),
            "critic": self.critic.state_dict(),
            "ppo": self.ppo_state_dict(),
            "recent_returns": list(self._recent_returns),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.critic.load_state_dict(state["critic"])
        self.load_ppo_state_dict(state["ppo"])
        self._recent_returns = [float(r) for r in state["recent_returns"]]

    def finish(self) -> dict[str, Any]:
        exact = self.exact_metrics()
        with torch.no_grad():
            probe = self.envs[0]
            probe.reset(seed=derive_seed(self.seed, "finish"))
            dag = self.policy.sample_dag(self._tensor(probe.state())[None], deterministic=True)
        result: dict[str, Any] = {
            "graph": self.policy.graph,
            "anneal": bool(self.anneal),
            "final_open_ratio": float(open_ratio(dag.adj)),
            **exact,
        }
        if self._recent_returns:
            result["train_return_last20"] = float(np.mean(self._recent_returns))
        rows = "\n".join(
            f"| {k} | {v:.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in result.items()
        )
        result["example_dags"] = [dag.adj[0].round().int().tolist()]  # drawn by agents.plot (issue 9)
        result["markdown"] = f"## BN-MAPPO ({self.env_factory.id})\n\n| metric | value |\n|---|---|\n{rows}\n"
        return result

    def close(self) -> None:
        for e in self.envs:
            e.close()
