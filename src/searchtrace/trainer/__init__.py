"""The trainer stage: SFT then GRPO from produced shards with the verifiers as rewards,
evaluation by the verifiers, and the backtrack-sweep experiment. Needs the `train` extra
(torch, transformers, TRL)."""
