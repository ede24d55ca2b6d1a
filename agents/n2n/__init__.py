"""N2N (Ashok et al., ICLR 2018): the two-stage REINFORCE search over the removal and shrink envs."""
