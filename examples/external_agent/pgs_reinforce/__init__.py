"""An external pgsuite agent: REINFORCE with a Gaussian policy, its configs and a toy env."""
