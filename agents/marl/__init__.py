"""Multi-agent: BN-MAPPO, the context-aware Bayesian-network joint policy on the PPO core."""
