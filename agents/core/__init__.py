"""The learner contract, config schemas and composition, the env factory, seeding, and the shared cores
(one PPO, one REINFORCE, one replay buffer). Imports nothing else from ``agents``."""
